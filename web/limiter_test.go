package web

import (
	"context"
	"strconv"
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

// testLimiter runs the behaviour every Limiter must have. sleep lets the
// clock move (a fake clock for memory, real time for Redis).
func testLimiter(t *testing.T, l Limiter, sleep func(time.Duration)) {
	ctx := context.Background()
	// Policy under test: Free 2, Base 200ms, Max 800ms, Window 2s.
	for i := 1; i <= 2; i++ {
		if d, err := l.Fail(ctx, "alice"); err != nil || d != 0 {
			t.Fatalf("Fail #%d = %v, %v; want 0 (free)", i, d, err)
		}
	}
	if d, err := l.Wait(ctx, "alice"); err != nil || d != 0 {
		t.Fatalf("Wait after free failures = %v, %v; want 0", d, err)
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 800 * time.Millisecond}
	for i, w := range want {
		d, err := l.Fail(ctx, "alice")
		if err != nil || d != w {
			t.Fatalf("Fail #%d = %v, %v; want %v", i+3, d, err, w)
		}
	}
	if d, _ := l.Wait(ctx, "alice"); d <= 0 || d > 800*time.Millisecond {
		t.Errorf("Wait while blocked = %v, want in (0, 800ms]", d)
	}
	if d, _ := l.Wait(ctx, "bob"); d != 0 {
		t.Errorf("another key is blocked: Wait(bob) = %v", d)
	}
	sleep(900 * time.Millisecond)
	if d, _ := l.Wait(ctx, "alice"); d != 0 {
		t.Errorf("Wait after the delay passed = %v, want 0", d)
	}
	// Still counted: the next failure blocks again at once.
	if d, _ := l.Fail(ctx, "alice"); d != 800*time.Millisecond {
		t.Errorf("Fail after waiting = %v, want the capped 800ms", d)
	}
	if err := l.Reset(ctx, "alice"); err != nil {
		t.Fatalf("Reset = %v", err)
	}
	if d, _ := l.Wait(ctx, "alice"); d != 0 {
		t.Errorf("Wait after Reset = %v", d)
	}
	if d, _ := l.Fail(ctx, "alice"); d != 0 {
		t.Errorf("first Fail after Reset = %v, want 0", d)
	}
	// Failures are forgotten a window after the last one.
	for range 3 {
		l.Fail(ctx, "carol")
	}
	sleep(2100 * time.Millisecond)
	if d, _ := l.Fail(ctx, "carol"); d != 0 {
		t.Errorf("Fail after the window = %v, want 0 (forgotten)", d)
	}
}

var testPolicy = LimitPolicy{Free: 2, Base: 200 * time.Millisecond, Max: 800 * time.Millisecond, Window: 2 * time.Second}

func TestMemoryLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(MemoryLimiterOptions{Policy: testPolicy, Now: func() time.Time { return now }})
	testLimiter(t, l, func(d time.Duration) { now = now.Add(d) })
}

func TestMemoryLimiterBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(MemoryLimiterOptions{Policy: testPolicy, MaxKeys: 1000, Now: func() time.Time { return now }})
	ctx := context.Background()
	for i := range 50_000 {
		l.Fail(ctx, "ip-"+strconv.Itoa(i))
		if i%100 == 0 {
			now = now.Add(10 * time.Millisecond)
		}
	}
	if n := l.Len(); n > 1000 {
		t.Errorf("MemoryLimiter holds %d keys, MaxKeys 1000", n)
	}
	// The most recent key is still counted.
	l.Fail(ctx, "ip-49999")
	if d, _ := l.Fail(ctx, "ip-49999"); d == 0 {
		t.Errorf("recent key forgotten under pressure")
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
	// Two instances on one Redis share the count.
	a, b := NewRedisLimiter(rdb, "test:shared", testPolicy), NewRedisLimiter(rdb, "test:shared", testPolicy)
	ctx := context.Background()
	a.Fail(ctx, "dave")
	a.Fail(ctx, "dave")
	if d, _ := b.Fail(ctx, "dave"); d != 200*time.Millisecond {
		t.Errorf("third failure on the other instance = %v, want 200ms", d)
	}
	if d, _ := a.Wait(ctx, "dave"); d <= 0 {
		t.Errorf("first instance does not see the block: Wait = %v", d)
	}
	// Every key expires.
	keys, _ := rdb.Keys(ctx, "test:*").Result()
	for _, k := range keys {
		if ttl, _ := rdb.PTTL(ctx, k).Result(); ttl < 0 {
			t.Errorf("key %s has no expiry", k)
		}
	}
	// A dead Redis is an error, not a silent pass.
	rdb2 := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb2.Close()
	if _, err := NewRedisLimiter(rdb2, "x", testPolicy).Fail(ctx, "k"); err == nil {
		t.Errorf("Fail on an unreachable Redis = nil error")
	}
}
