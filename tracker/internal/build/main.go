// Command build minifies tracker/src/tributary.js into tracker/dist/tributary.min.js (run with
// `go generate ./tracker`); the result is committed and embedded, so building Tributary needs no
// JavaScript toolchain.
package main

import (
	"log"
	"os"

	"github.com/tributary/tributary/tracker"
)

func main() {
	src, err := os.ReadFile("src/tributary.js")
	if err != nil {
		log.Fatal(err)
	}
	out, err := tracker.Minify(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("dist/tributary.min.js", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
