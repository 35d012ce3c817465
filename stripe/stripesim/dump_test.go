package stripesim

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestDump prints flows for a human to read: STRIPESIM_DUMP=version[,flow[,eventType]] go test -run Dump -v
func TestDump(t *testing.T) {
	arg := os.Getenv("STRIPESIM_DUMP")
	if arg == "" {
		t.Skip("set STRIPESIM_DUMP=version[,flow[,eventType]]")
	}
	parts := append(strings.Split(arg, ","), "", "")
	for _, f := range Flows(parts[0]) {
		if parts[1] != "" && f.Name != parts[1] {
			continue
		}
		fmt.Printf("== %s %s truth=%+v all=%+v mrr=%v final=%d\n", f.Name, f.Version, f.Truth,
			f.Expect(f.Select(Selections()["all"])), f.MRR, f.FinalMRR)
		for _, e := range f.Events {
			fmt.Printf("  %s %-45s %v\n", e.Created.Format("01-02 15:04:05"), e.Type, e.Reveals)
			if parts[2] == e.Type {
				fmt.Println(string(e.Raw))
			}
		}
	}
}
