#!/usr/bin/env bash
# Installs Debian's ClickHouse (18.16 on bookworm) and runs it on loopback with its own config and data
# directory, for the ClickHouse EventStore suites. Serves:
#
#   TRIBUTARY_TEST_CLICKHOUSE_DSN=clickhouse://default@127.0.0.1:9000/default
#
# (native protocol on 127.0.0.1:9000, which the store uses; HTTP on 127.0.0.1:8123 for the readiness
# check and curl; user default, no password.)
# Run as root after apt-get update. Idempotent: a second run finds the package installed and the server
# answering, and changes nothing.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
HTTP_PORT=${CLICKHOUSE_HTTP_PORT:-8123}
TCP_PORT=${CLICKHOUSE_TCP_PORT:-9000}
# warning by default; debug logs every statement under its query id and each line with its thread, which
# .ci/run uses to name the last statement a crashed thread logged. Set when this script starts the
# server: a server already answering keeps its level.
LOG_LEVEL=${CLICKHOUSE_LOG_LEVEL:-warning}
CONF_DIR=/etc/clickhouse-server-tributary
DATA_DIR=/var/lib/clickhouse-tributary
LOG_DIR=/var/log/clickhouse-tributary

ping() { [ "$(curl -fsS --max-time 5 "http://127.0.0.1:${HTTP_PORT}/ping" 2>/dev/null || true)" = "Ok." ]; }

if ping; then
	echo "clickhouse: already answering on 127.0.0.1:${HTTP_PORT}"
	exit 0
fi

if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
	apt-get install -y --no-install-recommends clickhouse-server clickhouse-client curl
fi
command -v curl >/dev/null 2>&1 || apt-get install -y --no-install-recommends curl
id clickhouse >/dev/null 2>&1 || useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin clickhouse

mkdir -p "$CONF_DIR" "$DATA_DIR" "$LOG_DIR"
chown clickhouse:clickhouse "$DATA_DIR" "$LOG_DIR"

# Only what a loopback test server needs: UTC, small caches (the machine has 2 cores), no remote servers.
cat >"$CONF_DIR/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>${LOG_LEVEL}</level>
        <log>${LOG_DIR}/clickhouse-server.log</log>
        <errorlog>${LOG_DIR}/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <http_port>${HTTP_PORT}</http_port>
    <tcp_port>${TCP_PORT}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>${DATA_DIR}/</path>
    <tmp_path>${DATA_DIR}/tmp/</tmp_path>
    <user_files_path>${DATA_DIR}/user_files/</user_files_path>
    <format_schema_path>${DATA_DIR}/format_schemas/</format_schema_path>
    <users_config>${CONF_DIR}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
EOF

cat >"$CONF_DIR/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF

# A server that just crashed (.ci/run starts it again then) can hold its pid a moment longer, or for good
# as a zombie where nothing reaps it; the server would refuse to start while its pid file names a live pid.
# The pid is the old server's while it runs the server's program (a zombie has none; another program may
# have the pid since).
pidfile="$DATA_DIR/clickhouse-server.pid"
old=$(cat "$pidfile" 2>/dev/null || true)
if [ -n "$old" ]; then
	ours=""
	for _ in $(seq 1 30); do
		if ping; then
			echo "clickhouse: answering on 127.0.0.1:${HTTP_PORT}"
			exit 0
		fi
		ours=""
		case "$(readlink "/proc/$old/exe" 2>/dev/null || true)" in *clickhouse*) ours=1 ;; esac
		[ -n "$ours" ] || break
		sleep 1
	done
	if [ -n "$ours" ]; then
		echo "clickhouse: process $old of $pidfile still runs but does not answer on 127.0.0.1:${HTTP_PORT}" >&2
		exit 1
	fi
	rm -f "$pidfile"
fi

# The server detaches itself with --daemon; its pid file lets a later run find it.
runuser -u clickhouse -- /usr/sbin/clickhouse-server --daemon \
	--config-file="$CONF_DIR/config.xml" --pid-file="$DATA_DIR/clickhouse-server.pid"

for _ in $(seq 1 60); do
	if ping; then
		echo "clickhouse: answering on 127.0.0.1:${HTTP_PORT} ($(curl -fsS "http://127.0.0.1:${HTTP_PORT}/?query=SELECT%20version()"))"
		exit 0
	fi
	sleep 1
done
echo "clickhouse: server did not answer on 127.0.0.1:${HTTP_PORT} within 60 s" >&2
tail -n 50 "$LOG_DIR/clickhouse-server.err.log" >&2 || true
exit 1
