package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/s2s"
)

// keyFor authorises an API-key request for scope and applies the key's rate limit, cost tokens at once.
func (s *Server) keyFor(w http.ResponseWriter, r *http.Request, scope string, cost int) (*tributary.APIKey, *tributary.Site, error) {
	p := principalFrom(r.Context())
	if p == nil || p.key == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tributary"`)
		return nil, nil, tributary.Errorf(tributary.EUNAUTHORIZED, "send the site's API key as x-api-key: KEY or Authorization: Bearer KEY")
	}
	k := p.key
	if !k.HasScope(scope) {
		return nil, nil, tributary.Errorf(tributary.EFORBIDDEN, "this API key lacks the %s scope", scope)
	}
	if err := s.limitKey(w, r, k, cost); err != nil {
		return nil, nil, err
	}
	site, err := s.opt.Meta.Site(r.Context(), k.SiteID)
	if err != nil {
		return nil, nil, err
	}
	return k, site, nil
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tributary.Errorf(tributary.ETOOLARGE, "request body is larger than %d bytes", limit)
		}
		return nil, tributary.Errorf(tributary.EINVALID, "could not read body: %v", err)
	}
	return b, nil
}

// handleServerEvent is POST /api/v1/events.
func (s *Server) handleServerEvent(w http.ResponseWriter, r *http.Request) error {
	_, site, err := s.keyFor(w, r, tributary.ScopeEventsWrite, 1)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, s2s.MaxMetadataBytes+16<<10)
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
	writeJSON(w, http.StatusOK, res)
	return nil
}

// handleServerEventBatch is POST /api/v1/events/batch: up to 500 events, one result each, partial
// success allowed. The batch costs one rate-limit token per event.
func (s *Server) handleServerEventBatch(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, s2s.MaxBatch*(s2s.MaxMetadataBytes/8+4<<10))
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
	_, site, err := s.keyFor(w, r, tributary.ScopeEventsWrite, len(batch.Events))
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
				s.log.LogAttrs(r.Context(), slog.LevelError, "batch event failed", slog.String("site", site.ID), slog.Int("index", i), slog.Any("err", err))
			}
			res = s2s.Result{Error: &s2s.ErrorBody{Code: tributary.ErrorCode(err), Message: tributary.ErrorMessage(err), Field: tributary.ErrorField(err)}}
			failed++
		} else if res.Processed {
			processed++
		}
		results[i] = res
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "processed": processed, "failed": failed})
	return nil
}

func (s *Server) serverEvents() (ServerEventService, error) {
	if s.opt.ServerEvents == nil {
		return nil, tributary.Errorf(tributary.ENOTIMPL, "server-to-server events are not configured on this server")
	}
	return s.opt.ServerEvents, nil
}

type revenueEventInput struct {
	EventName    string `json:"event_name"`
	AmountPath   string `json:"amount_path"`
	Unit         string `json:"unit"`
	CurrencyPath string `json:"currency_path"`
}

func (s *Server) putRevenueEvent(r *http.Request, siteID string, in revenueEventInput) (*tributary.RevenueEvent, error) {
	if _, err := s.opt.Meta.Site(r.Context(), siteID); err != nil {
		return nil, err
	}
	in.EventName = strings.TrimSpace(in.EventName)
	if in.EventName == "" || len(in.EventName) > 120 {
		return nil, tributary.FieldError("event_name", "event_name is required (1 to 120 characters)")
	}
	if in.AmountPath == "" {
		in.AmountPath = "metadata.amount"
	}
	if in.CurrencyPath == "" {
		in.CurrencyPath = "metadata.currency"
	}
	for field, p := range map[string]string{"amount_path": in.AmountPath, "currency_path": in.CurrencyPath} {
		if strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") || strings.ContainsAny(p, " []") || len(p) > 200 {
			return nil, tributary.FieldError(field, "%s must be a dot path such as metadata.amount", field)
		}
	}
	switch in.Unit {
	case "":
		in.Unit = tributary.UnitMinor
	case tributary.UnitMinor, tributary.UnitMajor:
	default:
		return nil, tributary.FieldError("unit", "unit must be minor (4999 = 49.99) or major (49.99)")
	}
	re := tributary.RevenueEvent{SiteID: siteID, Name: in.EventName, AmountPath: in.AmountPath, Unit: in.Unit, CurrencyPath: in.CurrencyPath, UpdatedAt: s.opt.Now().UTC()}
	if err := s.opt.Meta.PutRevenueEvent(r.Context(), re); err != nil {
		return nil, err
	}
	return &re, nil
}

func (s *Server) handleListRevenueEvents(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.opt.Meta.Site(r.Context(), id); err != nil {
		return err
	}
	list, err := s.opt.Meta.RevenueEvents(r.Context(), id)
	if err != nil {
		return err
	}
	if list == nil {
		list = []tributary.RevenueEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"revenue_events": list})
	return nil
}

func (s *Server) handlePutRevenueEvent(w http.ResponseWriter, r *http.Request) error {
	var in revenueEventInput
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	re, err := s.putRevenueEvent(r, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, re)
	return nil
}

func (s *Server) handleDeleteRevenueEvent(w http.ResponseWriter, r *http.Request) error {
	if err := s.opt.Meta.DeleteRevenueEvent(r.Context(), r.PathValue("id"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// catalog merges the seen event names with their classification.
func (s *Server) catalog(r *http.Request, siteID string) ([]tributary.CatalogEntry, error) {
	names, err := s.opt.Events.EventNames(r.Context(), siteID)
	if err != nil {
		return nil, err
	}
	kinds, err := s.opt.Meta.EventKinds(r.Context(), siteID)
	if err != nil {
		return nil, err
	}
	out := []tributary.CatalogEntry{}
	for _, n := range names {
		if n.Name == tributary.PageviewName {
			continue
		}
		n.Kind = kinds[n.Name]
		if n.Kind == "" {
			n.Kind = tributary.KindUnclassified
		}
		out = append(out, n)
	}
	return out, nil
}

func (s *Server) handleCatalog(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.opt.Meta.Site(r.Context(), id); err != nil {
		return err
	}
	c, err := s.catalog(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": c})
	return nil
}

func (s *Server) setKind(r *http.Request, siteID, name, kind string) error {
	if _, err := s.opt.Meta.Site(r.Context(), siteID); err != nil {
		return err
	}
	switch kind {
	case tributary.KindConversion, tributary.KindGoal, tributary.KindIgnored:
	case tributary.KindUnclassified:
		kind = "" // removes the classification
	default:
		return tributary.FieldError("kind", "kind must be unclassified, conversion, goal or ignored")
	}
	if name == "" || len(name) > 120 || tributary.CleanText(name, 0) != name {
		return tributary.FieldError("name", "event name is required (1 to 120 characters of text)")
	}
	return s.opt.Meta.SetEventKind(r.Context(), siteID, name, kind)
}

func (s *Server) handleSetKind(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Kind string `json:"kind"`
	}
	if err := decodeJSON(w, r, s.opt.MaxBodyBytes, &in); err != nil {
		return err
	}
	if err := s.setKind(r, r.PathValue("id"), r.PathValue("name"), in.Kind); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": r.PathValue("name"), "kind": in.Kind})
	return nil
}

// itoaSeconds renders a wait as whole seconds, at least 1.
func itoaSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(math.Max(d.Seconds(), 1))))
}
