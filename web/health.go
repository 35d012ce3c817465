package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/web/core"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	core.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Opt.Version})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Opt.Meta.Ping(r.Context()); err != nil {
		s.WriteError(w, r, err)
		return
	}
	if err := s.Opt.Events.Ping(r.Context()); err != nil {
		s.WriteError(w, r, err)
		return
	}
	if s.Opt.Writer != nil {
		// A store that answers pings may still refuse writes (disk full, a hung write): events then
		// pile up in memory, so the node is not ready.
		if h := s.Opt.Writer.Health(); h.Stuck {
			s.WriteError(w, r, &tributary.Error{Code: tributary.EUNAVAILABLE,
				Message: fmt.Sprintf("ingest writer stuck: event writes failing for %s (%d held)", h.FailingFor.Round(time.Second), s.Opt.Writer.Pending()),
				Err:     errors.New(h.LastError)})
			return
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
