// Command gen converts DB-IP's "IP to Country Lite" CSV files, as published on the npm registry in
// @ip-location-db/dbip-country, into the compact table geo embeds:
//
//	cd /tmp && npm pack @ip-location-db/dbip-country && tar xzf ip-location-db-dbip-country-*.tgz
//	go run ./geo/internal/gen -in /tmp/package -out geo/data/dbip-country.bin.gz
//
// Format (then gzip): "TRIBGEO1", u8 number of countries, that many 2-byte codes (index 0 = none),
// u32 IPv4 range count, then per range u32 start + u8 country; u32 IPv6 range count, then per range
// u64 start of the /64 + u8 country. Ranges are sorted and contiguous: each lasts until the next start,
// gaps are ranges of country 0, and neighbours of one country are merged.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type rng struct {
	start, end *big.Int
	cc         string
}

func read(path string) ([]rng, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []rng
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ",")
		if len(parts) != 3 {
			continue
		}
		s, ok1 := new(big.Int).SetString(parts[0], 10)
		e, ok2 := new(big.Int).SetString(parts[1], 10)
		if !ok1 || !ok2 || len(parts[2]) != 2 {
			return nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		out = append(out, rng{s, e, strings.ToUpper(parts[2])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Cmp(out[j].start) < 0 })
	return out, sc.Err()
}

// flatten turns ranges into contiguous (start, cc) steps with gaps as "" and equal neighbours merged.
func flatten(rs []rng, shift uint) (starts []uint64, ccs []string) {
	one := big.NewInt(1)
	next := new(big.Int)
	for _, r := range rs {
		if r.start.Cmp(next) > 0 {
			starts, ccs = appendStep(starts, ccs, new(big.Int).Rsh(next, shift).Uint64(), "")
		}
		starts, ccs = appendStep(starts, ccs, new(big.Int).Rsh(r.start, shift).Uint64(), r.cc)
		next = new(big.Int).Add(r.end, one)
	}
	starts, ccs = appendStep(starts, ccs, new(big.Int).Rsh(next, shift).Uint64(), "")
	return starts, ccs
}

func appendStep(starts []uint64, ccs []string, s uint64, cc string) ([]uint64, []string) {
	if n := len(starts); n > 0 {
		if ccs[n-1] == cc {
			return starts, ccs
		}
		if starts[n-1] == s { // a /64 shared by two countries keeps the later one
			ccs[n-1] = cc
			return starts, ccs
		}
	}
	return append(starts, s), append(ccs, cc)
}

func main() {
	in := flag.String("in", "package", "directory with dbip-country-ipv4-num.csv and dbip-country-ipv6-num.csv")
	out := flag.String("out", "geo/data/dbip-country.bin.gz", "output file")
	flag.Parse()
	v4, err := read(filepath.Join(*in, "dbip-country-ipv4-num.csv"))
	if err != nil {
		log.Fatal(err)
	}
	v6, err := read(filepath.Join(*in, "dbip-country-ipv6-num.csv"))
	if err != nil {
		log.Fatal(err)
	}
	s4, c4 := flatten(v4, 0)
	s6, c6 := flatten(v6, 64)
	codes := map[string]byte{"": 0}
	list := []string{"--"}
	for _, c := range append(append([]string{}, c4...), c6...) {
		if _, ok := codes[c]; !ok {
			codes[c] = byte(len(list))
			list = append(list, c)
		}
	}
	if len(list) > 255 {
		log.Fatalf("%d countries do not fit a byte", len(list))
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	w := bufio.NewWriter(zw)
	w.WriteString("TRIBGEO1")
	w.WriteByte(byte(len(list)))
	for _, c := range list {
		w.WriteString(c)
	}
	binary.Write(w, binary.BigEndian, uint32(len(s4)))
	for i, s := range s4 {
		binary.Write(w, binary.BigEndian, uint32(s))
		w.WriteByte(codes[c4[i]])
	}
	binary.Write(w, binary.BigEndian, uint32(len(s6)))
	for i, s := range s6 {
		binary.Write(w, binary.BigEndian, s)
		w.WriteByte(codes[c6[i]])
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d IPv4 and %d IPv6 ranges, %d countries → %s\n", len(s4), len(s6), len(list)-1, *out)
}
