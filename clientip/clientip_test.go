package clientip

import (
	"net/http"
	"testing"
)

func TestFromRequest(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote string
		headers      map[string]string
		trusted      bool
		want         string
	}{
		{"no proxy config ignores headers", "203.0.113.9:1234", map[string]string{"X-Forwarded-For": "1.2.3.4"}, false, "203.0.113.9"},
		{"untrusted peer ignores headers", "203.0.113.9:1234", map[string]string{"X-Forwarded-For": "1.2.3.4"}, true, "203.0.113.9"},
		{"trusted peer, one hop", "10.1.2.3:5555", map[string]string{"X-Forwarded-For": "198.51.100.7"}, true, "198.51.100.7"},
		{"spoof prepended by client", "10.1.2.3:5555", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}, true, "198.51.100.7"},
		{"chain of trusted proxies", "127.0.0.1:80", map[string]string{"X-Forwarded-For": "198.51.100.7, 10.0.0.5, 10.0.0.6"}, true, "198.51.100.7"},
		{"garbage hop", "10.1.2.3:5555", map[string]string{"X-Forwarded-For": "198.51.100.7, nonsense"}, true, "10.1.2.3"},
		{"forwarded header", "10.1.2.3:5555", map[string]string{"Forwarded": `for="[2001:db8::1]:4711";proto=https`}, true, "2001:db8::1"},
		{"x-real-ip", "10.1.2.3:5555", map[string]string{"X-Real-IP": "198.51.100.8"}, true, "198.51.100.8"},
		{"ipv6 loopback peer", "[::1]:80", map[string]string{"X-Forwarded-For": "2001:db8::2"}, true, "2001:db8::2"},
		{"mapped ipv4", "[::ffff:203.0.113.9]:80", nil, true, "203.0.113.9"},
		{"bad remote", "nonsense", nil, true, "invalid IP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			var tr = trusted
			if !tc.trusted {
				tr = nil
			}
			if got := FromRequest(r, tr).String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "nope", "1.2.3"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	p, err := ParsePrefixes(" 192.168.1.0/24 ,,2001:db8::/32, 127.0.0.1 ")
	if err != nil || len(p) != 3 || p[2].Bits() != 32 {
		t.Fatalf("%v %v", p, err)
	}
}

func FuzzFromRequest(f *testing.F) {
	f.Add("10.0.0.1:1", "1.2.3.4, 10.0.0.2", `for=1.2.3.4`)
	f.Add("[::1]:1", "garbage,,", `for="[::1]"`)
	trusted, _ := ParsePrefixes("10.0.0.0/8,::1/128")
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("Forwarded", fwd)
		FromRequest(r, trusted)
	})
}
