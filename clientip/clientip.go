// Package clientip finds the client address of an HTTP request. Forwarding headers are believed only
// when the direct peer is a configured trusted proxy, and they are read from the right (the hop nearest
// to us) towards the left, stopping at the first address that is not a trusted proxy: everything left
// of that was written by the client and may be forged.
package clientip

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/tributary/tributary"
)

// ParsePrefixes parses the --trusted-proxies value: a comma-separated list of CIDRs ("10.0.0.0/8",
// "2001:db8::/32") or bare addresses (one host: /32 or /128). Host bits are masked off, IPv4-mapped
// IPv6 forms become IPv4 (peers are compared in that form), zones are dropped, and empty entries are
// skipped, so "" means no trusted proxy. A bad entry is an EINVALID error that quotes it.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, ok := parsePrefix(part)
		if !ok {
			return nil, tributary.FieldError("trusted_proxies",
				"entry %d, %q, is not a CIDR such as 10.0.0.0/8 or an IP address such as 10.0.0.1", i+1, part)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		a = a.WithZone("").Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			// Wider than ::ffff:0:0/96, so it covers IPv6 addresses as well: keep it as written.
			return p.Masked(), true
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// FromRequest returns the client address of r: the direct peer (r.RemoteAddr), unless that peer is
// inside a trusted prefix. Then the first source present of X-Forwarded-For, Forwarded (its for=
// parameters) and X-Real-IP names the client; in the two lists the answer is the rightmost address that
// is not itself trusted (or the leftmost one, when every hop is trusted). A hop that cannot be read
// (garbage, "unknown", an obfuscated identifier) stops the walk and the peer is returned, because
// nothing beyond it can be placed. The result is unmapped (IPv4 as IPv4) and zoneless; the zero Addr
// means even the peer could not be read.
func FromRequest(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseHost(r.RemoteAddr)
	if !peer.IsValid() || !contains(trusted, peer) {
		return peer
	}
	if a, found := walk(r.Header.Values("X-Forwarded-For"), xffHop, trusted); found {
		return orPeer(a, peer)
	}
	if a, found := walk(r.Header.Values("Forwarded"), forwardedHop, trusted); found {
		return orPeer(a, peer)
	}
	if v := r.Header.Get("X-Real-IP"); strings.TrimSpace(v) != "" {
		return orPeer(parseHost(v), peer)
	}
	return peer
}

func orPeer(a, peer netip.Addr) netip.Addr {
	if a.IsValid() {
		return a
	}
	return peer
}

func contains(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// walk visits the comma-separated hops of the header values from the right. hop reads one element:
// present is false for an element that names no address (skipped), and an invalid Addr with present
// true is garbage. found reports whether any hop was present; the Addr is invalid after garbage.
//
// Splitting on every comma, even inside a quoted string, is deliberate: the elements our proxies
// append never contain commas, so the rightmost pieces are always theirs whatever the client put in
// front (a quote-aware split would let a client's unclosed quote swallow them).
func walk(values []string, hop func(string) (a netip.Addr, present bool), trusted []netip.Prefix) (netip.Addr, bool) {
	var leftmost netip.Addr
	found := false
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			item := v
			j := strings.LastIndexByte(v, ',')
			if j >= 0 {
				item, v = v[j+1:], v[:j]
			}
			a, present := hop(item)
			if present {
				found = true
				if !a.IsValid() {
					return netip.Addr{}, true
				}
				if !contains(trusted, a) {
					return a, true
				}
				leftmost = a
			}
			if j < 0 {
				break
			}
		}
	}
	return leftmost, found
}

func xffHop(item string) (netip.Addr, bool) {
	if strings.TrimSpace(item) == "" {
		return netip.Addr{}, false
	}
	return parseHost(item), true
}

// forwardedHop reads the for= parameter of one RFC 7239 element ("for=192.0.2.1;proto=https").
func forwardedHop(elem string) (netip.Addr, bool) {
	for elem != "" {
		var pair string
		pair, elem, _ = strings.Cut(elem, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
			return parseHost(v), true
		}
	}
	return netip.Addr{}, false
}

// parseHost reads "addr", "addr:port", "[v6]", "[v6]:port", optionally in double quotes (Forwarded),
// with or without a zone or the IPv4-mapped form; anything else is the zero Addr.
func parseHost(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	host := s
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}
		}
		if !strings.Contains(host, ":") {
			return netip.Addr{} // brackets are for IPv6 only
		}
	case strings.Count(s, ":") == 1: // IPv4 with a port; bare IPv6 has at least two colons
		var port string
		host, port, _ = strings.Cut(s, ":")
		if !validPort(port) {
			return netip.Addr{}
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// validPort accepts a decimal port or RFC 7239's obfuscated "_token" form.
func validPort(p string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	if p[0] == '_' {
		for _, c := range p[1:] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return len(p) > 1
	}
	if len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
