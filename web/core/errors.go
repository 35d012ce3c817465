package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/tributary/tributary"
)

// statusOf is the one mapping from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	tributary.EINVALID:      http.StatusBadRequest,
	tributary.EUNAUTHORIZED: http.StatusUnauthorized,
	tributary.EFORBIDDEN:    http.StatusForbidden,
	tributary.ENOTFOUND:     http.StatusNotFound,
	tributary.ECONFLICT:     http.StatusConflict,
	tributary.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	tributary.ERATELIMIT:    http.StatusTooManyRequests,
	tributary.EUNAVAILABLE:  http.StatusServiceUnavailable,
	tributary.ENOTIMPL:      http.StatusNotImplemented,
	tributary.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for err.
func ErrorStatus(err error) int {
	if st, ok := statusOf[tributary.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// WriteError answers {"error":{"code","message","field"}} and logs server-side failures once, here.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	st := ErrorStatus(err)
	if st >= 500 {
		s.Log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", st), slog.Any("err", err))
	}
	var b errorBody
	b.Error.Code = tributary.ErrorCode(err)
	b.Error.Message = tributary.ErrorMessage(err)
	b.Error.Field = tributary.ErrorField(err)
	if st == http.StatusServiceUnavailable || st == http.StatusTooManyRequests {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "5")
		}
	}
	WriteJSON(w, st, b)
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// DecodeJSON reads one JSON object into v, rejecting unknown fields, trailing data and oversize bodies
// with coded errors that name the problem.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "text/plain") {
		return tributary.Errorf(tributary.EINVALID, "Content-Type must be application/json, got %q", ct)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return jsonError(err, limit)
	}
	// Text with NUL bytes would be refused by PostgreSQL (a 500) or stored invisibly: a 400 here, once
	// for every management API.
	if hasEscapedNUL(raw) {
		return tributary.Errorf(tributary.EINVALID, "request body holds a NUL character (\u0000) in a string; remove it")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err, limit)
		}
		return tributary.Errorf(tributary.EINVALID, "request body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return tributary.Errorf(tributary.ETOOLARGE, "request body is larger than %d bytes", limit)
	case errors.Is(err, io.EOF):
		return tributary.Errorf(tributary.EINVALID, "request body is empty; send a JSON object")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return tributary.Errorf(tributary.EINVALID, "malformed JSON: %v", err)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return tributary.Errorf(tributary.EINVALID, "request body must be a JSON object")
		}
		return tributary.FieldError(field, "field %q must be %s, got %s", field, te.Type.String(), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return tributary.FieldError(name, "unknown field %q", name)
	default:
		return tributary.Errorf(tributary.EINVALID, "malformed JSON: %v", err)
	}
}

// hasEscapedNUL reports whether a JSON text holds the escape \u0000 (a raw NUL is already a syntax
// error); an escaped backslash before "u0000" is not one.
func hasEscapedNUL(b []byte) bool {
	for i := 0; i+5 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return true
		}
		i++ // skip the escaped character: \\u0000 is an escaped backslash, then text
	}
	return false
}

// UncleanField names the first form field whose value holds a NUL byte or invalid UTF-8, if any.
func UncleanField(form url.Values) string {
	for k, vs := range form {
		for _, v := range vs {
			if tributary.CleanText(v, 0) != v {
				return k
			}
		}
	}
	return ""
}

// HandleAPINotFound answers /api/.
func (s *Server) HandleAPINotFound(w http.ResponseWriter, r *http.Request) {
	s.WriteError(w, r, tributary.Errorf(tributary.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
}
