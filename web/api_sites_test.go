package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestSitesAPIStatuses(t *testing.T) {
	e := newEnv(t)
	created := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"https://www.Example.com/","name":"Example","currency":"eur","timezone":"Europe/Berlin"}`)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	site := created.json(t)
	id := site["id"].(string)
	golden(t, "site_create.json", []byte(strings.ReplaceAll(string(created.body), id, "SITE_ID")))

	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, field                     string
	}{
		{"list", "GET", "/api/v1/sites", adminToken, "", 200, "", ""},
		{"get", "GET", "/api/v1/sites/" + id, adminToken, "", 200, "", ""},
		{"no token", "GET", "/api/v1/sites", "", "", 401, "unauthorized", ""},
		{"wrong token", "GET", "/api/v1/sites", "nope-nope-nope-nope", "", 401, "unauthorized", ""},
		{"malformed json", "POST", "/api/v1/sites", adminToken, `{"domain":`, 400, "invalid", ""},
		{"not an object", "POST", "/api/v1/sites", adminToken, `[1]`, 400, "invalid", ""},
		{"two objects", "POST", "/api/v1/sites", adminToken, `{"domain":"a.com"}{}`, 400, "invalid", ""},
		{"unknown field", "POST", "/api/v1/sites", adminToken, `{"domain":"a.com","colour":"red"}`, 400, "invalid", "colour"},
		{"missing domain", "POST", "/api/v1/sites", adminToken, `{"name":"x"}`, 400, "invalid", "domain"},
		{"bad domain", "POST", "/api/v1/sites", adminToken, `{"domain":"exa mple..com"}`, 400, "invalid", "domain"},
		{"bad currency", "POST", "/api/v1/sites", adminToken, `{"domain":"a.com","currency":"XYZ"}`, 400, "invalid", "currency"},
		{"bad timezone", "POST", "/api/v1/sites", adminToken, `{"domain":"a.com","timezone":"Mars/Olympus"}`, 400, "invalid", "timezone"},
		{"wrong type", "POST", "/api/v1/sites", adminToken, `{"domain":42}`, 400, "invalid", "domain"},
		{"too large", "POST", "/api/v1/sites", adminToken, `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large", ""},
		{"unknown site", "GET", "/api/v1/sites/nope", adminToken, "", 404, "not_found", ""},
		{"patch unknown site", "PATCH", "/api/v1/sites/nope", adminToken, `{"name":"x"}`, 404, "not_found", ""},
		{"patch bad currency", "PATCH", "/api/v1/sites/" + id, adminToken, `{"currency":"euros"}`, 400, "invalid", "currency"},
		{"patch bad timezone", "PATCH", "/api/v1/sites/" + id, adminToken, `{"timezone":""}`, 400, "invalid", "timezone"},
		{"bad locale", "POST", "/api/v1/sites", adminToken, `{"domain":"a.com","locale":"tlh-KL"}`, 400, "invalid", "locale"},
		{"patch empty locale", "PATCH", "/api/v1/sites/" + id, adminToken, `{"locale":""}`, 400, "invalid", "locale"},
		{"unknown endpoint", "GET", "/api/v1/nothing", adminToken, "", 404, "not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.token, tc.body)
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code == "" {
				return
			}
			errObj, ok := r.json(t)["error"].(map[string]any)
			if !ok || errObj["code"] != tc.code || errObj["message"] == "" {
				t.Fatalf("error body = %s, want code %q", r.body, tc.code)
			}
			if tc.field != "" && errObj["field"] != tc.field {
				t.Fatalf("field = %v, want %q (%s)", errObj["field"], tc.field, r.body)
			}
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}

	// Rejected requests changed nothing.
	got := e.do("GET", "/api/v1/sites/"+id, adminToken, "").json(t)
	if got["currency"] != "EUR" || got["timezone"] != "Europe/Berlin" || got["domain"] != "example.com" || got["name"] != "Example" {
		t.Fatalf("site after rejected requests = %v", got)
	}
	list := e.do("GET", "/api/v1/sites", adminToken, "").json(t)
	if n := len(list["sites"].([]any)); n != 1 {
		t.Fatalf("%d sites after rejected creates, want 1", n)
	}

	// PATCH changes only what is given.
	p := e.do("PATCH", "/api/v1/sites/"+id, adminToken, `{"name":"Renamed","currency":"JPY"}`)
	if p.status != 200 {
		t.Fatalf("patch: %d %s", p.status, p.body)
	}
	if m := p.json(t); m["name"] != "Renamed" || m["currency"] != "JPY" || m["timezone"] != "Europe/Berlin" {
		t.Fatalf("patched = %v", m)
	}
	if r := e.do("DELETE", "/api/v1/sites/"+id, adminToken, ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/sites/"+id, adminToken, ""); r.status != 404 {
		t.Fatalf("get after delete: %d", r.status)
	}
}

func TestSiteDefaults(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"shop.example.org"}`)
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["currency"] != "USD" || m["timezone"] != "UTC" || m["name"] != "shop.example.org" {
		t.Fatalf("defaults = %v", m)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]{12}$`).MatchString(m["id"].(string)) {
		t.Fatalf("id = %v", m["id"])
	}
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	id := e.do("POST", "/api/v1/sites", adminToken, `{"domain":"a.com"}`).json(t)["id"].(string)
	base := "/api/v1/sites/" + id + "/api-keys"

	for _, tc := range []struct{ name, body, field string }{
		{"no name", `{"scopes":["stats:read"]}`, "name"},
		{"no scopes", `{"name":"k"}`, "scopes"},
		{"bad scope", `{"name":"k","scopes":["admin"]}`, "scopes"},
		{"bad limit", `{"name":"k","scopes":["stats:read"],"rate_limit_per_minute":0}`, "rate_limit_per_minute"},
	} {
		r := e.do("POST", base, adminToken, tc.body)
		if r.status != 400 || r.json(t)["error"].(map[string]any)["field"] != tc.field {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/v1/sites/nope/api-keys", adminToken, `{"name":"k","scopes":["stats:read"]}`); r.status != 404 {
		t.Fatalf("key for unknown site: %d", r.status)
	}

	r := e.do("POST", base, adminToken, `{"name":"backend","scopes":["events:write"]}`)
	if r.status != 201 {
		t.Fatalf("create key: %d %s", r.status, r.body)
	}
	k := r.json(t)
	secret := k["key"].(string)
	if !strings.HasPrefix(secret, "trk_") || len(secret) != 36 || k["rate_limit_per_minute"].(float64) != 600 {
		t.Fatalf("key = %v", k)
	}
	list := e.do("GET", base, adminToken, "")
	if strings.Contains(string(list.body), secret) || strings.Contains(string(list.body), `"key"`) || strings.Contains(string(list.body), "hash") {
		t.Fatalf("list leaks the secret: %s", list.body)
	}

	// A valid API key without management rights is 403, and using it records last use.
	if r := e.do("GET", "/api/v1/sites", secret, ""); r.status != 403 {
		t.Fatalf("api key on management API: %d %s", r.status, r.body)
	}
	keys := e.do("GET", base, adminToken, "").json(t)["api_keys"].([]any)
	if keys[0].(map[string]any)["last_used_at"] == nil {
		t.Fatal("last_used_at not recorded")
	}

	kid := k["id"].(string)
	if r := e.do("DELETE", base+"/"+kid, adminToken, ""); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/sites", secret, ""); r.status != 401 {
		t.Fatalf("revoked key: %d", r.status)
	}
	if r := e.do("DELETE", base+"/nope", adminToken, ""); r.status != 404 {
		t.Fatalf("revoke unknown: %d", r.status)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		r := e.do("GET", p, "", "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("%s: security headers missing: %v", p, r.header)
		}
	}
	e.store.Close()
	if r := e.do("GET", "/readyz", "", ""); r.status != 503 {
		t.Fatalf("readyz with closed store: %d %s", r.status, r.body)
	}
}
