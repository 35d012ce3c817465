package clientip

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tributary/tributary"
)

// Trusted in the tests: a private range for the load balancers, the loopback of both families, and a
// mapped-form entry that must still match plain IPv4 peers.
const trustedList = "10.0.0.0/8, 127.0.0.1, ::1, ::ffff:192.168.0.0/112"

func TestFromRequest(t *testing.T) {
	trusted, err := ParsePrefixes(trustedList)
	if err != nil {
		t.Fatal(err)
	}
	type hdr = [][2]string // in order, repeated names allowed
	tests := []struct {
		name    string
		remote  string
		headers hdr
		none    bool // no trusted proxies configured
		want    string
	}{
		// The direct peer, and headers ignored when it is not trusted.
		{"plain peer", "203.0.113.9:1234", nil, false, "203.0.113.9"},
		{"no proxies configured", "10.1.2.3:1", hdr{{"X-Forwarded-For", "1.2.3.4"}}, true, "10.1.2.3"},
		{"untrusted peer's xff", "203.0.113.9:1234", hdr{{"X-Forwarded-For", "1.2.3.4"}}, false, "203.0.113.9"},
		{"untrusted peer's forwarded", "203.0.113.9:1234", hdr{{"Forwarded", "for=1.2.3.4"}}, false, "203.0.113.9"},
		{"untrusted peer's x-real-ip", "203.0.113.9:1234", hdr{{"X-Real-IP", "1.2.3.4"}}, false, "203.0.113.9"},
		{"untrusted v6 peer", "[2001:db8::9]:443", hdr{{"X-Forwarded-For", "1.2.3.4"}}, false, "2001:db8::9"},
		{"trusted peer, no headers", "10.1.2.3:5555", nil, false, "10.1.2.3"},

		// X-Forwarded-For from a trusted peer.
		{"one hop", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7"}}, false, "198.51.100.7"},
		{"spoof: client prepends", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "6.6.6.6, 198.51.100.7"}}, false, "198.51.100.7"},
		{"spoof: client prepends a trusted address", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "10.9.9.9, 198.51.100.7"}}, false, "198.51.100.7"},
		{"spoof: client sends its own header line", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "198.51.100.7"}}, false, "198.51.100.7"},
		{"spoof: client's garbage left of the client", "10.1.2.3:5555", hdr{{"X-Forwarded-For", `"[, nonsense;for=6.6.6.6, 198.51.100.7`}}, false, "198.51.100.7"},
		{"chain of trusted proxies", "127.0.0.1:80", hdr{{"X-Forwarded-For", "6.6.6.6, 198.51.100.7, 10.0.0.5, 10.0.0.6"}}, false, "198.51.100.7"},
		{"every hop trusted: leftmost", "10.0.0.1:80", hdr{{"X-Forwarded-For", "10.0.0.9, 10.0.0.5"}}, false, "10.0.0.9"},
		{"hop with port", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7:61000"}}, false, "198.51.100.7"},
		{"hop in brackets with port", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "[2001:db8::7]:443"}}, false, "2001:db8::7"},
		{"bare ipv6 hop", "10.1.2.3:5555", hdr{{"X-Forwarded-For", " 2001:db8::7 "}}, false, "2001:db8::7"},
		{"mapped hop", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "::ffff:198.51.100.7"}}, false, "198.51.100.7"},
		{"mapped trusted hop is skipped", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7, ::ffff:10.0.0.5"}}, false, "198.51.100.7"},
		{"zoned hop", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "fe80::1%eth0"}}, false, "fe80::1"},
		{"empty items skipped", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7,, ,"}}, false, "198.51.100.7"},
		{"garbage hop next to us", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7, nonsense"}}, false, "10.1.2.3"},
		{"hop with bad port", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7:http"}}, false, "10.1.2.3"},
		{"empty xff falls through", "10.1.2.3:5555", hdr{{"X-Forwarded-For", ""}, {"X-Real-IP", "198.51.100.8"}}, false, "198.51.100.8"},
		{"xff wins over forwarded", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7"}, {"Forwarded", "for=198.51.100.9"}}, false, "198.51.100.7"},
		{"xff wins over x-real-ip", "10.1.2.3:5555", hdr{{"X-Forwarded-For", "198.51.100.7"}, {"X-Real-IP", "198.51.100.8"}}, false, "198.51.100.7"},

		// Forwarded (RFC 7239).
		{"forwarded quoted v6 with port", "10.1.2.3:5555", hdr{{"Forwarded", `for="[2001:db8::1]:4711";proto=https`}}, false, "2001:db8::1"},
		{"forwarded parameters in any order and case", "10.1.2.3:5555", hdr{{"Forwarded", `proto=https;By=10.0.0.1; For=198.51.100.7`}}, false, "198.51.100.7"},
		{"forwarded chain", "10.1.2.3:5555", hdr{{"Forwarded", `for=6.6.6.6, for=198.51.100.7;proto=http, for=10.0.0.2`}}, false, "198.51.100.7"},
		{"forwarded element without for is skipped", "10.1.2.3:5555", hdr{{"Forwarded", `for=198.51.100.7, proto=https`}}, false, "198.51.100.7"},
		{"spoof: forwarded unclosed quote", "10.1.2.3:5555", hdr{{"Forwarded", `for="6.6.6.6, for=198.51.100.7`}}, false, "198.51.100.7"},
		{"spoof: forwarded quoted comma", "10.1.2.3:5555", hdr{{"Forwarded", `for="6.6.6.6,7.7.7.7", for=198.51.100.7`}}, false, "198.51.100.7"},
		{"forwarded unknown", "10.1.2.3:5555", hdr{{"Forwarded", `for=unknown`}}, false, "10.1.2.3"},
		{"forwarded obfuscated", "10.1.2.3:5555", hdr{{"Forwarded", `for=_hidden`}}, false, "10.1.2.3"},
		{"forwarded obfuscated port", "10.1.2.3:5555", hdr{{"Forwarded", `for="198.51.100.7:_p1"`}}, false, "198.51.100.7"},
		{"forwarded without for falls through", "10.1.2.3:5555", hdr{{"Forwarded", `proto=https`}, {"X-Real-IP", "198.51.100.8"}}, false, "198.51.100.8"},

		// X-Real-IP.
		{"x-real-ip", "10.1.2.3:5555", hdr{{"X-Real-IP", "198.51.100.8"}}, false, "198.51.100.8"},
		{"x-real-ip v6", "[::1]:5555", hdr{{"X-Real-IP", "2001:db8::8"}}, false, "2001:db8::8"},
		{"x-real-ip garbage", "10.1.2.3:5555", hdr{{"X-Real-IP", "1.2.3.4, 5.6.7.8"}}, false, "10.1.2.3"},

		// Peers.
		{"ipv6 loopback peer", "[::1]:80", hdr{{"X-Forwarded-For", "2001:db8::2"}}, false, "2001:db8::2"},
		{"mapped peer", "[::ffff:203.0.113.9]:80", nil, false, "203.0.113.9"},
		{"mapped trusted peer", "[::ffff:10.0.0.1]:80", hdr{{"X-Forwarded-For", "198.51.100.7"}}, false, "198.51.100.7"},
		{"peer in mapped-form prefix", "192.168.4.4:80", hdr{{"X-Forwarded-For", "198.51.100.7"}}, false, "198.51.100.7"},
		{"peer outside mapped-form prefix", "192.169.0.1:80", hdr{{"X-Forwarded-For", "198.51.100.7"}}, false, "192.169.0.1"},
		{"peer without port", "203.0.113.9", nil, false, "203.0.113.9"},
		{"zoned peer", "[fe80::1%eth0]:80", nil, false, "fe80::1"},
		{"bad peer", "nonsense", hdr{{"X-Forwarded-For", "198.51.100.7"}}, false, "invalid IP"},
		{"empty peer", "", nil, false, "invalid IP"},
		{"unix socket peer", "@", nil, false, "invalid IP"},
		{"bracketed ipv4 peer", "[203.0.113.9]:80", nil, false, "invalid IP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, h := range tc.headers {
				r.Header.Add(h[0], h[1])
			}
			tr := trusted
			if tc.none {
				tr = nil
			}
			if got := FromRequest(r, tr).String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    string // prefixes joined by spaces
		wantErr string // quoted in the error
	}{
		{"", "", ""},
		{" , ,", "", ""},
		{"10.0.0.0/8", "10.0.0.0/8", ""},
		{" 192.168.1.0/24 ,,2001:db8::/32, 127.0.0.1 ", "192.168.1.0/24 2001:db8::/32 127.0.0.1/32", ""},
		{"::1", "::1/128", ""},
		{"10.1.2.3/8", "10.0.0.0/8", ""}, // host bits masked
		{"::ffff:10.0.0.1", "10.0.0.1/32", ""},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", ""},
		{"::/0", "::/0", ""},
		{"0.0.0.0/0", "0.0.0.0/0", ""},
		{"fe80::1%eth0", "fe80::1/128", ""},
		{"10.0.0.0/33", "", `entry 1, "10.0.0.0/33"`},
		{"10.0.0.1, nope", "", `entry 2, "nope"`},
		{"1.2.3", "", `"1.2.3"`},
		{"10.0.0.0/8/8", "", `"10.0.0.0/8/8"`},
		{"[::1]", "", `"[::1]"`},
		{"10.0.0.1:80", "", `"10.0.0.1:80"`},
		{"fe80::/10%eth0", "", `"fe80::/10%eth0"`},
	}
	for _, tc := range tests {
		got, err := ParsePrefixes(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParsePrefixes(%q) error = %v, want one quoting %s", tc.in, err, tc.wantErr)
			}
			if tributary.ErrorCode(err) != tributary.EINVALID {
				t.Errorf("ParsePrefixes(%q): code %q, want %q", tc.in, tributary.ErrorCode(err), tributary.EINVALID)
			}
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if err != nil || strings.Join(s, " ") != tc.want {
			t.Errorf("ParsePrefixes(%q) = %v, %v; want %s", tc.in, s, err, tc.want)
		}
	}
}

// FuzzFromRequest checks, for any header contents: no panic; the answer is unmapped and zoneless; an
// untrusted peer's headers never matter; and whatever a client writes in front, the hop a trusted proxy
// appends is the answer (the spoofing guarantee).
func FuzzFromRequest(f *testing.F) {
	f.Add("10.0.0.1:1", "1.2.3.4, 10.0.0.2", `for=1.2.3.4`, "1.2.3.4")
	f.Add("[::1]:1", "garbage,,", `for="[::1]"`, "")
	f.Add("[::ffff:10.0.0.1]:1", `"[,`, `for="`, "::ffff:1.2.3.4")
	f.Add("203.0.113.1:9", "", "", "[2001:db8::1]:80")
	trusted, err := ParsePrefixes("10.0.0.0/8,::1/128")
	if err != nil {
		f.Fatal(err)
	}
	const client = "198.51.100.7"
	f.Fuzz(func(t *testing.T, remote, xff, fwd, realIP string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("Forwarded", fwd)
		r.Header.Set("X-Real-IP", realIP)
		got := FromRequest(r, trusted)
		if got.IsValid() && (got.Is4In6() || got.Zone() != "") {
			t.Fatalf("answer %s is mapped or zoned", got)
		}
		peer := parseHost(remote)
		if !contains(trusted, peer) && got != peer {
			t.Fatalf("untrusted peer %q: got %s, want the peer %s", remote, got, peer)
		}
		if FromRequest(r, nil) != peer {
			t.Fatalf("no trusted proxies: headers were believed")
		}

		// A trusted proxy appends the client it saw; the client chose everything else.
		r.RemoteAddr = "10.0.0.1:443"
		r.Header.Set("X-Forwarded-For", xff+", "+client)
		if got := FromRequest(r, trusted).String(); got != client {
			t.Fatalf("X-Forwarded-For %q + proxy's hop: got %s, want %s", xff, got, client)
		}
		r.Header.Del("X-Forwarded-For")
		r.Header.Set("Forwarded", fwd+", for="+client+";proto=https")
		if got := FromRequest(r, trusted).String(); got != client {
			t.Fatalf("Forwarded %q + proxy's element: got %s, want %s", fwd, got, client)
		}
		r.Header.Set("Forwarded", fwd)
		r.Header.Add("Forwarded", "for="+client)
		if got := FromRequest(r, trusted).String(); got != client {
			t.Fatalf("Forwarded line %q + proxy's own line: got %s, want %s", fwd, got, client)
		}
	})
}

func BenchmarkFromRequest(b *testing.B) {
	trusted, _ := ParsePrefixes(trustedList)
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:443"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7, 10.0.0.5")
	b.ReportAllocs()
	for b.Loop() {
		FromRequest(r, trusted)
	}
}
