package ua

import (
	"strings"
	"testing"
)

// naiveMatch is what the matcher must answer: does any word occur in s, ASCII case-insensitively.
func naiveMatch(words []string, s string) bool {
	l := strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
	for _, w := range words {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

func TestMatcher(t *testing.T) {
	words := []string{"bot", "crawler", "he", "she", "hers", "curl/", "ab", "bab", "ç"}
	m := newMatcher(words)
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", false},
		{"Googlebot/2.1", true},
		{"GOOGLEBOT", true},
		{"Mozilla/5.0 (Windows NT 10.0)", false},
		{"ushers", true},    // overlapping words: "she", "he", "hers"
		{"crawle", false},   // a prefix of a word only
		{"xcrawlerx", true}, // in the middle
		{"curl", false},     // without the slash
		{"aab", true},       // found through a failure link
		{"bba", false},      // letters of words, in no word's order
		{"garçon", true},    // a byte above ASCII
		{"\x00\xff\x80 b o t", false},
	} {
		if got := m.matchLower(tc.s); got != tc.want {
			t.Errorf("matchLower(%q) = %v, want %v", tc.s, got, tc.want)
		}
		if naive := naiveMatch(words, tc.s); naive != tc.want {
			t.Errorf("test case %q: naive answer %v disagrees with want", tc.s, naive)
		}
	}
}

// TestMatcherCrawlerWords holds the compact automaton built from the crawler list to the naive answer
// over the list's examples and ordinary browsers.
func TestMatcherCrawlerWords(t *testing.T) {
	botOnce.Do(compileBots)
	var words []string
	for _, p := range crawlerList(t) {
		if w, ok := literal(p.Pattern); ok {
			words = append(words, strings.ToLower(w))
		}
	}
	words = append(words, extraBotTokens...)
	n := 0
	for _, p := range crawlerList(t) {
		for _, s := range append(p.Instances, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36") {
			n++
			if got, want := botWords.matchLower(s), naiveMatch(words, s); got != want {
				t.Errorf("matchLower(%q) = %v, want %v", s, got, want)
			}
		}
	}
	if n < 2000 {
		t.Fatalf("checked %d user agents", n)
	}
}
