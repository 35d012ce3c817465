package geo

import (
	"net/netip"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	start := time.Now()
	if err := Load(); err != nil {
		t.Fatal(err)
	}
	t.Logf("table loaded in %v: %d IPv4 and %d IPv6 ranges", time.Since(start), len(tab.v4starts), len(tab.v6starts))
	// Expectations read from the DB-IP CSV this table was built from (version DataVersion).
	tests := []struct{ ip, want string }{
		{"1.0.0.1", "AU"}, // 1.0.0.0-1.0.0.255,AU
		{"1.0.1.7", "CN"}, // 1.0.1.0-1.0.3.255,CN
		{"1.0.4.0", "AU"}, // 1.0.4.0-1.0.7.255,AU
		{"8.8.8.8", "US"}, // Google DNS
		{"10.1.2.3", ""},  // private
		{"127.0.0.1", ""}, // loopback
		{"::1", ""},       // loopback
		{"::ffff:1.0.1.7", "CN"},
	}
	for _, tc := range tests {
		if got, region := Lookup(netip.MustParseAddr(tc.ip)); got != tc.want || region != "" {
			t.Errorf("%s = %q %q, want %q", tc.ip, got, region, tc.want)
		}
	}
	if c, _ := Lookup(netip.MustParseAddr("2001:4860:4860::8888")); c == "" {
		t.Error("no country for Google's public IPv6 DNS")
	}
}

func BenchmarkLookup(b *testing.B) {
	Load()
	v4 := netip.MustParseAddr("81.2.69.142")
	v6 := netip.MustParseAddr("2a02:1388::1")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Lookup(v4)
		Lookup(v6)
	}
}

func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
