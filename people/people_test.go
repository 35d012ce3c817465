package people

import (
	"slices"
	"testing"
)

func TestGraph(t *testing.T) {
	tests := []struct {
		name   string
		rows   []Row
		of     string
		want   []string
		merged []bool
	}{
		{"alone", nil, "v1", []string{"v1"}, nil},
		{"one key joins two visitors", []Row{{"v1", "a@b.co", "", ""}, {"v2", "a@b.co", "", ""}}, "v2", []string{"v1", "v2"}, []bool{false, true}},
		{"chain through customer and e-mail", []Row{{"v3", "", "cus_1", ""}, {"v1", "", "cus_1", "x@y.z"}, {"v2", "", "", "x@y.z"}}, "v3",
			[]string{"v1", "v2", "v3"}, []bool{false, true, true}},
		{"a key without visitors joins nobody", []Row{{"v1", "", "cus_1", ""}, {"", "", "cus_2", "e@f.g"}}, "v1", []string{"v1"}, []bool{false, false}},
		{"keys joined before their visitors", []Row{{"", "", "cus_1", "e@f.g"}, {"v2", "", "cus_1", ""}, {"v1", "", "", "e@f.g"}}, "v1",
			[]string{"v1", "v2"}, []bool{false, false, true}},
		{"the same row twice merges once", []Row{{"v1", "p", "", ""}, {"v2", "p", "", ""}, {"v2", "p", "", ""}}, "v1", []string{"v1", "v2"},
			[]bool{false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New()
			for i, r := range tt.rows {
				merged, _ := g.Add(r)
				if merged != tt.merged[i] {
					t.Errorf("row %d %v: merged %v, want %v", i, r, merged, tt.merged[i])
				}
			}
			if got := g.Members(tt.of); !slices.Equal(got, tt.want) {
				t.Errorf("Members(%s) = %v, want %v", tt.of, got, tt.want)
			}
			if got := g.Person(tt.of); got != tt.want[0] {
				t.Errorf("Person(%s) = %s, want %s", tt.of, got, tt.want[0])
			}
		})
	}
}

func TestAddReturnsTheGroup(t *testing.T) {
	g := New()
	g.Add(Row{"v1", "p", "", ""})
	_, group := g.Add(Row{"v2", "", "", "e"})
	if !slices.Equal(group, []string{"v2"}) {
		t.Fatalf("group %v", group)
	}
	merged, group := g.Add(Row{"v2", "p", "", ""})
	slices.Sort(group)
	if !merged || !slices.Equal(group, []string{"v1", "v2"}) {
		t.Fatalf("merged %v group %v", merged, group)
	}
	if g.Known("v9") || !g.Known("v1") {
		t.Fatal("Known")
	}
}
