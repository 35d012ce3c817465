package main

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary/tributary/geo/internal/table"
)

const (
	csv4 = `1.0.1.0,1.0.3.255,CN
1.0.0.0,1.0.0.255,AU

1.0.4.0,1.0.7.255,au
8.8.8.0,8.8.8.255,US
255.255.255.0,255.255.255.255,ZZ
`
	csv6 = `2001:550::1000:0:0:9a18:1074,2001:550::1000:0:0:9a36:a553,AU
2001:511::,2001:550::1000:0:0:9a18:1073,US
2001:550::1000:0:0:9a36:a554,2001:550:2:2::5d:ffff,US
2a00::,2a00:ffff:ffff:ffff:ffff:ffff:ffff:ffff,NL
`
)

func lookup(t *table.Table, s string) string {
	a := netip.MustParseAddr(s)
	if a.Is4() {
		b := a.As4()
		return t.Country4(binary.BigEndian.Uint32(b[:]))
	}
	return t.Country6(table.U128From16(a.As16()))
}

// TestBuildRoundTrip builds a table from CSV, encodes and decodes it, and checks that every address
// the CSV names (and its neighbours) comes back with the CSV's country.
func TestBuildRoundTrip(t *testing.T) {
	built, err := build(strings.NewReader(csv4), strings.NewReader(csv6))
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := table.Encode(&buf, built); err != nil {
		t.Fatal(err)
	}
	tab, err := table.Decode([]byte(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ ip, want string }{
		{"0.0.0.0", ""}, {"0.255.255.255", ""},
		{"1.0.0.0", "AU"}, {"1.0.0.255", "AU"}, {"1.0.1.0", "CN"}, {"1.0.3.255", "CN"},
		{"1.0.4.0", "AU"}, {"1.0.7.255", "AU"}, {"1.0.8.0", ""},
		{"8.8.7.255", ""}, {"8.8.8.8", "US"}, {"8.8.9.0", ""},
		{"255.255.254.255", ""}, {"255.255.255.0", "ZZ"}, {"255.255.255.255", "ZZ"},
		{"::", ""}, {"2001:510:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"2001:511::", "US"}, {"2001:550::1000:0:0:9a18:1073", "US"},
		{"2001:550::1000:0:0:9a18:1074", "AU"}, {"2001:550::1000:0:0:9a36:a553", "AU"},
		{"2001:550::1000:0:0:9a36:a554", "US"}, {"2001:550:2:2::5d:ffff", "US"},
		{"2001:550:2:2::5e:0", ""}, {"2a00::1", "NL"}, {"2a00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "NL"},
		{"2a01::", ""}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
	}
	for _, tc := range tests {
		if got := lookup(tab, tc.ip); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.ip, got, tc.want)
		}
	}
	// A range ending at the last address gets no gap step after it (its start would overflow).
	if got := len(tab.V4Start); got != 8 {
		t.Errorf("%d IPv4 steps, want 8 (gap, AU, CN, AU, gap, US, gap, ZZ to the end)", got)
	}
}

func TestBuildMerges(t *testing.T) {
	tab, err := build(strings.NewReader("1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.1.255,AU\n"), strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.V4Start) != 3 || len(tab.V6Start) != 1 {
		t.Errorf("steps v4 %v v6 %v; want gap, one merged AU step, gap; and one empty v6 step", tab.V4Start, tab.V6Start)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct{ name, v4, v6, want string }{
		{"overlap", "1.0.0.0,1.0.0.255,AU\n1.0.0.128,1.0.1.255,CN\n", "", "overlaps"},
		{"after the end", "255.255.255.0,255.255.255.255,AU\n255.255.255.255,255.255.255.255,CN\n", "", "overlaps"},
		{"two fields", "1.0.0.0,1.0.0.255\n", "", "line 1"},
		{"bad address", "1.0.0.0,1.0.0.256,AU\n", "", "bad address"},
		{"reversed", "1.0.0.9,1.0.0.1,AU\n", "", "ends before"},
		{"bad code", "1.0.0.0,1.0.0.9,A1\n", "", "not a country code"},
		{"v6 in v4 file", "2001::,2001::1,US\n", "", "other address family"},
		{"v4 in v6 file", "", "1.0.0.0,1.0.0.9,AU\n", "other address family"},
		{"mapped in v6 file", "", "::ffff:1.0.0.0,::ffff:1.0.0.9,AU\n", "other address family"},
	}
	for _, tc := range tests {
		_, err := build(strings.NewReader(tc.v4), strings.NewReader(tc.v6))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestRun(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{
		"dbip-country-ipv4.csv": csv4, "dbip-country-ipv6.csv": csv6, "DBIP-LICENSE": "CC BY 4.0\n",
	} {
		if err := os.WriteFile(filepath.Join(in, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(out, "t.bin.gz")
	if err := run(in, dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Decode(b); err != nil {
		t.Fatal(err)
	}
	if lic, err := os.ReadFile(filepath.Join(out, "DBIP-LICENSE")); err != nil || string(lic) != "CC BY 4.0\n" {
		t.Errorf("licence not copied: %q %v", lic, err)
	}
	os.Remove(filepath.Join(in, "DBIP-LICENSE"))
	if err := run(in, dst); err == nil || !strings.Contains(err.Error(), "licence") {
		t.Errorf("a package without its licence: %v", err)
	}
}
