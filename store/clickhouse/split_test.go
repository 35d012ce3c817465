package clickhouse

import (
	"reflect"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"two", "CREATE TABLE a (x String);\nCREATE VIEW b AS SELECT 1;\n", []string{"CREATE TABLE a (x String)", "CREATE VIEW b AS SELECT 1"}},
		{"comment with semicolon", "-- a; b\nSELECT 1; -- tail;\n", []string{"SELECT 1"}},
		{"quoted semicolons", `SELECT 'a;b', "c;d", ` + "`e;f`" + `; SELECT 'it\'s;'`, []string{`SELECT 'a;b', "c;d", ` + "`e;f`", `SELECT 'it\'s;'`}},
		{"no trailing semicolon", "SELECT 1", []string{"SELECT 1"}},
		{"empty", " ;\n-- only a comment\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitStatements(tc.src); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The shipped migration splits into its six statements (a miscount means a stray semicolon).
func TestMigrationsSplit(t *testing.T) {
	b, err := migrations.ReadFile("migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmts := splitStatements(string(b))
	if len(stmts) != 6 {
		t.Fatalf("001_init.sql: %d statements, want 6 (4 tables, 2 views)", len(stmts))
	}
}
