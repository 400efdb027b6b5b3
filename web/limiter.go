package web

import (
	"context"
	"sync"
	"time"
)

// Limiter counts failures (failed sign-ins) per key, a client IP or a
// user name, and says how long a key must wait before its next attempt.
// The wait grows exponentially once a key has used its free failures and
// is capped; failures are forgotten a window after the last one.
//
// Implementations must be safe for concurrent use, must bound the memory
// they use whatever keys they are given (an attacker picks the keys), and
// must fail open only by returning an error: callers decide what an error
// means (the login handler lets the attempt through and logs it, so a
// broken Redis does not lock everybody out).
type Limiter interface {
	// Wait returns how long key must still wait before its next attempt;
	// 0 means it may try now. Wait records nothing.
	Wait(ctx context.Context, key string) (time.Duration, error)
	// Fail records a failed attempt of key and returns the wait it now
	// has to serve before the next one.
	Fail(ctx context.Context, key string) (time.Duration, error)
	// Reset forgets key's failures (after a successful sign-in).
	Reset(ctx context.Context, key string) error
}

// LimitPolicy is how a Limiter turns failures into waits.
type LimitPolicy struct {
	// Free is the number of failures allowed without any wait.
	Free int
	// Base is the wait after the first failure beyond Free; each further
	// failure doubles it.
	Base time.Duration
	// Max caps the wait.
	Max time.Duration
	// Window is how long failures are remembered after the last one.
	Window time.Duration
}

// DefaultUserPolicy limits guessing one account's password: 5 free
// failures, then 2 s, 4 s, 8 s, ... up to 15 minutes between attempts.
var DefaultUserPolicy = LimitPolicy{Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Window: time.Hour}

// DefaultIPPolicy limits one client address across accounts; it allows
// more, since many phones share an address behind carrier NAT.
var DefaultIPPolicy = LimitPolicy{Free: 20, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}

// Delay is the wait after n failures.
func (p LimitPolicy) Delay(n int) time.Duration {
	if n <= p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free + 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// MemoryLimiter is a Limiter for a single instance.
type MemoryLimiter struct {
	policy  LimitPolicy
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	entries   map[string]*limitEntry
	lastSweep time.Time
}

type limitEntry struct {
	failures int
	until    time.Time // no attempt before this
	expires  time.Time // forget the entry after this
}

// MemoryLimiterOptions configure NewMemoryLimiter.
type MemoryLimiterOptions struct {
	Policy LimitPolicy
	// MaxKeys bounds the keys remembered (default 100,000, a few MB). When
	// full, expired keys are dropped first, then arbitrary ones.
	MaxKeys int
	Now     func() time.Time // clock, for tests
}

// NewMemoryLimiter returns an in-memory Limiter.
func NewMemoryLimiter(o MemoryLimiterOptions) *MemoryLimiter {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Policy.Window <= 0 {
		o.Policy.Window = time.Hour
	}
	return &MemoryLimiter{policy: o.Policy, maxKeys: o.MaxKeys, now: o.Now, entries: map[string]*limitEntry{}}
}

// Wait implements Limiter.
func (l *MemoryLimiter) Wait(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e := l.entries[key]
	if e == nil || now.After(e.expires) {
		return 0, nil
	}
	return max(e.until.Sub(now), 0), nil
}

// Fail implements Limiter.
func (l *MemoryLimiter) Fail(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e := l.entries[key]
	if e == nil || now.After(e.expires) {
		if e == nil && len(l.entries) >= l.maxKeys {
			l.makeRoom(now)
		}
		e = &limitEntry{}
		l.entries[key] = e
	}
	e.failures++
	d := l.policy.Delay(e.failures)
	e.until = now.Add(d)
	e.expires = now.Add(max(l.policy.Window, d))
	return d, nil
}

// Reset implements Limiter.
func (l *MemoryLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
	return nil
}

// Len is the number of keys remembered.
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// makeRoom drops expired entries (at most one full sweep a second) and,
// if still full, a tenth of the entries, chosen by map order.
func (l *MemoryLimiter) makeRoom(now time.Time) {
	if now.Sub(l.lastSweep) >= time.Second {
		l.lastSweep = now
		for k, e := range l.entries {
			if now.After(e.expires) {
				delete(l.entries, k)
			}
		}
	}
	if len(l.entries) < l.maxKeys {
		return
	}
	drop := max(l.maxKeys/10, 1)
	for k := range l.entries {
		if drop == 0 {
			break
		}
		delete(l.entries, k)
		drop--
	}
}
