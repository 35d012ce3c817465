// Package tributary holds the domain of Tributary: the types every other package speaks (sites, events,
// ledger entries, identities, money), the store interfaces the backends implement, and the one coded
// error type that the web layer maps to HTTP statuses. It depends on the standard library only.
package tributary

import (
	"errors"
	"fmt"
)

// Error codes. The web package maps each to one HTTP status; nothing else does.
const (
	EINVALID      = "invalid"         // the request is malformed or a field is wrong (400)
	EUNAUTHORIZED = "unauthorized"    // no or wrong credentials (401)
	EFORBIDDEN    = "forbidden"       // credentials lack the needed scope (403)
	ENOTFOUND     = "not_found"       // the object does not exist (404)
	ECONFLICT     = "conflict"        // the object exists or the state forbids the change (409)
	ETOOLARGE     = "too_large"       // the body or a field exceeds a limit (413)
	ERATELIMIT    = "rate_limited"    // too many requests (429)
	EUNAVAILABLE  = "unavailable"     // a store or dependency cannot serve now; retry later (503)
	EINTERNAL     = "internal"        // a bug or an unexpected failure (500)
	ENOTIMPL      = "not_implemented" // the operation is not supported by this backend (501)
)

// Error is the coded error of the domain. Message is safe to show to the user; Field names the input
// field at fault, when there is one; Err keeps the underlying cause for logs.
type Error struct {
	Code    string
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Err != nil && e.Message != "" {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a coded error with a formatted, user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first coded error in err's chain, EINTERNAL for any other error and
// "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the coded error's message, or a generic text for
// uncoded errors so internals never leak to clients.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Code
	}
	return "internal error"
}

// ErrorField returns the input field named by the first coded error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
