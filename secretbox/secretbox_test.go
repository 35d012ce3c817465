package secretbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	b, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	sealed, err := b.Seal("stripe key", "rk_test_abc")
	if err != nil || strings.Contains(sealed, "rk_test") {
		t.Fatalf("sealed %q %v", sealed, err)
	}
	again, err := Load("", dir) // the same key is read back
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, purpose, sealed, want string
		ok                          bool
	}{
		{"round trip", "stripe key", sealed, "rk_test_abc", true},
		{"other purpose", "other", sealed, "", false},
		{"damaged", "stripe key", sealed[:len(sealed)-2] + "AA", "", false},
		{"not sealed", "stripe key", "rk_test_abc", "", false},
	} {
		got, err := again.Open(tc.purpose, tc.sealed)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: %q %v", tc.name, got, err)
		}
	}
	other, _ := Load(strings.Repeat("ab", 32), "")
	if _, err := other.Open("stripe key", sealed); err == nil {
		t.Fatal("another key opened the value")
	}
	if _, err := Load("xyz", ""); err == nil {
		t.Fatal("a bad --secret-key was accepted")
	}
}
