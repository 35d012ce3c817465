// Package tracker serves tributary.js, the browser tracker: embedded, minified ahead of time, with a
// strong ETag, long caching on the versioned URL and a subresource-integrity hash for pinned snippets.
package tracker

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

//go:embed dist/tributary.min.js
var script []byte

var (
	hash     = sha256.Sum256(script)
	etag     = `"` + hex.EncodeToString(hash[:8]) + `"`
	version  = hex.EncodeToString(hash[:6])
	gzipped  = gz(script)
	sriValue = func() string { h := sha512.Sum384(script); return "sha384-" + base64.StdEncoding.EncodeToString(h[:]) }()
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// Script returns the served bytes.
func Script() []byte { return script }

// VersionedPath is the immutable URL of this build of the script, for pinning with SRI.
func VersionedPath() string { return "/js/tributary." + version + ".js" }

// SRI is the integrity value of the served bytes.
func SRI() string { return sriValue }

// GzipSize is the size of the script gzipped.
func GzipSize() int { return len(gzipped) }

// Handler serves GET /js/tributary.js (revalidated hourly) and the versioned path (immutable).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		switch r.URL.Path {
		case "/js/tributary.js":
			h.Set("Cache-Control", "public, max-age=3600")
		case VersionedPath():
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		default:
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("ETag", etag)
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("Vary", "Accept-Encoding")
		if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*" || strings.Contains(match, etag)) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := script
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body = gzipped
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(body)
	})
}
