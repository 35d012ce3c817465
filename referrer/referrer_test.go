package referrer

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tributary/tributary/internal/testenv"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		in       Input
		source   string
		channel  string
		platform string
	}{
		{"direct", Input{SiteDomain: "shop.example"}, "", Direct, ""},
		{"internal", Input{Referrer: "https://www.shop.example/pricing", SiteDomain: "shop.example"}, "", Direct, ""},
		{"subdomain internal", Input{Referrer: "https://blog.shop.example/post", SiteDomain: "shop.example"}, "", Direct, ""},
		{"google organic", Input{Referrer: "https://www.google.co.uk/", SiteDomain: "shop.example"}, "Google", OrganicSearch, ""},
		{"bing", Input{Referrer: "https://www.bing.com/search?q=x", SiteDomain: "shop.example"}, "Bing", OrganicSearch, ""},
		{"duckduckgo", Input{Referrer: "https://duckduckgo.com/", SiteDomain: "shop.example"}, "DuckDuckGo", OrganicSearch, ""},
		{"google ads gclid", Input{Referrer: "https://www.google.com/", SiteDomain: "shop.example", ClickIDs: map[string]string{"gclid": "abc"}}, "Google", PaidSearch, "google_ads"},
		{"gclid without referrer", Input{SiteDomain: "shop.example", ClickIDs: map[string]string{"gclid": "abc"}}, "Google", PaidSearch, "google_ads"},
		{"utm cpc google", Input{SiteDomain: "shop.example", UTMSource: "google", UTMMedium: "cpc"}, "Google", PaidSearch, ""},
		{"facebook organic", Input{Referrer: "https://m.facebook.com/", SiteDomain: "shop.example"}, "Facebook", OrganicSocial, ""},
		{"fbclid alone", Input{Referrer: "https://l.facebook.com/", SiteDomain: "shop.example", ClickIDs: map[string]string{"fbclid": "x"}}, "Facebook", OrganicSocial, "meta"},
		{"facebook paid", Input{SiteDomain: "shop.example", UTMSource: "facebook", UTMMedium: "paid_social", ClickIDs: map[string]string{"fbclid": "x"}}, "Facebook", PaidSocial, "meta"},
		{"tiktok click", Input{SiteDomain: "shop.example", ClickIDs: map[string]string{"ttclid": "x"}}, "", PaidSocial, "tiktok"},
		{"linkedin click", Input{SiteDomain: "shop.example", ClickIDs: map[string]string{"li_fat_id": "x"}}, "", PaidSocial, "linkedin"},
		{"bing ads", Input{SiteDomain: "shop.example", ClickIDs: map[string]string{"msclkid": "x"}}, "Bing", PaidSearch, "microsoft_ads"},
		{"newsletter", Input{SiteDomain: "shop.example", UTMSource: "newsletter", UTMMedium: "email"}, "newsletter", Email, ""},
		{"gmail", Input{Referrer: "https://mail.google.com/", SiteDomain: "shop.example"}, "Gmail", Email, ""},
		{"gmail app", Input{Referrer: "android-app://com.google.android.gm/", SiteDomain: "shop.example"}, "Gmail", Email, ""},
		{"chatgpt", Input{Referrer: "https://chatgpt.com/", SiteDomain: "shop.example"}, "ChatGPT", AIAssistants, ""},
		{"chatgpt utm", Input{SiteDomain: "shop.example", UTMSource: "chatgpt.com"}, "ChatGPT", AIAssistants, ""},
		{"hacker news", Input{Referrer: "https://news.ycombinator.com/item?id=1", SiteDomain: "shop.example"}, "Hacker News", OrganicSocial, ""},
		{"youtube", Input{Referrer: "https://www.youtube.com/watch?v=1", SiteDomain: "shop.example"}, "YouTube", OrganicVideo, ""},
		{"referral", Input{Referrer: "https://blog.other.example/post?x=1", SiteDomain: "shop.example"}, "blog.other.example", Referral, ""},
		{"ref param", Input{SiteDomain: "shop.example", Ref: "producthunt"}, "producthunt", Referral, ""},
		{"affiliate", Input{SiteDomain: "shop.example", UTMSource: "partner", UTMMedium: "affiliate"}, "partner", Affiliates, ""},
		{"display", Input{SiteDomain: "shop.example", UTMSource: "gdn", UTMMedium: "banner"}, "gdn", Display, ""},
		{"cross network", Input{SiteDomain: "shop.example", UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "pmax cross-network"}, "Google", CrossNetwork, ""},
		{"paid other", Input{SiteDomain: "shop.example", UTMSource: "podcastx", UTMMedium: "paid"}, "podcastx", PaidOther, ""},
		{"unassigned", Input{SiteDomain: "shop.example", UTMSource: "google", UTMMedium: "weird"}, "Google", OrganicSearch, ""},
		{"garbage referrer", Input{Referrer: "%%%not a url", SiteDomain: "shop.example"}, "", Direct, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Classify(tc.in)
			if r.Source != tc.source || r.Channel != tc.channel || r.ClickIDPlatform != tc.platform {
				t.Fatalf("got source %q channel %q platform %q, want %q %q %q", r.Source, r.Channel, r.ClickIDPlatform, tc.source, tc.channel, tc.platform)
			}
		})
	}
	r := Classify(Input{Referrer: "https://blog.other.example/post?x=1#frag", SiteDomain: "shop.example"})
	if r.Referrer != "blog.other.example/post" {
		t.Fatalf("referrer = %q (query and fragment must be dropped)", r.Referrer)
	}
}

// TestAccessLog classifies every referrer of a real access log.
func TestAccessLog(t *testing.T) {
	dir := testenv.FixturesDir(t)
	f, err := os.Open(filepath.Join(dir, "traffic", "logs", "elastic-apache", "apache_logs"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^(\S+) \S+ \S+ \[[^\]]+\] "[^"]*" \d+ \S+ "([^"]*)"`)
	counts := map[string]int{}
	withRef := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil || m[2] == "-" || m[2] == "" {
			continue
		}
		withRef++
		r := Classify(Input{Referrer: m[2], SiteDomain: "semicomplete.com"})
		counts[r.Channel]++
		if r.Channel == OrganicSearch && r.Source == "" {
			t.Fatalf("search without source: %s", m[2])
		}
	}
	t.Logf("%d referrers: %v", withRef, counts)
	if withRef < 5900 {
		t.Fatalf("parsed %d referrers, want the fixture's 5,927", withRef)
	}
	if counts[OrganicSearch] < 300 || counts[Direct] < 1000 {
		t.Fatalf("unexpected distribution %v", counts)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add("https://www.google.com/search?q=x", "example.com", "google", "cpc")
	f.Add("android-app://x/", "", "", "")
	f.Fuzz(func(t *testing.T, ref, site, src, med string) {
		r := Classify(Input{Referrer: ref, SiteDomain: site, UTMSource: src, UTMMedium: med})
		if r.Channel == "" {
			t.Fatal("empty channel")
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	for _, bc := range []struct{ name, ref string }{
		{"search", "https://www.google.co.uk/"}, {"social", "https://m.facebook.com/story"}, {"unknown", "https://blog.other.example/post"}, {"direct", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := Input{Referrer: bc.ref, SiteDomain: "shop.example"}
			Classify(in)
			for i := 0; i < b.N; i++ {
				Classify(in)
			}
		})
	}
}
