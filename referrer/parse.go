package referrer

import (
	"strings"
	"unicode/utf8"
)

// Bounds on what a referrer may contribute, so garbage cannot bloat stored events.
const (
	maxHost = 253 // DNS limit
	maxPath = 256
	// maxIPv6Literal bounds "[…]": the longest IPv6 text form (an IPv4-mapped address) is 45 bytes.
	maxIPv6Literal = 47
)

// parsed is a referrer reduced to what classification needs.
type parsed struct {
	host string // lower case, no port, no trailing dot; the package name for app referrers
	path string // escaped path without query or fragment; "" for "/"
	app  bool   // android-app://package
}

// parseReferrer reads a referrer without net/url, which allocates a URL per call and rejects inputs
// browsers and servers do send. Anything that is not an http(s) or Android app referrer with a plausible
// host yields ok == false and counts as no referrer at all (about:blank, file://, chrome-extension://,
// free text).
func parseReferrer(s string) (p parsed, ok bool) {
	s = strings.TrimSpace(s)
	rest := ""
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		switch scheme := s[:i]; {
		case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "https"):
		case strings.EqualFold(scheme, "android-app"):
			p.app = true
		default:
			return parsed{}, false
		}
		rest = s[i+3:]
	} else if r, ok := strings.CutPrefix(s, "//"); ok {
		rest = r
	} else if bareHost(s) {
		rest = s // "example.com/page", as some servers forward it
	} else {
		return parsed{}, false
	}
	end := authorityEnd(rest)
	authority := rest[:end]
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host, valid := cleanHost(authority)
	if !valid {
		return parsed{}, false
	}
	p.host = host
	if !p.app && end < len(rest) && rest[end] == '/' {
		path := rest[end:]
		for i := 0; i < len(path); i++ {
			if path[i] == '?' || path[i] == '#' {
				path = path[:i]
				break
			}
		}
		p.path = cleanPath(path)
	}
	return p, true
}

// authorityEnd returns where the authority of "host/path" ends: at the first "/", "?", "#" or "\\"
// (which browsers read as "/"), else at the end. A loop beats strings.IndexAny on these short inputs.
func authorityEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '?' || c == '#' || c == '\\' {
			return i
		}
	}
	return len(s)
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then letters, digits, "+", "-", ".").
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// bareHost reports whether s starts with something shaped like a domain name (letters, digits, dots,
// hyphens, at least one dot) before any path.
func bareHost(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if i == 0 {
				return false
			}
			dot = true
		case c == '/' || c == ':' || c == '?' || c == '#':
			return dot && i > 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dot
}

// cleanHost lower-cases an authority, drops its port and trailing dot, and rejects anything that is not
// a plausible host name, IPv4 or bracketed IPv6 address. It allocates only for upper-case input.
func cleanHost(a string) (string, bool) {
	if strings.HasPrefix(a, "[") {
		i := strings.IndexByte(a, ']')
		if i < 0 || i > maxIPv6Literal {
			return "", false // "[" + 530 zeros + "]" is no address, and would exceed the host bound
		}
		for _, c := range []byte(a[1:i]) {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
				return "", false
			}
		}
		return strings.ToLower(a[:i+1]), i > 1
	}
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		for _, c := range []byte(a[i+1:]) {
			if c < '0' || c > '9' {
				return "", false
			}
		}
		a = a[:i]
	}
	a = strings.TrimSuffix(a, ".")
	if a == "" || len(a) > maxHost || a[0] == '.' || a[0] == '-' || strings.Contains(a, "..") {
		return "", false
	}
	upper := false
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_':
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= utf8.RuneSelf && utf8.ValidString(a):
			upper = true // an IDN host sent unencoded; ToLower folds its non-ASCII letters
		default:
			return "", false
		}
	}
	if upper {
		a = strings.ToLower(a)
		if len(a) > maxHost {
			return "", false // lower-casing can lengthen non-ASCII letters (Ⱥ → ⱥ)
		}
	}
	return a, true
}

// cleanPath bounds a path, stops it at the first space or control byte and keeps it valid UTF-8.
func cleanPath(path string) string {
	for i := 0; i < len(path); i++ {
		if path[i] <= ' ' || path[i] == 0x7f {
			path = path[:i]
			break
		}
	}
	if len(path) > maxPath {
		path = path[:maxPath]
	}
	if path == "/" {
		return ""
	}
	if !utf8.ValidString(path) {
		path = strings.ToValidUTF8(path, "") // also drops a rune the bound cut in half
	}
	return path
}

// bareDomain reduces a configured domain or page host ("https://WWW.Example.com:8443/") to
// "example.com"; it allocates only for upper-case input.
func bareDomain(d string) string {
	clean := true
	for i := 0; i < len(d) && clean; i++ {
		c := d[i]
		clean = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
	}
	if clean { // the usual case, a stored domain: no scheme, port, path, space or upper case
		return strings.TrimPrefix(strings.TrimSuffix(d, "."), "www.")
	}
	d = strings.TrimSpace(d)
	if i := strings.Index(d, "://"); i >= 0 {
		d = d[i+3:]
	}
	d = d[:authorityEnd(d)]
	if i := strings.LastIndexByte(d, ':'); i >= 0 && !strings.HasSuffix(d, "]") {
		d = d[:i]
	}
	d = strings.TrimSuffix(d, ".")
	for i := 0; i < len(d); i++ {
		if c := d[i]; c >= 'A' && c <= 'Z' {
			d = strings.ToLower(d)
			break
		}
	}
	return strings.TrimPrefix(d, "www.")
}

// within reports whether host is domain or one of its subdomains.
func within(host, domain string) bool {
	if domain == "" {
		return false
	}
	host = strings.TrimPrefix(host, "www.")
	return host == domain || len(host) > len(domain) && strings.HasSuffix(host, domain) && host[len(host)-len(domain)-1] == '.'
}
