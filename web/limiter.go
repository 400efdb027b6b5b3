package web

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Limiter limits attempts (sign-ins) per key, a client IP or a user name.
// It counts failures and says how long a key must wait before its next
// attempt: the wait grows exponentially once a key has used its free
// failures and is capped; failures are forgotten a window after the last
// one.
//
// An attempt is reserved before it is made: Reserve checks the key and,
// when it may go ahead, counts the attempt as a failure and marks it in
// flight, in one atomic step; Finish then keeps the failure, takes it
// back or forgets all of the key's failures. So a burst of simultaneous
// attempts cannot all pass the check before any of them is counted, and
// at most Policy.Concurrent attempts per key are in flight at once (one,
// by default). An attempt never finished (a crash) stays counted as a
// failure and stops being in flight after Policy.Hold.
//
// A limiter whose policy has an IPv6Net policy treats keys as client
// addresses: an IPv4-mapped IPv6 address is its IPv4 address, and an
// IPv6 address counts against both itself and its /64 (one subscriber's
// network), under the IPv6Net policy.
//
// Implementations must be safe for concurrent use, must bound the memory
// they use whatever keys they are given (an attacker picks the keys), and
// must fail open only by returning an error: callers decide what an error
// means (the login handler lets the attempt through and logs it, so a
// broken Redis does not lock everybody out).
type Limiter interface {
	// Reserve asks to make one attempt for key now. When the key must
	// wait, the Reservation's Wait is positive and nothing is recorded;
	// otherwise Wait is 0, the attempt is counted as a failure and in
	// flight, and the caller must Finish the Reservation.
	Reserve(ctx context.Context, key string) (Reservation, error)
	// Finish ends a reserved attempt; r must come from this limiter's
	// Reserve (any instance, for a shared limiter). A refused or zero
	// Reservation is ignored. Callers should not pass a context the
	// client can cancel: an attempt left unfinished stays in flight
	// until Policy.Hold passes.
	Finish(ctx context.Context, r Reservation, o Outcome) error
}

// Reservation is the answer to Limiter.Reserve.
type Reservation struct {
	// Wait is how long the key must still wait before it may try; 0 when
	// the attempt was reserved.
	Wait time.Duration
	// Busy tells that the refusal is for other attempts in flight, not
	// for failures.
	Busy bool

	holds []hold
}

// OK tells whether the attempt may go ahead: it was reserved, or it is
// the zero Reservation (what callers that fail open use when Reserve
// failed).
func (r Reservation) OK() bool { return r.Wait <= 0 }

// hold is one key a reservation counts against.
type hold struct {
	key    string // as stored: the address, or its /64 as "2001:db8::/64"
	policy *LimitPolicy
	token  string // which in-flight mark is this attempt's
}

// Outcome is how a reserved attempt ended.
type Outcome int

const (
	// Failed keeps the failure Reserve counted (a wrong password); the
	// wait it brings starts now.
	Failed Outcome = iota
	// Void takes back the failure Reserve counted: the attempt proved
	// nothing (the mail server could not be asked), or it succeeded but
	// the key's earlier failures must stay (a client address).
	Void
	// Forgive forgets all of the key's failures (a user name whose
	// password was right).
	Forgive
)

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
	// Concurrent is how many attempts of one key may be in flight at
	// once (default 1). Past the free failures it is always 1.
	Concurrent int
	// Hold is how long an attempt counts as in flight at most when it is
	// never finished, e.g. because its instance crashed (default 2
	// minutes: longer than any sign-in may take).
	Hold time.Duration
	// IPv6Net, when set, makes keys client addresses and is the policy
	// of each IPv6 address's /64 (see Limiter).
	IPv6Net *LimitPolicy
}

// DefaultUserPolicy limits guessing one account's password: 5 free
// failures, then 2 s, 4 s, 8 s, ... up to 15 minutes between attempts;
// one attempt at a time.
var DefaultUserPolicy = LimitPolicy{Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Window: time.Hour}

// DefaultIPPolicy limits one client address across accounts: 20 free
// failures, then 1 s, 2 s, ... up to 15 minutes. It allows more than
// DefaultUserPolicy, and 4 sign-ins in flight at once while its failures
// are free (1 after), since many phones share an address behind carrier
// NAT. An IPv6 client also counts against its /64 (DefaultIPv6NetPolicy).
var DefaultIPPolicy = LimitPolicy{Free: 20, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour, Concurrent: 4,
	IPv6Net: &DefaultIPv6NetPolicy}

// DefaultIPv6NetPolicy limits one IPv6 /64, which one subscriber gets
// whole and whose 2^64 addresses would otherwise each have the
// per-address allowance: 60 free failures, then 1 s, 2 s, ... up to 15
// minutes; 4 sign-ins in flight at once while failures are free (1
// after).
var DefaultIPv6NetPolicy = LimitPolicy{Free: 60, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour, Concurrent: 4}

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

// withDefaults fills in the zero fields (and those of IPv6Net, copied).
func (p LimitPolicy) withDefaults() LimitPolicy {
	if p.Window <= 0 {
		p.Window = time.Hour
	}
	if p.Concurrent <= 0 {
		p.Concurrent = 1
	}
	if p.Hold <= 0 {
		p.Hold = 2 * time.Minute
	}
	if p.IPv6Net != nil {
		n := p.IPv6Net.withDefaults()
		n.IPv6Net = nil
		p.IPv6Net = &n
	}
	return p
}

// remember is how long a key's count is kept after its last failure.
func (p *LimitPolicy) remember() time.Duration { return max(p.Window, p.Max) }

// busy tells whether one more attempt must wait for those in flight:
// inFlight of them are, after n failures (in flight ones included).
func (p *LimitPolicy) busy(inFlight, n int) bool {
	return inFlight >= p.Concurrent || inFlight > 0 && p.Delay(n+1) > 0
}

// busyWait is the Wait of a refusal for attempts in flight.
const busyWait = time.Second

// limitKeys is what key counts against under policy p: itself, or for a
// client address the canonical address and, for IPv6, also its /64
// under p.IPv6Net.
func limitKeys(p *LimitPolicy, key string) []hold {
	if p.IPv6Net == nil {
		return []hold{{key: key, policy: p}}
	}
	a, err := netip.ParseAddr(key)
	if err != nil {
		return []hold{{key: key, policy: p}}
	}
	a = a.Unmap().WithZone("")
	hs := []hold{{key: a.String(), policy: p}}
	if a.Is6() {
		hs = append(hs, hold{key: netip.PrefixFrom(a, 64).Masked().String(), policy: p.IPv6Net})
	}
	return hs
}

// MemoryLimiter is a Limiter for a single instance.
type MemoryLimiter struct {
	policy  LimitPolicy
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	entries   map[string]*limitEntry
	lastSweep time.Time
	tokens    uint64
}

type limitEntry struct {
	failures int
	until    time.Time            // no attempt before this
	expires  time.Time            // forget the entry after this
	inFlight map[string]time.Time // attempts in flight: token → when it stops counting
}

// MemoryLimiterOptions configure NewMemoryLimiter.
type MemoryLimiterOptions struct {
	Policy LimitPolicy
	// MaxKeys bounds the keys remembered (default 100,000, a few MB). When
	// full, expired keys are dropped first, then arbitrary ones (those
	// with no attempt in flight first).
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
	return &MemoryLimiter{policy: o.Policy.withDefaults(), maxKeys: o.MaxKeys, now: o.Now, entries: map[string]*limitEntry{}}
}

// entry returns key's live entry, or nil; it drops an expired one and
// in-flight marks past their hold.
func (l *MemoryLimiter) entry(key string, now time.Time) *limitEntry {
	e := l.entries[key]
	if e == nil {
		return nil
	}
	for t, end := range e.inFlight {
		if !now.Before(end) {
			delete(e.inFlight, t)
		}
	}
	if now.After(e.expires) && len(e.inFlight) == 0 {
		delete(l.entries, key)
		return nil
	}
	return e
}

// Reserve implements Limiter.
func (l *MemoryLimiter) Reserve(_ context.Context, key string) (Reservation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	hs := limitKeys(&l.policy, key)
	var res Reservation
	for _, h := range hs {
		e := l.entry(h.key, now)
		if e == nil {
			continue
		}
		if w := e.until.Sub(now); w > 0 && !now.After(e.expires) {
			res.Wait, res.Busy = max(res.Wait, w), false
		} else if res.Wait == 0 && h.policy.busy(len(e.inFlight), e.failures) {
			res.Wait, res.Busy = busyWait, true
		}
	}
	if res.Wait > 0 {
		return res, nil
	}
	l.tokens++
	token := strconv.FormatUint(l.tokens, 36)
	for i := range hs {
		h := &hs[i]
		h.token = token
		e := l.entry(h.key, now)
		if e == nil {
			if len(l.entries) >= l.maxKeys {
				l.makeRoom(now)
			}
			e = &limitEntry{}
			l.entries[h.key] = e
		} else if now.After(e.expires) {
			e.failures = 0 // forgotten; only marks in flight kept it
		}
		if e.inFlight == nil {
			e.inFlight = map[string]time.Time{}
		}
		e.failures++
		e.inFlight[token] = now.Add(h.policy.Hold)
		e.expires = now.Add(max(h.policy.remember(), h.policy.Hold))
	}
	res.holds = hs
	return res, nil
}

// Finish implements Limiter.
func (l *MemoryLimiter) Finish(_ context.Context, r Reservation, o Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, h := range r.holds {
		e := l.entry(h.key, now)
		if e == nil {
			continue
		}
		delete(e.inFlight, h.token)
		switch o {
		case Failed:
			if d := h.policy.Delay(e.failures); now.Add(d).After(e.until) {
				e.until = now.Add(d)
			}
			e.expires = now.Add(h.policy.remember())
		case Void:
			e.failures = max(e.failures-1, 0)
		case Forgive:
			e.failures = 0
			e.until = time.Time{}
		}
		if e.failures == 0 && len(e.inFlight) == 0 {
			delete(l.entries, h.key)
		}
	}
	return nil
}

// Len is the number of keys remembered.
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// makeRoom drops expired entries (at most one full sweep a second) and,
// if still full, a tenth of the entries, chosen by map order, those with
// attempts in flight last.
func (l *MemoryLimiter) makeRoom(now time.Time) {
	if now.Sub(l.lastSweep) >= time.Second {
		l.lastSweep = now
		for k := range l.entries {
			l.entry(k, now)
		}
	}
	if len(l.entries) < l.maxKeys {
		return
	}
	drop := max(l.maxKeys/10, 1)
	for _, idle := range []bool{true, false} {
		for k, e := range l.entries {
			if drop == 0 {
				return
			}
			if idle && len(e.inFlight) > 0 {
				continue
			}
			delete(l.entries, k)
			drop--
		}
	}
}
