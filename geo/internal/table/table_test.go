package table

import (
	"bytes"
	"compress/gzip"
	"reflect"
	"strings"
	"testing"
)

func sample() *Table {
	return &Table{
		Codes:   []string{"", "AU", "CN", "NL"},
		V4Start: []uint32{0, 0x01000000, 0x01000100, 0x01000400, 0xE0000000},
		V4Code:  []uint8{0, 1, 2, 1, 0},
		V6Start: []U128{{}, {Hi: 0x2001_0550_0000_0000, Lo: 0x1000_0000_0000_0000}, {Hi: 0x2001_0550_0000_0000, Lo: 0x1000_0000_0000_0005}, {Hi: ^uint64(0)}},
		V6Code:  []uint8{0, 3, 1, 0},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, want := range []*Table{sample(), {Codes: []string{""}}} {
		var buf bytes.Buffer
		if err := Encode(&buf, want); err != nil {
			t.Fatal(err)
		}
		got, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		// Empty and nil slices are the same table.
		norm := func(t *Table) {
			for _, p := range []*[]uint8{&t.V4Code, &t.V6Code} {
				if len(*p) == 0 {
					*p = nil
				}
			}
			if len(t.V4Start) == 0 {
				t.V4Start = nil
			}
			if len(t.V6Start) == 0 {
				t.V6Start = nil
			}
		}
		norm(got)
		norm(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestCountry(t *testing.T) {
	tab := sample()
	v4 := []struct {
		a    uint32
		want string
	}{
		{0, ""}, {0x00ffffff, ""}, {0x01000000, "AU"}, {0x010000ff, "AU"}, {0x01000100, "CN"},
		{0x010003ff, "CN"}, {0x01000400, "AU"}, {0xdfffffff, "AU"}, {0xe0000000, ""}, {0xffffffff, ""},
	}
	for _, tc := range v4 {
		if got := tab.Country4(tc.a); got != tc.want {
			t.Errorf("Country4(%#x) = %q, want %q", tc.a, got, tc.want)
		}
	}
	base := uint64(0x2001_0550_0000_0000)
	v6 := []struct {
		a    U128
		want string
	}{
		{U128{}, ""},
		{U128{Hi: base, Lo: 0x0fff_ffff_ffff_ffff}, ""},
		{U128{Hi: base, Lo: 0x1000_0000_0000_0000}, "NL"},
		{U128{Hi: base, Lo: 0x1000_0000_0000_0004}, "NL"}, // same /64, different country: needs the low half
		{U128{Hi: base, Lo: 0x1000_0000_0000_0005}, "AU"},
		{U128{Hi: ^uint64(0) - 1, Lo: ^uint64(0)}, "AU"},
		{U128{Hi: ^uint64(0), Lo: ^uint64(0)}, ""},
	}
	for _, tc := range v6 {
		if got := tab.Country6(tc.a); got != tc.want {
			t.Errorf("Country6(%x) = %q, want %q", tc.a, got, tc.want)
		}
	}
	empty := &Table{Codes: []string{""}}
	if empty.Country4(5) != "" || empty.Country6(U128{Lo: 5}) != "" {
		t.Error("an empty table placed an address")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Table)
		want   string
	}{
		{"ok", func(*Table) {}, ""},
		{"no codes", func(t *Table) { t.Codes = nil }, "empty code"},
		{"first code set", func(t *Table) { t.Codes[0] = "XX" }, "empty code"},
		{"lower case", func(t *Table) { t.Codes[2] = "cn" }, "not an upper-case"},
		{"long code", func(t *Table) { t.Codes[2] = "CHN" }, "not an upper-case"},
		{"columns differ", func(t *Table) { t.V4Code = t.V4Code[:2] }, "differ in length"},
		{"v4 not from 0", func(t *Table) { t.V4Start[0] = 1 }, "address 0"},
		{"v6 not from 0", func(t *Table) { t.V6Start[0].Lo = 1 }, "address 0"},
		{"v4 unsorted", func(t *Table) { t.V4Start[2] = t.V4Start[1] }, "ipv4 step 2"},
		{"v6 unsorted", func(t *Table) { t.V6Start[2] = t.V6Start[1] }, "ipv6 step 2"},
		{"code out of range", func(t *Table) { t.V6Code[1] = 4 }, "names code 4"},
		{"too many codes", func(t *Table) {
			for len(t.Codes) < 256 {
				t.Codes = append(t.Codes, "ZZ")
			}
		}, "at most 255"},
	}
	for _, tc := range tests {
		tab := sample()
		tc.change(tab)
		err := tab.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
		}
		if tc.want != "" && Encode(&bytes.Buffer{}, tab) == nil {
			t.Errorf("%s: Encode accepted an invalid table", tc.name)
		}
	}
}

// TestDecodeDamaged feeds every truncation of a valid table, extra bytes and a wrong magic: each must
// fail with an error, never panic or decode.
func TestDecodeDamaged(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	zr, _ := gzip.NewReader(&buf)
	var plain bytes.Buffer
	plain.ReadFrom(zr)
	p := plain.Bytes()
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	for n := 0; n < len(p); n++ {
		if _, err := Decode(gz(p[:n])); err == nil {
			t.Fatalf("a table cut to %d of %d bytes decoded", n, len(p))
		}
	}
	if _, err := Decode(gz(append(append([]byte{}, p...), 0))); err == nil {
		t.Error("trailing byte accepted")
	}
	bad := append([]byte{}, p...)
	bad[0] = 'X'
	if _, err := Decode(gz(bad)); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("bad magic: %v", err)
	}
	if _, err := Decode(p); err == nil {
		t.Error("uncompressed input accepted")
	}
	if _, err := Decode(gz(p)); err != nil {
		t.Errorf("the undamaged table failed: %v", err)
	}
}
