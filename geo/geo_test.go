package geo

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary/geo/internal/table"
)

func TestLoad(t *testing.T) {
	start := time.Now()
	if err := Load(); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	t.Logf("table loaded in %v: %d IPv4 and %d IPv6 steps, %d countries", d, len(tab.V4Start), len(tab.V6Start), len(tab.Codes)-1)
	// The server must be ready within 2 s; a table that takes a second to load has gone wrong, whatever
	// the machine (the usual figure is tens of milliseconds).
	if d > time.Second && !raceEnabled {
		t.Errorf("load took %v", d)
	}
	if len(tab.Codes)-1 < 200 || len(tab.V4Start) < 100_000 || len(tab.V6Start) < 100_000 {
		t.Errorf("table looks truncated: %d codes, %d v4, %d v6", len(tab.Codes), len(tab.V4Start), len(tab.V6Start))
	}
}

func TestLookup(t *testing.T) {
	// Every expectation was read from the CSV of @ip-location-db/dbip-country DataVersion; the comment
	// is the range that holds the address. A refresh may move a range: check the new CSV, then fix here.
	tests := []struct{ ip, want string }{
		{"8.8.8.8", "US"},         // 8.7.245.0-8.8.235.255
		{"1.1.1.1", "AU"},         // 1.1.1.0-1.1.1.255
		{"1.0.0.0", "AU"},         // first address of the data: 1.0.0.0-1.0.0.255
		{"1.0.0.255", "AU"},       // last address of that range
		{"1.0.1.0", "CN"},         // 1.0.1.0-1.0.3.255: the very next address changes country
		{"223.255.255.255", "AU"}, // last IPv4 range: 223.255.255.0-223.255.255.255
		{"193.0.6.139", "NL"},     // RIPE NCC, 193.0.0.0-193.0.23.255
		{"91.198.174.192", "NL"},  // Wikimedia Amsterdam, 91.198.174.0/24
		{"212.58.244.1", "GB"},    // BBC, 212.58.224.0-212.58.255.255
		{"81.2.69.142", "GB"},     // 81.2.64.0-81.2.127.255
		{"194.25.2.129", "DE"},    // Deutsche Telekom, 194.25.0.0-194.25.119.167
		{"80.67.169.12", "FR"},    // FDN, 80.67.160.0-80.67.180.255
		{"::ffff:193.0.6.139", "NL"},

		{"2001:67c:2e8::2", "NL"},      // RIPE NCC, 2001:67c:2e8::/48
		{"2a00:1450:4001::1", "DE"},    // 2a00:1450:4001::/48
		{"2a02:1388::1", "GR"},         // 2a02:1388::-2a02:138f:…
		{"2001:4860:4860::8888", "CA"}, // 2001:4860:4806::-2001:4860:96ff:… (the data says CA)
		// Ranges that split a /64: only a full 128-bit table gets these right.
		{"2001:550::1000:0:0:9a18:1073", "US"},
		{"2001:550::1000:0:0:9a18:1074", "AU"},
		{"2001:550::1000:0:0:9a36:a553", "AU"},
		{"2001:550::1000:0:0:9a36:a554", "US"},

		{"10.1.2.3", ""},        // private
		{"172.16.0.1", ""},      // private
		{"192.168.1.1", ""},     // private
		{"127.0.0.1", ""},       // loopback
		{"169.254.1.1", ""},     // link-local
		{"100.64.0.1", ""},      // carrier-grade NAT: not in the data
		{"192.0.2.1", ""},       // documentation: not in the data
		{"0.0.0.0", ""},         // unspecified
		{"224.0.0.1", ""},       // multicast
		{"255.255.255.255", ""}, // broadcast
		{"::1", ""},             // loopback
		{"::", ""},              // unspecified
		{"fe80::1", ""},         // link-local
		{"fd00::1", ""},         // unique local
		{"2001:db8::1", ""},     // documentation: not in the data
		{"ff02::1", ""},         // multicast
		{"::ffff:10.0.0.1", ""}, // mapped private
		{"fe80::1%eth0", ""},    // zoned link-local
	}
	for _, tc := range tests {
		country, region := Lookup(netip.MustParseAddr(tc.ip))
		if country != tc.want || region != "" {
			t.Errorf("Lookup(%s) = %q, %q; want %q, \"\"", tc.ip, country, region, tc.want)
		}
	}
	if c, r := Lookup(netip.Addr{}); c != "" || r != "" {
		t.Errorf("zero Addr = %q, %q", c, r)
	}
}

// TestAgainstPackage checks every range of an unpacked @ip-location-db/dbip-country package against
// the embedded table, at both ends. It needs the package (see README.md), so it runs only when
// GEO_DBIP_DIR names its directory: run it after each refresh.
func TestAgainstPackage(t *testing.T) {
	dir := os.Getenv("GEO_DBIP_DIR")
	if dir == "" {
		t.Skip("set GEO_DBIP_DIR to an unpacked @ip-location-db/dbip-country to compare every range")
	}
	for _, name := range []string{"dbip-country-ipv4.csv", "dbip-country-ipv6.csv"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		n, bad := 0, 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ",")
			if len(fields) != 3 {
				continue
			}
			n++
			for _, s := range fields[:2] {
				a := netip.MustParseAddr(s)
				want := fields[2]
				if !a.IsGlobalUnicast() || a.IsPrivate() {
					want = ""
				}
				if got, _ := Lookup(a); got != want {
					if bad++; bad <= 10 {
						t.Errorf("%s: Lookup(%s) = %q, want %q", name, s, got, want)
					}
				}
			}
		}
		f.Close()
		t.Logf("%s: %d ranges, %d mismatches", name, n, bad)
	}
}

func BenchmarkLookup(b *testing.B) {
	if err := Load(); err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{"81.2.69.142", "2a02:1388::1"} {
		ip := netip.MustParseAddr(s)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Lookup(ip)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := table.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
