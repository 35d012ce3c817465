// Command gen converts DB-IP's "IP to Country Lite" CSV files, as the npm registry publishes them in
// @ip-location-db/dbip-country, into the compact table geo embeds (format: geo/internal/table). It runs
// at development time only; geo/README.md gives the refresh steps:
//
//	go run ./geo/internal/gen -in /tmp/package -out geo/data/dbip-country.bin.gz
//
// It reads dbip-country-ipv4.csv and dbip-country-ipv6.csv (lines "start,end,CC", inclusive ranges of
// textual addresses) and copies DBIP-LICENSE beside the output, so the credit travels with the data.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tributary/tributary/geo/internal/table"
)

func main() {
	in := flag.String("in", "package", "unpacked @ip-location-db/dbip-country directory")
	out := flag.String("out", "geo/data/dbip-country.bin.gz", "table to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		log.Fatal(err)
	}
}

func run(in, out string) error {
	v4, err := os.Open(filepath.Join(in, "dbip-country-ipv4.csv"))
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	defer v4.Close()
	v6, err := os.Open(filepath.Join(in, "dbip-country-ipv6.csv"))
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	defer v6.Close()
	t, err := build(v4, v6)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := table.Encode(&buf, t); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	lic, err := os.ReadFile(filepath.Join(in, "DBIP-LICENSE"))
	if err != nil {
		return fmt.Errorf("gen: the package must carry its licence: %w", err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(out), "DBIP-LICENSE"), lic, 0o644); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	fmt.Printf("%d IPv4 and %d IPv6 steps, %d countries, %d bytes → %s\n",
		len(t.V4Start), len(t.V6Start), len(t.Codes)-1, buf.Len(), out)
	return nil
}

// rng is one CSV line: an inclusive range of one address family.
type rng struct {
	start, end table.U128
	cc         string
}

// build reads both CSV files into a validated table.
func build(v4, v6 io.Reader) (*table.Table, error) {
	r4, err := readCSV(v4, true)
	if err != nil {
		return nil, fmt.Errorf("gen: ipv4: %w", err)
	}
	r6, err := readCSV(v6, false)
	if err != nil {
		return nil, fmt.Errorf("gen: ipv6: %w", err)
	}
	s4, c4, err := flatten(r4, table.U128{Lo: 1<<32 - 1})
	if err != nil {
		return nil, fmt.Errorf("gen: ipv4: %w", err)
	}
	s6, c6, err := flatten(r6, table.U128{Hi: ^uint64(0), Lo: ^uint64(0)})
	if err != nil {
		return nil, fmt.Errorf("gen: ipv6: %w", err)
	}
	t := &table.Table{Codes: []string{""}}
	index := map[string]int{"": 0}
	code := func(cc string) uint8 {
		i, ok := index[cc]
		if !ok {
			i = len(t.Codes)
			index[cc] = i
			t.Codes = append(t.Codes, cc)
		}
		return uint8(i) // wraps past 255, but Validate below rejects that many codes
	}
	for i, s := range s4 {
		t.V4Start = append(t.V4Start, uint32(s.Lo))
		t.V4Code = append(t.V4Code, code(c4[i]))
	}
	for i, s := range s6 {
		t.V6Start = append(t.V6Start, s)
		t.V6Code = append(t.V6Code, code(c6[i]))
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	return t, nil
}

func readCSV(r io.Reader, want4 bool) ([]rng, error) {
	var out []rng
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: %q is not start,end,country", n, line)
		}
		a, err1 := netip.ParseAddr(f[0])
		b, err2 := netip.ParseAddr(f[1])
		cc := strings.ToUpper(strings.TrimSpace(f[2]))
		switch {
		case err1 != nil || err2 != nil:
			return nil, fmt.Errorf("line %d: bad address in %q", n, line)
		case a.Is4() != want4 || b.Is4() != want4 || a.Is4In6() || b.Is4In6():
			return nil, fmt.Errorf("line %d: %q is of the other address family", n, line)
		case len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z':
			return nil, fmt.Errorf("line %d: %q is not a country code", n, f[2])
		case b.Less(a):
			return nil, fmt.Errorf("line %d: range ends before it starts", n)
		}
		out = append(out, rng{table.U128From16(a.As16()), table.U128From16(b.As16()), cc})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if want4 { // As16 gives the v4-mapped form; the table keys IPv4 by its 32-bit number
		for i := range out {
			out[i].start, out[i].end = table.U128{Lo: out[i].start.Lo & 0xffffffff}, table.U128{Lo: out[i].end.Lo & 0xffffffff}
		}
	}
	slices.SortFunc(out, func(x, y rng) int {
		if x.start.Less(y.start) {
			return -1
		}
		if y.start.Less(x.start) {
			return 1
		}
		return 0
	})
	return out, nil
}

// flatten turns sorted inclusive ranges into a step function starting at 0: gaps become steps of no
// country and neighbours of one country merge. max is the family's last address, past which no step
// may start.
func flatten(rs []rng, max table.U128) (starts []table.U128, ccs []string, err error) {
	push := func(s table.U128, cc string) {
		if n := len(starts); n > 0 && ccs[n-1] == cc {
			return
		}
		starts, ccs = append(starts, s), append(ccs, cc)
	}
	var next table.U128 // first address not yet covered
	done := false       // the previous range ended at max
	for _, r := range rs {
		if done || r.start.Less(next) {
			return nil, nil, fmt.Errorf("range starting %x:%x overlaps the one before", r.start.Hi, r.start.Lo)
		}
		if next.Less(r.start) {
			push(next, "")
		}
		push(r.start, r.cc)
		if r.end == max {
			done = true
			continue
		}
		if max.Less(r.end) {
			return nil, nil, errors.New("range ends past the address space")
		}
		next = inc(r.end)
	}
	if !done {
		push(next, "")
	}
	return starts, ccs, nil
}

func inc(u table.U128) table.U128 {
	u.Lo++
	if u.Lo == 0 {
		u.Hi++
	}
	return u
}
