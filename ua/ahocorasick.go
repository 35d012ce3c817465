package ua

// matcher finds whether any of a set of lower-case literals occurs in a string, in one pass
// (Aho–Corasick over bytes). Most crawler patterns are plain words; matching them together costs a
// fraction of running them as regular expressions.
//
// The automaton is a DFA over byte classes rather than all 256 bytes: the crawler words use about
// fifty distinct bytes, and every other byte behaves alike (it leads back to the start). A row per
// state of 256 transitions took 14 MB of heap for the 13,500 states; rows of one entry per class take
// a fifth of a megabyte per ten classes, for one table lookup more per byte.
type matcher struct {
	class [256]uint8 // byte (after ASCII lower-casing) → its class; 0 for bytes in no word
	width int32      // classes per row
	// next holds the transitions, row after row; an entry is the offset of the target state's row, or
	// -1 when the target state ends a word (matchLower stops there, so its row is never read).
	next []int32
}

func newMatcher(words []string) *matcher {
	m := &matcher{width: 1}
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if c := w[i]; m.class[c] == 0 {
				m.class[c] = uint8(m.width)
				m.width++
				if m.width > 255 {
					panic("ua: matcher: more than 255 byte classes")
				}
			}
		}
	}
	// The trie, with states as row numbers; out marks the states that end a word.
	width := int(m.width)
	next := make([]int32, width)
	out := []bool{false}
	for _, w := range words {
		s := 0
		for i := 0; i < len(w); i++ {
			c := int(m.class[w[i]])
			if next[s*width+c] == 0 {
				next = append(next, make([]int32, width)...)
				out = append(out, false)
				next[s*width+c] = int32(len(out) - 1)
			}
			s = int(next[s*width+c])
		}
		out[s] = true
	}
	// Breadth-first construction of failure links, turning the trie into a DFA.
	fail := make([]int32, len(out))
	queue := make([]int32, 0, len(out))
	for c := 0; c < width; c++ {
		if t := next[c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := int(queue[0])
		queue = queue[1:]
		out[s] = out[s] || out[fail[s]]
		for c := 0; c < width; c++ {
			t := next[s*width+c]
			if t == 0 {
				next[s*width+c] = next[int(fail[s])*width+c]
				continue
			}
			fail[t] = next[int(fail[s])*width+c]
			queue = append(queue, t)
		}
	}
	// State numbers become row offsets, and transitions into a state that ends a word become -1.
	for i, t := range next {
		if out[t] {
			next[i] = -1
		} else {
			next[i] = t * m.width
		}
	}
	m.next = next
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
		st = m.next[st+int32(m.class[c])]
		if st < 0 {
			return true
		}
	}
	return false
}
