// Command build minifies tracker/src/tributary.js into tracker/dist/tributary.min.js. Run it with
// `go generate ./tracker` or `go run ./tracker/internal/build` from the module root; the output is
// committed and embedded, so building Tributary needs no JavaScript toolchain.
package main

import (
	"compress/gzip"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tributary/tributary/tracker/internal/minify"
)

func main() {
	log.SetFlags(0)
	dir, err := trackerDir()
	if err != nil {
		log.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "src", "tributary.js"))
	if err != nil {
		log.Fatalf("build: %v", err)
	}
	out, err := minify.JS(src)
	if err != nil {
		log.Fatalf("build: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dist", "tributary.min.js"), out, 0o644); err != nil {
		log.Fatalf("build: %v", err)
	}
	cw := &countWriter{}
	zw, _ := gzip.NewWriterLevel(cw, gzip.BestCompression)
	zw.Write(out)
	zw.Close()
	fmt.Printf("tracker/dist/tributary.min.js: %d bytes, %d gzipped\n", len(out), cw.n)
}

// trackerDir finds the tracker package whether the generator runs from it (go generate) or from the
// module root (go run ./tracker/internal/build).
func trackerDir() (string, error) {
	for _, dir := range []string{".", "tracker"} {
		if _, err := os.Stat(filepath.Join(dir, "src", "tributary.js")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("build: run from the module root or the tracker directory")
}

// countWriter measures the gzipped size without keeping the bytes.
type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
