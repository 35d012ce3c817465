package core

import (
	"sync"
	"time"
)

// failures counts failed attempts per key (a client address, an address and account, an endpoint)
// and blocks a key with a growing backoff once it has failed threshold times: base, then twice as
// long after every further failure, at most maxWait. Only failures count: a request that succeeds
// or is refused while blocked adds nothing, so nobody can use the limiter to lock out someone who
// has not failed. A key is forgotten forget after its last failure.
type failures struct {
	mu        sync.Mutex
	now       func() time.Time
	threshold int
	base      time.Duration
	maxWait   time.Duration
	forget    time.Duration
	m         map[string]*failCount
}

type failCount struct {
	n    int
	last time.Time
}

// maxFailureKeys bounds the memory of one limiter under a flood from many addresses.
const maxFailureKeys = 100_000

func newFailures(threshold int, base, maxWait time.Duration, now func() time.Time) *failures {
	return &failures{now: now, threshold: threshold, base: base, maxWait: maxWait, forget: maxWait + time.Hour, m: map[string]*failCount{}}
}

// count returns how many failures key has on record (0 once forgotten).
func (l *failures) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.m[key]; c != nil && l.now().Sub(c.last) <= l.forget {
		return c.n
	}
	return 0
}

// Blocked reports whether key is in its backoff now, and for how long still.
func (l *failures) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.m[key]
	if c == nil || c.n < l.threshold {
		return false, 0
	}
	wait := l.base << min(c.n-l.threshold, 20)
	if wait > l.maxWait || wait <= 0 {
		wait = l.maxWait
	}
	if left := c.last.Add(wait).Sub(l.now()); left > 0 {
		return true, left
	}
	return false, 0
}

// Fail records one failure of key.
func (l *failures) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= maxFailureKeys {
		l.prune(now)
	}
	c := l.m[key]
	if c == nil || now.Sub(c.last) > l.forget {
		c = &failCount{}
		l.m[key] = c
	}
	c.n++
	c.last = now
}

// reset forgets key (after a success).
func (l *failures) reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

// prune drops forgotten keys and, if the map is still full, every key not in a backoff.
func (l *failures) prune(now time.Time) {
	for k, c := range l.m {
		if now.Sub(c.last) > l.forget {
			delete(l.m, k)
		}
	}
	if len(l.m) < maxFailureKeys {
		return
	}
	for k, c := range l.m {
		if c.n < l.threshold {
			delete(l.m, k)
		}
	}
}

// loginThrottle limits failed logins so that an outsider cannot turn it against the owner: failures
// are counted per address (20, then a backoff from one minute up to 15), per address and account (5,
// the same backoff) and per account (100), and the account-wide count only blocks addresses that have
// themselves failed for that account. A correct password from an address that has not failed always
// gets in; successful logins count nothing and clear the address's record.
type loginThrottle struct {
	addrs, pairs, accounts *failures
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{
		addrs:    newFailures(20, time.Minute, 15*time.Minute, now),
		pairs:    newFailures(5, time.Minute, 15*time.Minute, now),
		accounts: newFailures(100, time.Minute, 15*time.Minute, now),
	}
}

// Limited reports whether a login from addr (pair = addr and account) must wait, and how long.
func (t *loginThrottle) Limited(addr, pair, account string) (bool, time.Duration) {
	if b, wait := t.addrs.Blocked(addr); b {
		return b, wait
	}
	if b, wait := t.pairs.Blocked(pair); b {
		return b, wait
	}
	if t.pairs.count(pair) > 0 {
		return t.accounts.Blocked(account)
	}
	return false, 0
}

// Failed counts a failed login under each of its keys: the address, the address with the account,
// and the account.
func (t *loginThrottle) Failed(addr, pair, account string) {
	t.addrs.Fail(addr)
	t.pairs.Fail(pair)
	t.accounts.Fail(account)
}

// Succeeded forgets the failures of the address and of the address with the account after a login
// succeeded.
func (t *loginThrottle) Succeeded(addr, pair, account string) {
	t.addrs.reset(addr)
	t.pairs.reset(pair)
	t.accounts.reset(account)
}
