package tracker

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tributary/tributary/tracker/internal/minify"
)

// TestDistIsFresh fails when src/tributary.js changed without `go generate ./tracker`.
func TestDistIsFresh(t *testing.T) {
	src, err := os.ReadFile("src/tributary.js")
	if err != nil {
		t.Fatal(err)
	}
	want, err := minify.JS(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, script) {
		t.Fatal("dist/tributary.min.js is stale: run go generate ./tracker")
	}
}

func TestSize(t *testing.T) {
	t.Logf("tributary.js: %d bytes, %d gzipped", len(script), GzipSize())
	if GzipSize() > 2048 {
		t.Fatalf("tributary.js is %d bytes gzipped; the budget is 2048", GzipSize())
	}
}

func TestSRI(t *testing.T) {
	sum := sha512.Sum384(script)
	if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); SRI() != want {
		t.Fatalf("SRI() = %s, want %s", SRI(), want)
	}
	// The integrity check runs on the decoded body, so it must hold for the gzipped response too.
	w := get(t, http.MethodGet, VersionedPath(), map[string]string{"Accept-Encoding": "gzip"})
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha512.Sum384(body); "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) != SRI() {
		t.Fatal("SRI does not match the gunzipped versioned response")
	}
}

func TestVersionedPath(t *testing.T) {
	if !regexp.MustCompile(`^/js/tributary\.[0-9a-f]{12}\.js$`).MatchString(VersionedPath()) {
		t.Fatalf("VersionedPath() = %q", VersionedPath())
	}
}

func get(t *testing.T, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	const (
		short     = "public, max-age=3600"
		immutable = "public, max-age=31536000, immutable"
	)
	type want struct {
		code     int
		cache    string
		encoding string
		etag     string
		body     []byte
	}
	ok := func(cache, enc, etag string, body []byte) want { return want{200, cache, enc, etag, body} }
	tests := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		want   want
	}{
		{"plain", "GET", Path, nil, ok(short, "", etagPlain, script)},
		{"gzip", "GET", Path, map[string]string{"Accept-Encoding": "gzip, deflate, br"}, ok(short, "gzip", etagGzip, gzipped)},
		{"gzip refused", "GET", Path, map[string]string{"Accept-Encoding": "br, gzip;q=0"}, ok(short, "", etagPlain, script)},
		{"any encoding", "GET", Path, map[string]string{"Accept-Encoding": "*"}, ok(short, "gzip", etagGzip, gzipped)},
		{"versioned", "GET", VersionedPath(), nil, ok(immutable, "", etagPlain, script)},
		{"versioned gzip", "GET", VersionedPath(), map[string]string{"Accept-Encoding": "gzip"}, ok(immutable, "gzip", etagGzip, gzipped)},
		{"head", "HEAD", Path, nil, ok(short, "", etagPlain, nil)},
		{"revalidate", "GET", Path, map[string]string{"If-None-Match": etagPlain}, want{304, short, "", etagPlain, nil}},
		{"revalidate gzip", "GET", Path, map[string]string{"If-None-Match": etagGzip, "Accept-Encoding": "gzip"}, want{304, short, "", etagGzip, nil}},
		{"revalidate list, weak", "GET", VersionedPath(), map[string]string{"If-None-Match": `"old", W/` + etagPlain}, want{304, immutable, "", etagPlain, nil}},
		{"revalidate star", "GET", Path, map[string]string{"If-None-Match": "*"}, want{304, short, "", etagPlain, nil}},
		{"other encoding's tag", "GET", Path, map[string]string{"If-None-Match": etagGzip}, ok(short, "", etagPlain, script)},
		{"stale tag", "GET", Path, map[string]string{"If-None-Match": `"0123"`}, ok(short, "", etagPlain, script)},
		{"old version", "GET", "/js/tributary.000000000000.js", nil, want{code: 404}},
		{"other file", "GET", "/js/other.js", nil, want{code: 404}},
		{"post", "POST", Path, nil, want{code: 405}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, tc.method, tc.path, tc.hdr)
			h := w.Header()
			if w.Code != tc.want.code {
				t.Fatalf("status %d, want %d", w.Code, tc.want.code)
			}
			if tc.want.code >= 400 {
				return
			}
			checks := []struct{ header, got, want string }{
				{"Cache-Control", h.Get("Cache-Control"), tc.want.cache},
				{"Content-Encoding", h.Get("Content-Encoding"), tc.want.encoding},
				{"ETag", h.Get("ETag"), tc.want.etag},
				{"Vary", h.Get("Vary"), "Accept-Encoding"},
				{"Access-Control-Allow-Origin", h.Get("Access-Control-Allow-Origin"), "*"},
				{"Content-Type", h.Get("Content-Type"), map[bool]string{true: "text/javascript; charset=utf-8"}[tc.want.code == 200]},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.header, c.got, c.want)
				}
			}
			if !bytes.Equal(w.Body.Bytes(), tc.want.body) {
				t.Errorf("body is %d bytes, want %d", w.Body.Len(), len(tc.want.body))
			}
		})
	}
}

func TestETagsAreStrongAndDistinct(t *testing.T) {
	for _, tag := range []string{etagPlain, etagGzip} {
		if strings.HasPrefix(tag, "W/") || !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) {
			t.Errorf("ETag %s is not a strong quoted tag", tag)
		}
	}
	if etagPlain == etagGzip {
		t.Error("both encodings share one strong ETag")
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"gzip;q=0.001", true},
		{"br", false},
		{"gzipped", false},
		{"*", true},
		{"*;q=0", false},
		{"*, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"identity", false},
	}
	for _, tc := range tests {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestETagMatch(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{etagPlain, true},
		{"W/" + etagPlain, true},
		{` "a" , ` + etagPlain + ` `, true},
		{"*", true},
		{etagGzip, false},
		{strings.Trim(etagPlain, `"`), false},
		{`"a", "b"`, false},
		{"", false},
	}
	for _, tc := range tests {
		if got := etagMatch(tc.header, etagPlain); got != tc.want {
			t.Errorf("etagMatch(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// FuzzHandler feeds arbitrary request headers (untrusted input) to the handler: it must answer 200 with
// the script or 304, pick gzip only when the header names it, and answer 304 only for a tag it issued.
func FuzzHandler(f *testing.F) {
	for _, s := range [][2]string{{"gzip", ""}, {"gzip;q=0", etagPlain}, {"*;q=0.0", "*"}, {"GZip ; Q=0.", "W/" + etagGzip}, {",,;;=", ",,W/"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ae, inm string) {
		r := httptest.NewRequest("GET", Path, nil)
		r.Header["Accept-Encoding"] = []string{ae}
		r.Header["If-None-Match"] = []string{inm}
		w := httptest.NewRecorder()
		Handler().ServeHTTP(w, r)
		lower := strings.ToLower(ae)
		if w.Header().Get("Content-Encoding") == "gzip" && !strings.Contains(lower, "gzip") && !strings.Contains(lower, "*") {
			t.Fatalf("gzip chosen for Accept-Encoding %q", ae)
		}
		switch w.Code {
		case 200:
			want := script
			if w.Header().Get("Content-Encoding") == "gzip" {
				want = gzipped
			}
			if !bytes.Equal(w.Body.Bytes(), want) {
				t.Fatal("200 with the wrong body")
			}
		case 304:
			if !strings.Contains(inm, "*") && !strings.Contains(inm, w.Header().Get("ETag")) {
				t.Fatalf("304 for If-None-Match %q", inm)
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}

func BenchmarkHandler(b *testing.B) {
	for _, bc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"gzip", map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}},
		{"plain", nil},
		{"304", map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd", "If-None-Match": etagGzip}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := Handler()
			r := httptest.NewRequest("GET", Path, nil)
			for k, v := range bc.hdr {
				r.Header.Set(k, v)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

// discard is a ResponseWriter that keeps nothing, so the benchmark measures the handler alone.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
