package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var goalRowRE = regexp.MustCompile(`<tr><td title="([^"]*)">[^<]*<svg[^>]*><rect[^>]*></rect></svg></td><td>([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td></tr>`)

// TestGoalsPanel: the dashboard lists custom events by kind (conversions, goals, then unclassified;
// ignored ones hidden) with their visitors, events and conversion rate over all visitors; the catalog's
// kind picker defaults to "unclassified", and choosing it removes a classification.
func TestGoalsPanel(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID, _ := e.siteWithKey("USD", "events:write")
	// Five visitors on 11-19: A signs up twice, B signs up and clicks buy, D subscribes to the
	// newsletter (ignored), E plays a video (unclassified); C only looks.
	type ev struct{ who, name string }
	evs := []ev{{"A", "pageview"}, {"A", "signup"}, {"A", "signup"}, {"B", "pageview"}, {"B", "signup"}, {"B", "purchase_click"},
		{"C", "pageview"}, {"D", "pageview"}, {"D", "newsletter"}, {"E", "pageview"}, {"E", "video_play"}}
	for i, x := range evs {
		e.hit(siteID, fmt.Sprintf("2026-11-19T10:%02d:00Z", i), strings.Repeat(x.who, 20), x.name)
	}
	waitFor(t, "the events", func() bool {
		var n int
		e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE site_id = $1`, siteID).Scan(&n)
		return n == len(evs)
	})
	for name, kind := range map[string]string{"signup": "conversion", "purchase_click": "goal", "newsletter": "ignored"} {
		if r := e.do("PUT", "/api/v1/sites/"+siteID+"/events/"+name, adminToken, `{"kind":"`+kind+`"}`); r.status != 200 {
			t.Fatalf("set %s: %d %s", name, r.status, r.body)
		}
	}
	_, page, _ := b.get("/sites/" + siteID)
	panel, _, _ := strings.Cut(page[strings.Index(page, `id="goals"`):], "</section>")
	var got []string
	for _, m := range goalRowRE.FindAllStringSubmatch(panel, -1) {
		got = append(got, strings.Join(m[1:], " "))
	}
	want := []string{
		"signup conversion 2 3 40.0% —",
		"purchase_click goal 1 1 20.0% —",
		"video_play unclassified 1 1 20.0% —",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("goals panel:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The query API answers the same by Plausible's event:goal dimension (ignored names left out);
	// conversion_rate by goal is each goal's visitors over all five.
	q := `{"site_id":"` + siteID + `","metrics":["visitors","events"],"dimensions":["event:goal"],"date_range":["2026-11-19","2026-11-19"],"order_by":[["visitors","desc"],["event:goal","asc"]]}`
	r := e.do("POST", "/api/v1/query", adminToken, q)
	if r.status != 200 {
		t.Fatalf("event:goal query: %d %s", r.status, r.body)
	}
	golden(t, "query_goals.json", r.body)
	if r := e.do("POST", "/api/v1/query", adminToken, strings.Replace(q, `"events"]`, `"conversion_rate"]`, 1)); r.status != 200 || !strings.Contains(string(r.body), `"dimensions":["signup"],"metrics":[2,40]`) {
		t.Errorf("conversion_rate by event:goal: %d %s", r.status, r.body)
	}

	// The catalog: an unclassified name shows "unclassified" selected (not the first kind), and
	// choosing unclassified removes a kind.
	_, settings, _ := b.get("/sites/" + siteID + "/settings")
	if !regexp.MustCompile(`id="kind-video_play" name="kind"><option value="unclassified" selected>`).MatchString(settings) {
		t.Error("the catalog does not show video_play as unclassified")
	}
	if r := e.do("PUT", "/api/v1/sites/"+siteID+"/events/signup", adminToken, `{"kind":"unclassified"}`); r.status != 200 {
		t.Fatalf("unclassify: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/sites/"+siteID+"/events/signup", adminToken, `{"kind":"sale"}`); r.status != 400 || !strings.Contains(string(r.body), "unclassified, conversion, goal or ignored") {
		t.Errorf("unknown kind: %d %s", r.status, r.body)
	}
	_, page, _ = b.get("/sites/" + siteID)
	if !strings.Contains(page, `<td title="signup">signup`) || !strings.Contains(page, "<td>unclassified</td>") {
		t.Error("after unclassifying, signup is not listed as unclassified")
	}
}
