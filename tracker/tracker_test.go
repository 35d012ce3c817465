package tracker

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// TestDistIsFresh fails when src/tributary.js changed without `go generate ./tracker`.
func TestDistIsFresh(t *testing.T) {
	src, err := os.ReadFile("src/tributary.js")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Minify(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, script) {
		t.Fatal("dist/tributary.min.js is stale: run go generate ./tracker")
	}
}

func TestSize(t *testing.T) {
	t.Logf("tracker: %d bytes, %d gzipped", len(script), GzipSize())
	if GzipSize() > 2048 {
		t.Fatalf("tracker is %d bytes gzipped, the budget is 2048", GzipSize())
	}
}

func TestHandler(t *testing.T) {
	h := Handler()
	get := func(path string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("/js/tributary.js", nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), script) || w.Header().Get("Cache-Control") != "public, max-age=3600" ||
		w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("plain: %d %v", w.Code, w.Header())
	}
	etag := w.Header().Get("ETag")
	if w := get("/js/tributary.js", map[string]string{"If-None-Match": etag}); w.Code != 304 || w.Body.Len() != 0 {
		t.Fatalf("revalidation: %d", w.Code)
	}
	w = get(VersionedPath(), map[string]string{"Accept-Encoding": "gzip, br"})
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || w.Body.Len() != GzipSize() {
		t.Fatalf("versioned: %d %v", w.Code, w.Header())
	}
	if w := get("/js/tributary.deadbeef.js", nil); w.Code != 404 {
		t.Fatalf("unknown version: %d", w.Code)
	}
	sum := sha512.Sum384(script)
	if SRI() != "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatal("SRI does not match the served bytes")
	}
	r := httptest.NewRequest("POST", "/js/tributary.js", nil)
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	if rw.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rw.Code)
	}
}
