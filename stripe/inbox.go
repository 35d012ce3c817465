package stripe

import (
	"context"

	"github.com/tributary/tributary/inbox"

	"github.com/tributary/tributary"
)

// Handler returns the inbox handler that processes a stored delivery with p.
func (p *Processor) Handler() func(ctx context.Context, d *tributary.Delivery) (string, error) {
	return func(ctx context.Context, d *tributary.Delivery) (string, error) {
		site, err := p.Meta.Site(ctx, d.SiteID)
		if err != nil {
			return "", err
		}
		return p.Apply(ctx, site, d.Payload)
	}
}

// BatchHandler returns the inbox batch handler: the claimed deliveries are processed as one unit of
// work (ApplyBatch), their sites read once each.
func (p *Processor) BatchHandler() func(ctx context.Context, ds []*tributary.Delivery) []inbox.Outcome {
	return func(ctx context.Context, ds []*tributary.Delivery) []inbox.Outcome {
		out := make([]inbox.Outcome, len(ds))
		sites := map[string]*tributary.Site{}
		var items []Item
		var at []int
		for i, d := range ds {
			site, ok := sites[d.SiteID]
			if !ok {
				s, err := p.Meta.Site(ctx, d.SiteID)
				if err != nil {
					out[i].Err = err
					continue
				}
				sites[d.SiteID], site = s, s
			}
			items = append(items, Item{Site: site, Raw: d.Payload})
			at = append(at, i)
		}
		for k, o := range p.ApplyBatch(ctx, items) {
			out[at[k]] = inbox.Outcome{Status: o.Status, Err: o.Err}
		}
		return out
	}
}
