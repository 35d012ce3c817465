package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSettingsForms covers revenue events, event classification and rate import through the UI forms.
func TestSettingsForms(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	_, page, _ := b.get("/setup")
	b.post("/setup", url.Values{"email": {"o@example.com"}, "password": {"correct horse"}, "password_confirm": {"correct horse"}}, b.token(page))
	siteID, key := e.siteWithKey("USD", "events:write")
	e.do("POST", "/api/v1/events", key, `{"event_id":"c1","event_name":"trial_started"}`)
	_, page, _ = b.get("/sites/" + siteID + "/settings")
	tok := b.token(page)
	if !strings.Contains(page, "trial_started") {
		t.Fatal("catalog does not list the server event")
	}
	if st, body, _ := b.post("/sites/"+siteID+"/revenue-events", url.Values{"event_name": {"order"}, "unit": {"cents"}}, tok); st != 400 || !strings.Contains(body, "unit must be") {
		t.Fatalf("bad unit: %d", st)
	}
	if st, _, _ := b.post("/sites/"+siteID+"/revenue-events", url.Values{"event_name": {"order"}, "amount_path": {"metadata.total"}, "unit": {"major"}}, tok); st != http.StatusSeeOther {
		t.Fatalf("revenue event: %d", st)
	}
	rs, _ := e.store.RevenueEvents(context.Background(), siteID)
	if len(rs) != 1 || rs[0].Unit != "major" || rs[0].AmountPath != "metadata.total" {
		t.Fatalf("stored revenue events = %+v", rs)
	}
	if st, _, _ := b.post("/sites/"+siteID+"/events/trial_started/kind", url.Values{"kind": {"conversion"}}, tok); st != http.StatusSeeOther {
		t.Fatalf("kind: %d", st)
	}
	if kinds, _ := e.store.EventKinds(context.Background(), siteID); kinds["trial_started"] != "conversion" {
		t.Fatalf("kinds = %v", kinds)
	}
	if st, body, _ := b.post("/sites/"+siteID+"/exchange-rates", url.Values{"csv": {"Date,USD\nyesterday,1\n"}}, tok); st != 400 || !strings.Contains(body, "line") {
		t.Fatalf("bad rates: %d", st)
	}
	if st, body, _ := b.post("/sites/"+siteID+"/exchange-rates", url.Values{"csv": {ecbDaily}}, tok); st != 200 || !strings.Contains(body, "Imported 30 rates up to 2026-11-20") {
		t.Fatalf("rates: %d", st)
	}
}
