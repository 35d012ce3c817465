package tributary_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCurlExamplesSendJSON: every curl example in the docs that sends a JSON body says so with
// Content-Type: application/json; without it curl sends a form and the API answers 400.
func TestCurlExamplesSendJSON(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	files = append(files, "README.md", "tracker/README.md", "stats/README.md")
	// A command: "curl" up to the end of the line, with backslash continuations and a quoted body that
	// may span lines.
	cmd := regexp.MustCompile(`(?s)curl [^\n]*?(?:\\\n[^\n]*?)*(?:-d '[^']*'[^\n]*)?(?:\n|$)`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmd.FindAllString(string(b), -1) {
			if !strings.Contains(c, "-d '{") && !strings.Contains(c, "--data '{") {
				continue
			}
			n++
			if !strings.Contains(c, `Content-Type: application/json`) {
				t.Errorf("%s: a curl example sends JSON without Content-Type: application/json:\n%s", f, c)
			}
		}
	}
	if n < 5 {
		t.Fatalf("found %d curl examples with a JSON body; the pattern no longer matches the docs", n)
	}
}
