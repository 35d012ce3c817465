// Package tracker serves tributary.js, the browser tracker. The readable source is src/tributary.js; the
// served bytes are dist/tributary.min.js, minified ahead of time with esbuild (go generate) and embedded,
// so neither building nor running Tributary needs a JavaScript toolchain. The script is served with a
// strong ETag at a short-lived URL for the usual snippet and at an immutable, versioned URL with a
// subresource-integrity hash for pinned snippets.
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

//go:generate go run ./internal/build

//go:embed dist/tributary.min.js
var script []byte

// Path is the URL of the script in the usual snippet.
const Path = "/js/tributary.js"

var (
	sum      = sha256.Sum256(script)
	version  = hex.EncodeToString(sum[:6])
	versPath = "/js/tributary." + version + ".js"
	// Each encoding is its own representation, so each gets its own strong validator.
	etagPlain = `"` + hex.EncodeToString(sum[:12]) + `"`
	etagGzip  = `"` + hex.EncodeToString(sum[:12]) + `-gz"`
	gzipped   = gz(script)
	sri       = func() string { h := sha512.Sum384(script); return "sha384-" + base64.StdEncoding.EncodeToString(h[:]) }()
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // level is valid: no error
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// GzipSize is the size in bytes of the script as served gzipped.
func GzipSize() int { return len(gzipped) }

// VersionedPath is the immutable URL of this build of the script, e.g. /js/tributary.3f2a9c01b7de.js,
// for snippets pinned with SRI.
func VersionedPath() string { return versPath }

// SRI is the subresource-integrity value ("sha384-…") of the exact bytes served (before any transfer
// encoding), for the integrity attribute of a pinned snippet.
func SRI() string { return sri }

// Handler serves GET and HEAD of Path (cached for an hour, then revalidated) and VersionedPath
// (immutable for a year), with a strong ETag, 304 on If-None-Match, gzip when accepted and CORS open so
// any site may load it. Other paths are 404; mount it at /js/.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

// Header values are built once: the script is requested on every page view of every tracked site, and
// assigning prebuilt one-element slices (never appended to in place: len == cap) costs no allocation.
var (
	hCacheShort     = []string{"public, max-age=3600"}
	hCacheImmutable = []string{"public, max-age=31536000, immutable"}
	hType           = []string{"text/javascript; charset=utf-8"}
	hVary           = []string{"Accept-Encoding"}
	hStar           = []string{"*"}
	hCORP           = []string{"cross-origin"}
	hNosniff        = []string{"nosniff"}
	hGzip           = []string{"gzip"}
	hETagPlain      = []string{etagPlain}
	hETagGzip       = []string{etagGzip}
	hLenPlain       = []string{strconv.Itoa(len(script))}
	hLenGzip        = []string{strconv.Itoa(len(gzipped))}
)

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	var cache []string
	switch r.URL.Path {
	case Path:
		cache = hCacheShort
	case versPath:
		cache = hCacheImmutable
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, etag, hETag, hLen := script, etagPlain, hETagPlain, hLenPlain
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		body, etag, hETag, hLen = gzipped, etagGzip, hETagGzip, hLenGzip
	}
	h["Cache-Control"] = cache
	h["Etag"] = hETag
	h["Vary"] = hVary
	h["Access-Control-Allow-Origin"] = hStar
	h["Cross-Origin-Resource-Policy"] = hCORP
	h["X-Content-Type-Options"] = hNosniff
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = hType
	h["Content-Length"] = hLen
	if gz {
		h["Content-Encoding"] = hGzip
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// etagMatch reports whether an If-None-Match list names etag (or is "*"). If-None-Match uses the weak
// comparison (RFC 9110 §13.1.2), so a W/ prefix added by a proxy still matches.
func etagMatch(header, etag string) bool {
	for header != "" {
		var tag string
		tag, header, _ = strings.Cut(header, ",")
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: listed by name (or "*") without
// q=0. An explicit gzip entry wins over "*".
func acceptsGzip(header string) bool {
	star := false
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		isStar := name == "*"
		if !isStar && !strings.EqualFold(name, "gzip") && !strings.EqualFold(name, "x-gzip") {
			continue
		}
		ok := !zeroQ(params)
		if !isStar {
			return ok
		}
		star = ok
	}
	return star
}

// zeroQ reports whether coding parameters carry q=0 (any spelling of zero: 0, 0., 0.000).
func zeroQ(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		return v != "" && v[0] == '0' && strings.Trim(v, "0.") == "" && strings.Count(v, ".") <= 1
	}
	return false
}
