// Package stripe reads Stripe: webhook signatures, version-tolerant event decoding, and the state-based
// processor that turns Stripe objects into ledger entries.
package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Signature errors; their texts are shown in the delivery log, so they say what to check.
var (
	ErrNoSignature     = errors.New("missing Stripe-Signature header")
	ErrBadHeader       = errors.New("malformed Stripe-Signature header (want t=…,v1=…)")
	ErrNoV1            = errors.New("Stripe-Signature has no v1 signature")
	ErrBadSignature    = errors.New("no v1 signature matches the endpoint's signing secret (check the whsec_ secret of this endpoint)")
	ErrStaleTimestamp  = errors.New("signature timestamp is outside the tolerance (replayed or clock skew)")
	ErrNoActiveSecrets = errors.New("the endpoint has no signing secret")
)

// VerifySignature checks a Stripe-Signature header against each active secret: HMAC-SHA256 of
// "t.payload", constant-time comparison, and |now − t| within tolerance.
func VerifySignature(payload []byte, header string, secrets []string, tolerance time.Duration, now time.Time) error {
	if strings.TrimSpace(header) == "" {
		return ErrNoSignature
	}
	if len(secrets) == 0 {
		return ErrNoActiveSecrets
	}
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadHeader
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return ErrBadHeader
			}
			ts = n
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				continue // a garbled v1 among good ones is ignored, as Stripe's libraries do
			}
			sigs = append(sigs, b)
		}
	}
	if ts < 0 {
		return ErrBadHeader
	}
	if len(sigs) == 0 {
		return ErrNoV1
	}
	matched := false
	for _, secret := range secrets {
		want := sign(payload, secret, ts)
		for _, got := range sigs {
			if hmac.Equal(want, got) {
				matched = true
			}
		}
	}
	if !matched {
		return ErrBadSignature
	}
	age := now.Sub(time.Unix(ts, 0))
	if tolerance > 0 && (age > tolerance || age < -tolerance) {
		return fmt.Errorf("%w: %s", ErrStaleTimestamp, age.Truncate(time.Second))
	}
	return nil
}

func sign(payload []byte, secret string, ts int64) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}

// SignPayload returns a Stripe-Signature header for payload, as Stripe would send it (for tests, the
// demo and the load generator).
func SignPayload(payload []byte, secret string, t time.Time) string {
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + hex.EncodeToString(sign(payload, secret, t.Unix()))
}
