package web

import (
	"context"
	"sync"
	"time"

	"github.com/tributary/tributary"
)

// endpointTTL is how long a webhook endpoint (with its secrets) is served from memory. Every delivery
// needs it before anything else, and a store round trip per delivery is a large share of the
// acknowledgement time. Changes made through this process apply at once; on other nodes of a cluster a
// rotated secret or deleted endpoint applies within the TTL, which rotation tolerates because the old
// secret stays valid while the new one is added.
const endpointTTL = 5 * time.Second

// endpointCache holds recently used endpoints; misses are not cached, so unknown ids always reach the
// store and cannot grow the map.
type endpointCache struct {
	mu sync.Mutex
	m  map[string]cachedEndpoint
}

type cachedEndpoint struct {
	ep      tributary.StripeEndpoint
	expires time.Time
}

func (c *endpointCache) get(ctx context.Context, meta tributary.MetaStore, id string, now time.Time) (*tributary.StripeEndpoint, error) {
	c.mu.Lock()
	if e, ok := c.m[id]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		ep := e.ep
		ep.Secrets = append([]string(nil), e.ep.Secrets...)
		return &ep, nil
	}
	c.mu.Unlock()
	ep, err := meta.StripeEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedEndpoint{}
	}
	cp := *ep
	cp.Secrets = append([]string(nil), ep.Secrets...)
	c.m[id] = cachedEndpoint{ep: cp, expires: now.Add(endpointTTL)}
	c.mu.Unlock()
	return ep, nil
}

// forget drops one endpoint, or every endpoint when id is empty (a site was deleted).
func (c *endpointCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == "" {
		c.m = nil
		return
	}
	delete(c.m, id)
}
