package stripe

import (
	"context"

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
