package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var funnelRowRE = regexp.MustCompile(`<tr><td title="([^"]*)">[^<]*<svg[^>]*><rect width="([^"]*)"[^>]*></rect></svg></td><td>([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td></tr>`)

// TestFunnelPanel: the dashboard's funnel panel shows each step's visitors, conversion from the first
// step and drop-off for the steps in the URL, under the dashboard's filters; saved, the funnel is the
// site's default; a bad definition says what is wrong.
func TestFunnelPanel(t *testing.T) {
	e := newEnv(t)
	b := loggedIn(t, e)
	siteID := funnelSite(t, e) // see funnel_test.go: 4, 3, 1 of /pricing → signup → purchase
	panel := func(query string) (rows []string, html string) {
		t.Helper()
		st, page, _ := b.get("/sites/" + siteID + "?range=7d" + query)
		if st != 200 {
			t.Fatalf("dashboard: %d", st)
		}
		i := strings.Index(page, `id="funnel"`)
		if i < 0 {
			t.Fatal("no funnel panel")
		}
		html, _, _ = strings.Cut(page[i:], "</section>")
		for _, m := range funnelRowRE.FindAllStringSubmatch(html, -1) {
			rows = append(rows, strings.Join(m[1:], " "))
		}
		return rows, html
	}
	if rows, html := panel(""); len(rows) != 0 || !strings.Contains(html, "Write the steps in order") {
		t.Fatalf("a site without a funnel: %v", rows)
	}
	steps := "&funnel=" + url.QueryEscape("/pricing, signup, purchase")
	want := []string{"/pricing 100 page 4 100% —", "signup 75 event 3 75% 1 (25%)", "purchase 25 event 1 25% 2 (66.67%)"}
	rows, html := panel(steps)
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("funnel panel:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(html, `id="save-funnel"`) {
		t.Error("a funnel from the URL offers no Save")
	}
	// Filtered like every panel: the newsletter's visitors only.
	rows, _ = panel(steps + "&f=" + url.QueryEscape("visit:utm_source=news"))
	if want := []string{"/pricing 100 page 2 100% —", "signup 100 event 2 100% 0 (0%)", "purchase 50 event 1 50% 1 (50%)"}; strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("filtered funnel panel:\n%s", strings.Join(rows, "\n"))
	}
	if _, html := panel("&funnel=" + url.QueryEscape("/pricing")); !strings.Contains(html, "2 to 8 steps") {
		t.Errorf("a one-step funnel does not say what is wrong: %s", html)
	}
	// Saved, it is the dashboard's funnel without ?funnel=.
	_, page, _ := b.get("/sites/" + siteID + "?range=7d" + steps)
	if st, _, _ := b.post("/sites/"+siteID+"/settings", url.Values{"funnel": {"/pricing, signup, purchase"}}, b.token(page)); st != 303 {
		t.Fatalf("save: %d", st)
	}
	rows, html = panel("")
	if strings.Join(rows, "\n") != strings.Join(want, "\n") || strings.Contains(html, `id="save-funnel"`) {
		t.Errorf("saved funnel:\n%s", strings.Join(rows, "\n"))
	}
}
