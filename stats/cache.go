package stats

import "context"

// Cache shares what several queries of one page need (the money data of a range, which every panel of
// the dashboard reads) for the life of one request; it is never shared across requests, so no answer
// is ever stale.
type Cache struct {
	money  map[string]*moneyData
	paying map[string]map[string]map[string]int64 // range → visit column → value → paying visitors
}

type cacheKey struct{}

// WithCache returns a context whose queries share one Cache.
func WithCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheKey{}, &Cache{money: map[string]*moneyData{}, paying: map[string]map[string]map[string]int64{}})
}

func cacheFrom(ctx context.Context) *Cache {
	c, _ := ctx.Value(cacheKey{}).(*Cache)
	return c
}
