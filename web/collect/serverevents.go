package collect

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/s2s"
	"github.com/tributary/tributary/web/core"
)

// HandleServerEvent is POST /api/v1/events.
func (s *Collector) HandleServerEvent(w http.ResponseWriter, r *http.Request) error {
	_, site, err := s.KeyFor(w, r, tributary.ScopeEventsWrite, 1)
	if err != nil {
		return err
	}
	body, err := core.ReadBody(w, r, s2s.MaxMetadataBytes+16<<10)
	if err != nil {
		return err
	}
	p, err := s.serverEvents()
	if err != nil {
		return err
	}
	res, err := p.Process(r.Context(), site, body)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, res)
	return nil
}

// HandleServerEventBatch is POST /api/v1/events/batch: up to 500 events, one result each, partial
// success allowed. The batch costs one rate-limit token per event.
func (s *Collector) HandleServerEventBatch(w http.ResponseWriter, r *http.Request) error {
	body, err := core.ReadBody(w, r, s2s.MaxBatch*(s2s.MaxMetadataBytes/8+4<<10))
	if err != nil {
		return err
	}
	var batch struct {
		Events []json.RawMessage `json:"events"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return tributary.FieldError(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field; send {\"events\": [...]}")
		}
		return tributary.Errorf(tributary.EINVALID, "malformed JSON: %v; send {\"events\": [...]}", err)
	}
	if len(batch.Events) == 0 {
		return tributary.FieldError("events", "events must hold 1 to %d events", s2s.MaxBatch)
	}
	if len(batch.Events) > s2s.MaxBatch {
		return &tributary.Error{Code: tributary.ETOOLARGE, Field: "events", Message: "a batch holds at most 500 events"}
	}
	_, site, err := s.KeyFor(w, r, tributary.ScopeEventsWrite, len(batch.Events))
	if err != nil {
		return err
	}
	p, err := s.serverEvents()
	if err != nil {
		return err
	}
	results := make([]s2s.Result, len(batch.Events))
	processed, failed := 0, 0
	for i, raw := range batch.Events {
		res, err := p.Process(r.Context(), site, raw)
		if err != nil {
			if tributary.ErrorCode(err) == tributary.EUNAVAILABLE || tributary.ErrorCode(err) == tributary.EINTERNAL {
				s.Log.LogAttrs(r.Context(), slog.LevelError, "batch event failed", slog.String("site", site.ID), slog.Int("index", i), slog.Any("err", err))
			}
			res = s2s.Result{Error: &s2s.ErrorBody{Code: tributary.ErrorCode(err), Message: tributary.ErrorMessage(err), Field: tributary.ErrorField(err)}}
			failed++
		} else if res.Processed {
			processed++
		}
		results[i] = res
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"results": results, "processed": processed, "failed": failed})
	return nil
}

func (s *Collector) serverEvents() (core.ServerEventService, error) {
	if s.Opt.ServerEvents == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "server-to-server events are not configured on this server")
	}
	return s.Opt.ServerEvents, nil
}
