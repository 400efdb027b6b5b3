package web

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestLimitPolicyDelay(t *testing.T) {
	p := LimitPolicy{Free: 3, Base: time.Second, Max: 10 * time.Second}
	for n, want := range map[int]time.Duration{
		0: 0, 1: 0, 3: 0, 4: time.Second, 5: 2 * time.Second, 6: 4 * time.Second,
		7: 8 * time.Second, 8: 10 * time.Second, 60: 10 * time.Second, 1 << 30: 10 * time.Second,
	} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
}

// Policy under test: Free 2, Base 200ms, Max 800ms, Window 2s, one
// attempt in flight, held at most 1s.
var testPolicy = LimitPolicy{Free: 2, Base: 200 * time.Millisecond, Max: 800 * time.Millisecond, Window: 2 * time.Second, Hold: time.Second}

// try makes one attempt for key that ends with o; it must be allowed.
func try(t *testing.T, l Limiter, key string, o Outcome) {
	t.Helper()
	r, err := l.Reserve(context.Background(), key)
	if err != nil || !r.OK() {
		t.Fatalf("Reserve(%s) = %+v, %v; want it reserved", key, r, err)
	}
	if err := l.Finish(context.Background(), r, o); err != nil {
		t.Fatalf("Finish(%s) = %v", key, err)
	}
}

// waitOf is key's wait now (0: it may try), reserving nothing.
func waitOf(t *testing.T, l Limiter, key string) time.Duration {
	t.Helper()
	r, err := l.Reserve(context.Background(), key)
	if err != nil {
		t.Fatalf("Reserve(%s) = %v", key, err)
	}
	if r.OK() {
		l.Finish(context.Background(), r, Void)
	}
	return r.Wait
}

// within tells whether d is want, give or take what real time moved
// between the failure and the check.
func within(d, want time.Duration) bool { return d <= want && d > want-100*time.Millisecond }

// testLimiter runs the behaviour every Limiter must have. sleep lets the
// clock move (a fake clock for memory, real time for Redis).
func testLimiter(t *testing.T, l Limiter, sleep func(time.Duration)) {
	ctx := context.Background()
	// Free failures, then a wait doubling per failure up to the cap.
	for range 2 {
		try(t, l, "alice", Failed)
	}
	if d := waitOf(t, l, "alice"); d != 0 {
		t.Fatalf("wait after the free failures = %v, want 0", d)
	}
	for i, want := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 800 * time.Millisecond} {
		try(t, l, "alice", Failed)
		if d := waitOf(t, l, "alice"); !within(d, want) {
			t.Fatalf("wait after failure %d = %v, want %v", i+3, d, want)
		}
		sleep(want + 10*time.Millisecond)
	}
	if d := waitOf(t, l, "bob"); d != 0 {
		t.Errorf("another key is blocked: wait(bob) = %v", d)
	}
	// Still counted after the wait: the next failure blocks again at once.
	try(t, l, "alice", Failed)
	if d := waitOf(t, l, "alice"); !within(d, 800*time.Millisecond) {
		t.Errorf("wait after failing again = %v, want the capped 800ms", d)
	}
	sleep(810 * time.Millisecond)
	// Forgive forgets them all.
	try(t, l, "alice", Forgive)
	try(t, l, "alice", Failed)
	try(t, l, "alice", Failed)
	if d := waitOf(t, l, "alice"); d != 0 {
		t.Errorf("wait after Forgive and two failures = %v, want 0 (free again)", d)
	}

	// A reserved attempt counts at once, and is alone in flight: a second
	// one is refused as busy without being counted.
	r1, err := l.Reserve(ctx, "bob")
	if err != nil || !r1.OK() {
		t.Fatalf("Reserve(bob) = %+v, %v", r1, err)
	}
	r2, err := l.Reserve(ctx, "bob")
	if err != nil || r2.OK() || !r2.Busy || r2.Wait != time.Second {
		t.Fatalf("second Reserve(bob) while one is in flight = %+v, %v; want busy, wait 1s", r2, err)
	}
	l.Finish(ctx, r2, Failed) // a refusal holds nothing: no effect
	if err := l.Finish(ctx, r1, Void); err != nil {
		t.Fatalf("Finish = %v", err)
	}
	// Void takes the failure back: five void attempts, two failures, and
	// the key is still within its free failures.
	for range 5 {
		try(t, l, "bob", Void)
	}
	try(t, l, "bob", Failed)
	try(t, l, "bob", Failed)
	if d := waitOf(t, l, "bob"); d != 0 {
		t.Errorf("wait after 5 void attempts and 2 failures = %v, want 0", d)
	}
	// An attempt never finished (its instance crashed) is a failure, and
	// in flight no longer than Hold.
	if r, _ := l.Reserve(ctx, "dave"); !r.OK() {
		t.Fatalf("Reserve(dave) refused: %+v", r)
	}
	if r, _ := l.Reserve(ctx, "dave"); !r.Busy {
		t.Fatalf("Reserve(dave) with one in flight = %+v, want busy", r)
	}
	sleep(1100 * time.Millisecond)
	try(t, l, "dave", Failed)
	try(t, l, "dave", Failed)
	if d := waitOf(t, l, "dave"); !within(d, 200*time.Millisecond) {
		t.Errorf("wait after a lost attempt and 2 failures = %v, want 200ms (3 failures)", d)
	}

	// Failures are forgotten a window after the last one.
	for range 3 {
		try(t, l, "carol", Failed)
		sleep(210 * time.Millisecond)
	}
	sleep(2100 * time.Millisecond)
	try(t, l, "carol", Failed)
	if d := waitOf(t, l, "carol"); d != 0 {
		t.Errorf("wait after the window and one failure = %v, want 0 (forgotten)", d)
	}
}

// testLimiterRace: attempts for one key made at once are reserved no
// more than it has room for in flight; the others are told it is busy.
func testLimiterRace(t *testing.T, newLimiter func(LimitPolicy) Limiter) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		policy LimitPolicy
		failed int // failures before the burst
		want   int
	}{
		{"one", LimitPolicy{Free: 5, Base: time.Second, Max: time.Minute}, 0, 1},
		{"three", LimitPolicy{Free: 5, Base: time.Second, Max: time.Minute, Concurrent: 3}, 0, 3},
		{"three-past-free", LimitPolicy{Free: 5, Base: time.Second, Max: time.Minute, Concurrent: 3}, 5, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLimiter(c.policy)
			for range c.failed {
				try(t, l, "k", Failed)
			}
			var reserved, busy atomic.Int64
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 60 {
				wg.Go(func() {
					<-start
					r, err := l.Reserve(ctx, "k")
					if err != nil {
						t.Error(err)
						return
					}
					if r.OK() {
						reserved.Add(1)
					} else if r.Busy {
						busy.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if reserved.Load() != int64(c.want) || busy.Load() != int64(60-c.want) {
				t.Errorf("60 at once: %d reserved, %d busy; want %d and %d", reserved.Load(), busy.Load(), c.want, 60-c.want)
			}
		})
	}
}

// testLimiterIPv6: an IPv6 client counts against its address and its
// /64; IPv4-mapped addresses are IPv4 addresses.
func testLimiterIPv6(t *testing.T, l Limiter) {
	// testIPPolicy: 3 free per address, 5 per /64.
	for i := range 6 {
		try(t, l, fmt.Sprintf("2001:db8:1:2::%x", i+1), Failed)
	}
	if d := waitOf(t, l, "2001:db8:1:2:ffff:ffff:ffff:ffff"); d <= 0 {
		t.Errorf("a fresh address in a /64 with 6 failures may try at once; want a wait")
	}
	if d := waitOf(t, l, "2001:db8:1:3::1"); d != 0 {
		t.Errorf("another /64 must wait %v; want 0 (independent)", d)
	}
	// The address alone: its own, stricter count.
	for range 4 {
		try(t, l, "2001:db8:9:9::1", Failed)
	}
	if d := waitOf(t, l, "2001:db8:9:9::1"); d <= 0 {
		t.Errorf("an IPv6 address with 4 failures may try at once; want a wait")
	}
	if d := waitOf(t, l, "2001:db8:9:9::2"); d != 0 {
		t.Errorf("its neighbour (4 failures in the /64) must wait %v; want 0", d)
	}
	// IPv4-mapped is IPv4, and IPv4 has no /64.
	for range 4 {
		try(t, l, "::ffff:192.0.2.1", Failed)
	}
	if d := waitOf(t, l, "192.0.2.1"); d <= 0 {
		t.Errorf("192.0.2.1 after 4 failures as ::ffff:192.0.2.1 may try at once; want a wait")
	}
	if d := waitOf(t, l, "192.0.2.2"); d != 0 {
		t.Errorf("192.0.2.2 must wait %v; want 0", d)
	}
	// One in flight per address; the /64 allows two while free.
	ctx := context.Background()
	r1, _ := l.Reserve(ctx, "2001:db8:7::1")
	r2, _ := l.Reserve(ctx, "2001:db8:7::1")
	r3, _ := l.Reserve(ctx, "2001:db8:7::2")
	r4, _ := l.Reserve(ctx, "2001:db8:7::3")
	if !r1.OK() || !r2.Busy || !r3.OK() || !r4.Busy {
		t.Errorf("in flight: same address %+v, second address %+v, third %+v; want busy, reserved, busy", r2, r3, r4)
	}
	l.Finish(ctx, r1, Void)
	l.Finish(ctx, r3, Void)
	if d := waitOf(t, l, "2001:db8:7::3"); d != 0 {
		t.Errorf("after both finished: wait %v", d)
	}
}

var testIPPolicy = LimitPolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour,
	IPv6Net: &LimitPolicy{Free: 5, Base: time.Minute, Max: time.Hour, Window: time.Hour, Concurrent: 2}}

func TestMemoryLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(MemoryLimiterOptions{Policy: testPolicy, Now: func() time.Time { return now }})
	testLimiter(t, l, func(d time.Duration) { now = now.Add(d) })
	testLimiterRace(t, func(p LimitPolicy) Limiter { return NewMemoryLimiter(MemoryLimiterOptions{Policy: p}) })
	testLimiterIPv6(t, NewMemoryLimiter(MemoryLimiterOptions{Policy: testIPPolicy}))
	if n := NewMemoryLimiter(MemoryLimiterOptions{Policy: testPolicy}).Len(); n != 0 {
		t.Errorf("a new limiter holds %d keys", n)
	}
}

func TestMemoryLimiterBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(MemoryLimiterOptions{Policy: testPolicy, MaxKeys: 1000, Now: func() time.Time { return now }})
	ctx := context.Background()
	for i := range 50_000 {
		r, _ := l.Reserve(ctx, "ip-"+strconv.Itoa(i))
		if i%3 != 0 {
			l.Finish(ctx, r, Failed)
		}
		if i%100 == 0 {
			now = now.Add(10 * time.Millisecond)
		}
	}
	if n := l.Len(); n > 1000 {
		t.Errorf("MemoryLimiter holds %d keys, MaxKeys 1000", n)
	}
	// The most recent key is still counted.
	try(t, l, "ip-49999", Failed)
	try(t, l, "ip-49999", Failed)
	if d := waitOf(t, l, "ip-49999"); d == 0 {
		t.Errorf("recent key forgotten under pressure")
	}
	// A key whose attempts all ended is dropped when it has no failures.
	try(t, l, "brief", Void)
	try(t, l, "brief2", Forgive)
	l.mu.Lock()
	_, a := l.entries["brief"]
	_, b := l.entries["brief2"]
	l.mu.Unlock()
	if a || b {
		t.Errorf("keys without failures or attempts kept: %v %v", a, b)
	}
}

// redisClient starts a private redis-server (startRedis) and connects.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb, err := NewRedisClient(startRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestRedisLimiter(t *testing.T) {
	rdb := redisClient(t)
	l := NewRedisLimiter(rdb, "test:login", testPolicy)
	testLimiter(t, l, time.Sleep)
	var n atomic.Int64
	testLimiterRace(t, func(p LimitPolicy) Limiter {
		return NewRedisLimiter(rdb, "test:race"+strconv.FormatInt(n.Add(1), 10), p)
	})
	testLimiterIPv6(t, NewRedisLimiter(rdb, "test:ip", testIPPolicy))

	// Two instances on one Redis share the count and the attempts in
	// flight.
	a, b := NewRedisLimiter(rdb, "test:shared", testPolicy), NewRedisLimiter(rdb, "test:shared", testPolicy)
	ctx := context.Background()
	try(t, a, "dave", Failed)
	try(t, b, "dave", Failed)
	try(t, a, "dave", Failed)
	if d := waitOf(t, b, "dave"); !within(d, 200*time.Millisecond) {
		t.Errorf("the other instance's wait after 3 failures = %v, want 200ms", d)
	}
	r, _ := a.Reserve(ctx, "erin")
	if r2, _ := b.Reserve(ctx, "erin"); !r2.Busy {
		t.Errorf("the other instance reserved erin while an attempt is in flight: %+v", r2)
	}
	b.Finish(ctx, r, Void) // any instance may finish it (a Reservation is not tied to a client)
	if d := waitOf(t, a, "erin"); d != 0 {
		t.Errorf("erin after the void attempt: wait %v", d)
	}

	// Every key expires.
	keys, _ := rdb.Keys(ctx, "test:*").Result()
	if len(keys) == 0 {
		t.Fatal("no keys in Redis")
	}
	for _, k := range keys {
		if ttl, _ := rdb.PTTL(ctx, k).Result(); ttl < 0 {
			t.Errorf("key %s has no expiry", k)
		}
	}
	// A dead Redis is an error, not a silent pass.
	rdb2 := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb2.Close()
	if _, err := NewRedisLimiter(rdb2, "x", testPolicy).Reserve(ctx, "k"); err == nil {
		t.Errorf("Reserve on an unreachable Redis = nil error")
	}
}
