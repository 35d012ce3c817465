// Package geo maps a client address to its country, offline, from DB-IP's "IP to Country Lite" data
// embedded in the binary (CC BY 4.0; see Attribution). The lite data has countries only, so the region
// is always empty. Refresh the data as geo/README.md describes; nothing is fetched at run time.
package geo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"sync"
)

// Attribution is the credit DB-IP's licence requires wherever results are shown.
const Attribution = `IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0`

// DataVersion is the @ip-location-db/dbip-country package the embedded table was built from.
const DataVersion = "2.3.2026060120"

//go:embed data/dbip-country.bin.gz
var raw []byte

type table struct {
	codes    []string
	v4starts []uint32
	v4cc     []byte
	v6starts []uint64
	v6cc     []byte
}

var (
	once    sync.Once
	tab     *table
	loadErr error
)

// Load reads the embedded table now instead of on the first lookup (the server calls it at start so
// the first visitor does not pay for it).
func Load() error {
	once.Do(func() { tab, loadErr = decode(raw) })
	return loadErr
}

func decode(b []byte) (*table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("geo: open table: %w", err)
	}
	r := bufio.NewReaderSize(zr, 1<<16)
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != "TRIBGEO1" {
		return nil, fmt.Errorf("geo: not a geo table")
	}
	n, err := r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("geo: read codes: %w", err)
	}
	t := &table{codes: make([]string, n)}
	for i := range t.codes {
		var c [2]byte
		if _, err := io.ReadFull(r, c[:]); err != nil {
			return nil, fmt.Errorf("geo: read codes: %w", err)
		}
		t.codes[i] = string(c[:])
	}
	t.codes[0] = ""
	var buf [9]byte
	var count uint32
	if err := binary.Read(r, binary.BigEndian, &count); err != nil {
		return nil, fmt.Errorf("geo: read ipv4 count: %w", err)
	}
	t.v4starts, t.v4cc = make([]uint32, count), make([]byte, count)
	for i := range t.v4starts {
		if _, err := io.ReadFull(r, buf[:5]); err != nil {
			return nil, fmt.Errorf("geo: read ipv4 ranges: %w", err)
		}
		t.v4starts[i], t.v4cc[i] = binary.BigEndian.Uint32(buf[:4]), buf[4]
	}
	if err := binary.Read(r, binary.BigEndian, &count); err != nil {
		return nil, fmt.Errorf("geo: read ipv6 count: %w", err)
	}
	t.v6starts, t.v6cc = make([]uint64, count), make([]byte, count)
	for i := range t.v6starts {
		if _, err := io.ReadFull(r, buf[:9]); err != nil {
			return nil, fmt.Errorf("geo: read ipv6 ranges: %w", err)
		}
		t.v6starts[i], t.v6cc[i] = binary.BigEndian.Uint64(buf[:8]), buf[8]
	}
	return t, nil
}

// Lookup returns the ISO 3166-1 alpha-2 country of ip, "" for private, loopback or unknown addresses.
// Region is empty with the lite data.
func Lookup(ip netip.Addr) (country, region string) {
	if Load() != nil || !ip.IsValid() {
		return "", ""
	}
	ip = ip.Unmap()
	if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
		return "", ""
	}
	if ip.Is4() {
		b := ip.As4()
		v := binary.BigEndian.Uint32(b[:])
		i := sort.Search(len(tab.v4starts), func(i int) bool { return tab.v4starts[i] > v }) - 1
		if i < 0 {
			return "", ""
		}
		return tab.codes[tab.v4cc[i]], ""
	}
	b := ip.As16()
	v := binary.BigEndian.Uint64(b[:8])
	i := sort.Search(len(tab.v6starts), func(i int) bool { return tab.v6starts[i] > v }) - 1
	if i < 0 {
		return "", ""
	}
	return tab.codes[tab.v6cc[i]], ""
}
