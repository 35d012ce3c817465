package stats

import (
	"context"
	"slices"
	"sync"
)

// Cache shares what several queries of one page need (the money data of a range, which every panel of
// the dashboard reads, and the paying visitors by dimension) for the life of one request; it is never
// shared across requests, so no answer is ever stale. The page's queries may run concurrently (RunAll):
// each part is computed once, by the first query that needs it, while the others wait for it.
type Cache struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry
	// columns are the visit columns the page's queries group by (announced by RunAll), so parts
	// computed for every dimension at once cover those only.
	columns map[string]bool
	// visitGroups and visitAggs are what the page's unfiltered traffic queries group the visits by (a
	// visit column, or "" for none) and the aggregates they need (announced by RunAll), for pageVisits.
	visitGroups, visitAggs map[string]bool
	// moneyKeys are the page's statements of money by its visit columns that some panel reads (announced
	// by RunAll), so the KPIs read their totals from one only when a panel runs it anyway.
	moneyKeys map[string]bool
}

// panelMoney reports whether a panel of the page reads the money statement of key.
func (c *Cache) panelMoney(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.moneyKeys[key]
}

// pageColumns lists the announced visit columns (none: every one).
func (c *Cache) pageColumns() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for col := range c.columns {
		out = append(out, col)
	}
	return out
}

type cacheEntry struct {
	once sync.Once
	val  any
	err  error
}

type cacheKey struct{}

// WithCache returns a context whose queries share one Cache.
func WithCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheKey{}, &Cache{entries: map[string]*cacheEntry{}})
}

func cacheFrom(ctx context.Context) *Cache {
	c, _ := ctx.Value(cacheKey{}).(*Cache)
	return c
}

// get returns the value under key, computing it with load the first time; concurrent callers wait.
func (c *Cache) get(key string, load func() (any, error)) (any, error) {
	c.mu.Lock()
	en := c.entries[key]
	if en == nil {
		en = &cacheEntry{}
		c.entries[key] = en
	}
	c.mu.Unlock()
	en.once.Do(func() { en.val, en.err = load() })
	return en.val, en.err
}

// RunAll runs the queries of one page, at most workers at a time, sharing one Cache (ctx's, or a new
// one): while one query works in Go, another keeps the store busy. Results are in the order of qs; the
// first error stops the queries not yet started.
func (e *Engine) RunAll(ctx context.Context, qs []*Query, workers int) ([]*Result, error) {
	if cacheFrom(ctx) == nil {
		ctx = WithCache(ctx)
	}
	c := cacheFrom(ctx)
	c.mu.Lock()
	for _, q := range qs {
		byVisit := len(q.Dimensions) == 1 && visitDims[q.Dimensions[0]] != ""
		if byVisit {
			if c.columns == nil {
				c.columns = map[string]bool{}
			}
			c.columns[visitDims[q.Dimensions[0]]] = true
			if len(q.Filters) == 0 && moneyInSQL(q) && !e.moneyInGo && slices.ContainsFunc(q.Metrics, func(m string) bool { return metricFamily[m] == Revenue }) {
				if c.moneyKeys == nil {
					c.moneyKeys = map[string]bool{}
				}
				c.moneyKeys[pageMoneyKey(q, q.From, q.To)] = true
			}
		}
		var aggs []string
		for _, m := range q.Metrics {
			aggs = append(aggs, trafficAggregates[m]...)
		}
		if len(aggs) > 0 && len(q.Filters) == 0 && (byVisit || len(q.Dimensions) == 0) {
			if c.visitGroups == nil {
				c.visitGroups, c.visitAggs = map[string]bool{}, map[string]bool{"visits": true}
			}
			group := ""
			if byVisit {
				group = visitDims[q.Dimensions[0]]
			}
			c.visitGroups[group] = true
			for _, agg := range aggs {
				c.visitAggs[agg] = true
			}
		}
	}
	c.mu.Unlock()
	if workers < 1 {
		workers = 1
	}
	out := make([]*Result, len(qs))
	errs := make([]error, len(qs))
	var next int
	var failed bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := failed || i >= len(qs)
				mu.Unlock()
				if stop {
					return
				}
				res, err := e.Run(ctx, qs[i])
				mu.Lock()
				out[i], errs[i] = res, err
				failed = failed || err != nil
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
