// Package people is Tributary's one identity graph: visitors that identities say are one person — the
// same identify() value, Stripe customer or e-mail — are one group. The payment touches (touches/),
// the customers pages (customers/) and the ad-platform destinations build their people from it.
//
// It is a union-find over integer nodes, one per distinct visitor and key, so no key text is built per
// row; each root keeps its visitors.
package people

import "sort"

// kindVisitor is a Row's first column; the person id, customer id and e-mail follow, each a kind of key
// with its own table of nodes.
const kindVisitor = 0

// Row is one identity fact as the graph reads it: visitor, person id, customer id, e-mail. A row joins
// its visitor with each key it sets. A "visitor" is any member the caller groups: customers/ adds each
// payment as one, with its customer id and e-mail as keys.
type Row = [4]string

// Graph is an identity graph. The zero value is not usable; use New.
type Graph struct {
	parent []int32
	// kinds maps visitors, person ids, customers and e-mails to nodes, each kind in its own table.
	kinds   [4]map[string]int32
	members map[int32][]string
}

// New returns an empty graph over visitors.
func New() *Graph {
	g := &Graph{members: map[int32][]string{}}
	for i := range g.kinds {
		g.kinds[i] = map[string]int32{}
	}
	return g
}

func (g *Graph) find(x int32) int32 {
	for g.parent[x] != x {
		g.parent[x] = g.parent[g.parent[x]]
		x = g.parent[x]
	}
	return x
}

func (g *Graph) node(kind int, key string) int32 {
	n, ok := g.kinds[kind][key]
	if !ok {
		n = int32(len(g.parent))
		g.parent = append(g.parent, n)
		g.kinds[kind][key] = n
		if kind == kindVisitor {
			g.members[n] = []string{key}
		}
	}
	return n
}

// Add joins a row's visitor with its keys. It reports whether two groups that held visitors became one,
// with the visitors of the group the row ends in (nil when the row names no visitor and no group with
// visitors).
func (g *Graph) Add(row Row) (merged bool, group []string) {
	root := int32(-1)
	for k := 0; k < 4; k++ {
		if row[k] == "" {
			continue
		}
		n := g.find(g.node(k, row[k]))
		if root < 0 {
			root = n
			continue
		}
		if n == root {
			continue
		}
		mr, mn := g.members[root], g.members[n]
		if len(mr) > 0 && len(mn) > 0 {
			merged = true
		}
		if len(mn) > len(mr) {
			root, n, mr, mn = n, root, mn, mr // keep the larger group's root, append the smaller
		}
		g.parent[n] = root
		if len(mn) > 0 {
			g.members[root] = append(mr, mn...)
			delete(g.members, n)
		}
	}
	if root < 0 {
		return false, nil
	}
	return merged, g.members[root]
}

// Members lists the visitors of v's person, sorted (v alone when no identity groups it).
func (g *Graph) Members(v string) []string {
	n, ok := g.kinds[kindVisitor][v]
	if !ok {
		return []string{v}
	}
	out := append([]string(nil), g.members[g.find(n)]...)
	sort.Strings(out)
	return out
}

// Person is the key of v's person: the smallest visitor id of the group, stable while the group does
// not grow.
func (g *Graph) Person(v string) string { return g.Members(v)[0] }

// Known reports whether v is in the graph (some identity names it with a key).
func (g *Graph) Known(v string) bool {
	_, ok := g.kinds[kindVisitor][v]
	return ok
}

// Group identifies v's group until the next Add (-1 when v is not in the graph): cheaper than Members
// for grouping many members at once.
func (g *Graph) Group(v string) int {
	n, ok := g.kinds[kindVisitor][v]
	if !ok {
		return -1
	}
	return int(g.find(n))
}
