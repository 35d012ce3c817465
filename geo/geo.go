// Package geo maps a client address to its country, offline, from DB-IP's "IP to Country Lite" data
// embedded in the binary (CC BY 4.0; show Attribution wherever results appear). The lite data has
// countries only, so the region is always empty. Nothing is fetched at run time; geo/README.md says how
// to refresh the data from the npm registry.
package geo

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"

	"github.com/tributary/tributary/geo/internal/table"
)

// Attribution is the credit DB-IP's licence requires on pages that show results from the data, with
// a link to AttributionURL.
const Attribution = "IP Geolocation by DB-IP"

// AttributionURL is the link the credit must carry.
const AttributionURL = "https://db-ip.com"

// DataVersion is the @ip-location-db/dbip-country package version the embedded table was built from.
const DataVersion = "2.3.2026060120"

//go:embed data/dbip-country.bin.gz
var raw []byte

var (
	once    sync.Once
	tab     *table.Table
	loadErr error
)

// Load decodes the embedded table once (tens of milliseconds); later calls return at once. The server
// calls it at start so the first visitor does not pay for it, and so a broken build fails loudly.
func Load() error {
	once.Do(func() {
		tab, loadErr = table.Decode(raw)
		if loadErr != nil {
			loadErr = fmt.Errorf("geo: load: %w", loadErr)
		}
	})
	return loadErr
}

// Lookup returns the upper-case ISO 3166-1 alpha-2 country of ip, or "" for private, loopback, link-local
// and other non-public addresses, for addresses the data does not place, and if the table cannot load.
// Region is always "" with the lite data. IPv4-mapped IPv6 addresses are looked up as IPv4.
func Lookup(ip netip.Addr) (country, region string) {
	if !ip.IsValid() || Load() != nil {
		return "", ""
	}
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return "", ""
	}
	if ip.Is4() {
		b := ip.As4()
		return tab.Country4(binary.BigEndian.Uint32(b[:])), ""
	}
	return tab.Country6(table.U128From16(ip.As16())), ""
}
