package ui

import (
	"net/http"
	"net/url"
)

// modeSwitch is the Live / Test switch of the pages that show money. Test-mode money (Stripe events with
// livemode false, a test-mode endpoint) never mixes with live money; the switch keeps the mode in the URL
// (?mode=test) so a view can be shared, and a live page says when test money is hidden.
type modeSwitch struct {
	Test       bool   // the page shows test-mode money
	Live, TLnk string // the current URL in live and in test mode
	Hidden     int64  // on a live page: test payments in the same view, hidden
	HiddenLink string
}

// testMode reads ?mode=: "test" is test mode, anything else live.
func testMode(r *http.Request) bool { return r.URL.Query().Get("mode") == "test" }

// newModeSwitch builds the switch for the request's URL: the same page with mode set or removed (and
// paging reset, since the lists differ).
func newModeSwitch(r *http.Request, test bool) modeSwitch {
	link := func(test bool) string {
		v := url.Values{}
		for k, vs := range r.URL.Query() {
			if k != "mode" && k != "offset" {
				v[k] = vs
			}
		}
		if test {
			v.Set("mode", "test")
		}
		if len(v) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + v.Encode()
	}
	return modeSwitch{Test: test, Live: link(false), TLnk: link(true)}
}

// withMode appends ?mode=test (or &mode=test) to a link when test is set.
func withMode(link string, test bool) string {
	if !test {
		return link
	}
	for i := 0; i < len(link); i++ {
		if link[i] == '?' {
			return link + "&mode=test"
		}
	}
	return link + "?mode=test"
}
