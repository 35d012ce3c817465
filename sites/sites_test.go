package sites_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/sites"
	"github.com/tributary/tributary/store/duckdb"
)

// facts records which sites' facts were deleted, and may fail.
type facts struct {
	tributary.EventStore
	deleted []string
	fail    error
}

func (f *facts) DeleteSiteData(ctx context.Context, id string) error {
	if f.fail != nil {
		return f.fail
	}
	f.deleted = append(f.deleted, id)
	return nil
}

// TestDeleteSiteRemovesFactsFirst pins the order of a deletion: an unknown site touches nothing, a
// failure to delete the facts keeps the site (deleting again finishes the job), and a deletion removes
// the facts and then the record.
func TestDeleteSiteRemovesFactsFirst(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := &facts{}
	svc := &sites.Service{Meta: st, Events: ev}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := svc.CreateSite(ctx, &tributary.Site{ID: "s1", Domain: "example.com", Currency: "USD", Timezone: "UTC", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteSite(ctx, "nope"); tributary.ErrorCode(err) != tributary.ENOTFOUND || len(ev.deleted) != 0 {
		t.Fatalf("unknown site: %v, facts deleted for %v", err, ev.deleted)
	}
	ev.fail = errors.New("store down")
	if err := svc.DeleteSite(ctx, "s1"); err == nil {
		t.Fatal("deletion reported success while the facts stayed")
	}
	if _, err := svc.Site(ctx, "s1"); err != nil {
		t.Fatalf("site gone although its facts stayed: %v", err)
	}
	ev.fail = nil
	if err := svc.DeleteSite(ctx, "s1"); err != nil || len(ev.deleted) != 1 {
		t.Fatalf("delete: %v, facts deleted for %v", err, ev.deleted)
	}
	if _, err := svc.Site(ctx, "s1"); tributary.ErrorCode(err) != tributary.ENOTFOUND {
		t.Fatalf("deleted site still read: %v", err)
	}
}
