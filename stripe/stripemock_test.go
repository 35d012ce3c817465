package stripe

import (
	"context"
	"testing"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/internal/testenv"
	"github.com/tributary/tributary/ledger"
	"github.com/tributary/tributary/secretbox"
	"github.com/tributary/tributary/store/duckdb"
	"github.com/tributary/tributary/stripe/stripeapi"
)

// TestAgainstStripeMock runs the connection, a full history import, the Events-API catch-up and the
// disconnection against Stripe's own OpenAPI-driven mock: every request Tributary sends must pass
// stripe-mock's validation of Stripe's API, and every answer must decode.
func TestAgainstStripeMock(t *testing.T) {
	base := testenv.StartStripeMock(t)
	ctx := context.Background()
	st, err := duckdb.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	box, _ := secretbox.Load("", t.TempDir())
	p := &Processor{Meta: st, Events: st, Ledger: ledger.New(st, st)}
	var errs []error
	s := &Syncer{Meta: st, Processor: p, Box: box, BaseURL: "https://stats.example.com",
		Client: func(key string) *stripeapi.Client {
			return &stripeapi.Client{BaseURL: base, Key: key, Rate: 1e6, MaxRetries: 1}
		}}
	site := &tributary.Site{ID: "mock", Domain: "shop.example", Currency: "USD", Timezone: "UTC"}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	a, err := s.Connect(ctx, site, "rk_test_stripemock0001", 12, "")
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if a.StripeEndpoint == "" || a.ID == "" {
		t.Fatalf("account %+v", a)
	}
	for i := 0; i < 10; i++ {
		if _, err := s.RunOnce(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	a, _ = s.Account(ctx, site.ID, a.ID)
	if a.LastError != "" || len(errs) > 0 || a.Import.Finished.IsZero() {
		t.Fatalf("sync against stripe-mock: %v; last error %q; import %+v", errs, a.LastError, a.Import)
	}
	for _, typ := range importTypes {
		if st := a.Import.Types[typ.name]; st == nil || !st.Done || st.Count == 0 {
			t.Errorf("%s: %+v", typ.name, st)
		}
	}
	if _, err := s.Disconnect(ctx, site.ID, a.ID); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
}
