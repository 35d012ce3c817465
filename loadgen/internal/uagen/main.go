// Command uagen draws the browser profiles loadgen embeds: a weighted sample, without replacement, of the
// npm user-agents package's dist/user-agents.json (BSD-2-Clause, Intoli). The sample is fixed by the
// seed, so re-running on the same input reproduces data/user-agents.json byte for byte.
//
//	go run ./loadgen/internal/uagen -in ../shared/fixtures/traffic/user-agents/dist/user-agents.json \
//	    -out loadgen/data/user-agents.json
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
)

type profile struct {
	UserAgent      string  `json:"userAgent"`
	DeviceCategory string  `json:"deviceCategory"`
	ScreenWidth    int     `json:"screenWidth"`
	Weight         float64 `json:"weight"`
}

// out is one embedded profile; the sample is drawn in proportion to weight, so loadgen picks uniformly.
type out struct {
	UA          string `json:"ua"`
	Device      string `json:"device"`
	ScreenWidth int    `json:"screen_width"`
}

func main() {
	in := flag.String("in", "", "user-agents.json of the npm user-agents package")
	dst := flag.String("out", "loadgen/data/user-agents.json", "output file")
	n := flag.Int("n", 300, "profiles to keep")
	seed := flag.Uint64("seed", 1, "sampling seed")
	flag.Parse()
	if err := run(*in, *dst, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "uagen:", err)
		os.Exit(1)
	}
}

func run(in, dst string, n int, seed uint64) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	var all []profile
	if err := json.Unmarshal(b, &all); err != nil {
		return fmt.Errorf("decode input: %w", err)
	}
	// Efraimidis–Spirakis: the n largest keys u^(1/w), compared as log(u)/w, are a weighted sample
	// without replacement.
	rng := rand.New(rand.NewPCG(seed, seed))
	type keyed struct {
		key float64
		p   profile
	}
	ks := make([]keyed, 0, len(all))
	for _, p := range all {
		u := rng.Float64()
		if p.Weight <= 0 || p.UserAgent == "" || p.ScreenWidth <= 0 {
			continue
		}
		ks = append(ks, keyed{math.Log(u) / p.Weight, p})
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].key > ks[j].key })
	if len(ks) > n {
		ks = ks[:n]
	}
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, k := range ks {
		line, err := json.Marshal(out{UA: k.p.UserAgent, Device: k.p.DeviceCategory, ScreenWidth: k.p.ScreenWidth})
		if err != nil {
			return err
		}
		buf.Write(line)
		if i < len(ks)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}
