package loadgen

import (
	"io"
	"net/http"
)

// BareServer returns a handler that only reads the body and answers 202, whatever the path: mounted on
// a second listener it measures the ceiling of the HTTP stack and the generator, against which the
// real ingest path is compared in the same run.
func BareServer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<20))
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
	})
}
