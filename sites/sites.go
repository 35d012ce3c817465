// Package sites is the site service the HTTP layer calls: a site's record lives in the MetaStore and its
// facts in the EventStore, and deleting a site removes both, facts first.
package sites

import (
	"context"
	"fmt"

	"github.com/tributary/tributary"
)

// Service keeps sites over the two stores. In serve, Meta is the caching wrapper (metacache.Store), so
// a change or deletion reaches the ingest site cache and the endpoint cache at once.
type Service struct {
	Meta   tributary.MetaStore
	Events tributary.EventStore
}

// Site returns one site, ENOTFOUND for an unknown id.
func (s *Service) Site(ctx context.Context, id string) (*tributary.Site, error) {
	return s.Meta.Site(ctx, id)
}

// Sites lists every site.
func (s *Service) Sites(ctx context.Context) ([]*tributary.Site, error) {
	return s.Meta.Sites(ctx)
}

// CreateSite stores a new, already validated site.
func (s *Service) CreateSite(ctx context.Context, st *tributary.Site) error {
	return s.Meta.CreateSite(ctx, st)
}

// UpdateSite stores a changed, already validated site.
func (s *Service) UpdateSite(ctx context.Context, st *tributary.Site) error {
	return s.Meta.UpdateSite(ctx, st)
}

// DeleteSite removes a site's facts (events, ledger, identities) and then the site with its keys,
// endpoints and deliveries. Facts go first: a failure between the two leaves a site without data,
// which deleting again finishes, never data without a site.
func (s *Service) DeleteSite(ctx context.Context, id string) error {
	if _, err := s.Meta.Site(ctx, id); err != nil {
		return err
	}
	if err := s.Events.DeleteSiteData(ctx, id); err != nil {
		return fmt.Errorf("delete site %s: facts: %w", id, err)
	}
	if err := s.Meta.DeleteSite(ctx, id); err != nil {
		return fmt.Errorf("delete site %s: %w", id, err)
	}
	return nil
}
