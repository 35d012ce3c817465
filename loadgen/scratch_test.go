package loadgen

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/tributary/tributary/geo"
)

func TestScratch(t *testing.T) {
	for a := 1; a < 224; a++ {
		for b := 0; b < 256; b++ {
			all := true
			for c := 0; c < 256; c += 5 {
				cc, _ := geo.Lookup(netip.AddrFrom4([4]byte{byte(a), byte(b), byte(c), 77}))
				if cc != "BH" {
					all = false
					break
				}
			}
			if all {
				fmt.Println(a, b)
			}
		}
	}
}
