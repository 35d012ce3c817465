package collect

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/clientip"
	"github.com/tributary/tributary/ingest"
	"github.com/tributary/tributary/web/core"
)

// bodyPool reuses request buffers on the hottest endpoint.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// setCORS opens the browser ingest endpoint to every origin: the tracker runs on the customer's site.
func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Expose-Headers", "X-Tributary-Dropped")
	h.Set("Access-Control-Max-Age", "86400")
}

// HandleEventPreflight answers OPTIONS /api/event.
func (s *Collector) HandleEventPreflight(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	w.WriteHeader(http.StatusNoContent)
}

// HandleEvent is POST /api/event: 202 for every well-formed request, with X-Tributary-Dropped naming the
// reason when the event was not kept; 400 for a body that is not JSON; 413 when too large; 503 with
// Retry-After when the buffer is full.
func (s *Collector) HandleEvent(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bodyPool.Put(buf)
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, ingest.MaxBodyBytes))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.WriteError(w, r, tributary.Errorf(tributary.ETOOLARGE, "event body is larger than %d bytes", ingest.MaxBodyBytes))
			return
		}
		s.WriteError(w, r, tributary.Errorf(tributary.EINVALID, "could not read body: %v", err))
		return
	}
	p, err := ingest.DecodePayload(body)
	if err != nil {
		s.WriteError(w, r, err)
		return
	}
	job := &ingest.Job{Payload: p, UserAgent: r.UserAgent(), IP: clientip.FromRequest(r, s.Opt.TrustedProxies), Now: s.Opt.Now()}
	if bf := r.Header.Get("X-Tributary-Backfill-Time"); bf != "" {
		// Historical imports (the demo, migrations) may date events, but only with the admin token:
		// a browser must never choose its own time.
		t, err := time.Parse(time.RFC3339Nano, bf)
		if s.Opt.AdminToken == "" || subtle.ConstantTimeCompare([]byte(core.Bearer(r)), []byte(s.Opt.AdminToken)) != 1 {
			s.WriteError(w, r, tributary.Errorf(tributary.EFORBIDDEN, "X-Tributary-Backfill-Time needs the admin token"))
			return
		}
		if err != nil || t.After(job.Now.Add(time.Minute)) || t.Before(tributary.EarliestEventTime) {
			s.WriteError(w, r, tributary.Errorf(tributary.EINVALID, "X-Tributary-Backfill-Time must be an RFC 3339 time in the past, not before %s", tributary.EarliestEventTime.Format("2006-01-02")))
			return
		}
		job.Now = t
	}
	reason, err := s.Opt.Collect.Process(r.Context(), job)
	if err != nil {
		s.Opt.Metrics.IngestEvents.Inc("refused", tributary.ErrorCode(err))
		w.Header().Set("Retry-After", "2")
		s.WriteError(w, r, err)
		return
	}
	if reason == "" {
		s.Opt.Metrics.IngestEvents.Inc("accepted", "")
	} else {
		s.Opt.Metrics.IngestEvents.Inc("dropped", reason)
		core.NoteDrop(p.Site, reason, job.Detail, p.URL, job.Now) // the install check on the site's dashboard
		w.Header().Set("X-Tributary-Dropped", reason)
		if job.Detail != "" {
			w.Header().Set("X-Tributary-Dropped-Detail", job.Detail)
		}
		if s.Log.Enabled(r.Context(), slog.LevelDebug) {
			s.Log.LogAttrs(r.Context(), slog.LevelDebug, "event dropped", slog.String("reason", reason), slog.String("detail", job.Detail), slog.String("site", p.Site))
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(0))
	w.WriteHeader(http.StatusAccepted)
}
