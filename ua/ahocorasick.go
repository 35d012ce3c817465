package ua

// matcher finds whether any of a set of lower-case literals occurs in a string, in one pass
// (Aho–Corasick over bytes). Most crawler patterns are plain words; matching them together costs a
// fraction of running them as regular expressions.
type matcher struct {
	next [][256]int32 // goto function with failure links folded in (a DFA)
	out  []bool
}

func newMatcher(words []string) *matcher {
	m := &matcher{next: make([][256]int32, 1), out: make([]bool, 1)}
	for _, w := range words {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			c := w[i]
			if m.next[s][c] == 0 {
				m.next = append(m.next, [256]int32{})
				m.out = append(m.out, false)
				m.next[s][c] = int32(len(m.next) - 1)
			}
			s = m.next[s][c]
		}
		m.out[s] = true
	}
	// Breadth-first construction of failure links, turning the trie into a DFA.
	fail := make([]int32, len(m.next))
	queue := make([]int32, 0, len(m.next))
	for c := 0; c < 256; c++ {
		if t := m.next[0][c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = m.out[s] || m.out[fail[s]]
		for c := 0; c < 256; c++ {
			t := m.next[s][c]
			if t == 0 {
				m.next[s][c] = m.next[fail[s]][c]
				continue
			}
			fail[t] = m.next[fail[s]][c]
			queue = append(queue, t)
		}
	}
	return m
}

// matchLower reports whether any word occurs in s, comparing ASCII case-insensitively.
func (m *matcher) matchLower(s string) bool {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		st = m.next[st][c]
		if m.out[st] {
			return true
		}
	}
	return false
}
