#!/usr/bin/env bash
# Refreshes the README's screenshots (docs/screenshots/*.png) from a fresh demo: starts
# `tributary demo` on a temporary data dir, logs in with Chromium at 1440 px, saves each page and
# reports any page wider than a 390 px phone. Needs Chromium (/usr/bin/chromium or $CHROMIUM).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18181}
data=$(mktemp -d)
log="$data/demo.log"
go build -o "$data/tributary" ./cmd/tributary
export TRIBUTARY_ADMIN_TOKEN=${TRIBUTARY_ADMIN_TOKEN:-screenshots-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
"$data/tributary" demo --pageviews "${PAGEVIEWS:-20000}" --data-dir "$data/db" --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 600); do
	grep -q '^Log in as' "$log" && break
	kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 1
done
# The demo is ready when its Stripe deliveries are processed (the inbox works after the generator ends).
api() { curl -fsS -H "Authorization: Bearer $TRIBUTARY_ADMIN_TOKEN" "http://127.0.0.1:$port$1"; }
site=$(api /api/v1/sites | sed -n 's/.*"id":"\([A-Za-z0-9]*\)".*/\1/p' | head -1)
for _ in $(seq 1 600); do
	api "/api/v1/sites/$site/webhook-deliveries?limit=1000" | grep -q '"status":"\(pending\|processing\)"' || break
	sleep 1
done
email=$(sed -n 's/^Log in as \(.*\) with password .*/\1/p' "$log")
password=$(sed -n 's/^Log in as .* with password \(.*\)$/\1/p' "$log")
go run ./scripts/screenshots -url "http://127.0.0.1:$port" -email "$email" -password "$password" \
	-chromium "${CHROMIUM:-/usr/bin/chromium}" -out docs/screenshots
