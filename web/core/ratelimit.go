package core

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/tributary/tributary"
)

// LimitKey takes cost tokens from the key's bucket (shared by every node when the limiter is the
// PostgreSQL store), sets the RateLimit headers, and refuses with 429 and Retry-After when empty. A
// limiter that cannot answer fails the request with 503 rather than letting it through unlimited.
func (s *Server) LimitKey(w http.ResponseWriter, r *http.Request, k *tributary.APIKey, cost int) error {
	d, err := s.Opt.RateLimiter.TakeTokens(r.Context(), k.ID, k.RateLimit, cost, s.Opt.Now())
	if err != nil {
		return fmt.Errorf("rate limit of key %s: %w", k.ID, err)
	}
	setRateHeaders(w.Header(), k.RateLimit, d.Remaining, d.Reset)
	if !d.OK {
		w.Header().Set("Retry-After", itoaSeconds(d.Retry))
		return tributary.Errorf(tributary.ERATELIMIT, "rate limit of %d requests a minute exceeded for this API key", k.RateLimit)
	}
	return nil
}

func setRateHeaders(h http.Header, limit, remaining int, reset time.Duration) {
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(reset.Seconds()))))
}
