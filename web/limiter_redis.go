package web

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimiter is a Limiter shared by every instance through Redis, so
// that spreading guesses over instances behind a load balancer gains an
// attacker nothing. Per key it keeps two entries: a failure counter
// (PREFIX:n:KEY) expiring a window after the last failure, and a block
// marker (PREFIX:b:KEY) whose remaining time to live is the wait.
type RedisLimiter struct {
	rdb    *redis.Client
	prefix string
	policy LimitPolicy
}

// NewRedisLimiter returns a Limiter on rdb; prefix separates limiters
// (e.g. "thumbmail:login:ip").
func NewRedisLimiter(rdb *redis.Client, prefix string, policy LimitPolicy) *RedisLimiter {
	if policy.Window <= 0 {
		policy.Window = time.Hour
	}
	return &RedisLimiter{rdb: rdb, prefix: prefix, policy: policy}
}

func (l *RedisLimiter) keys(key string) (count, block string) {
	return l.prefix + ":n:" + key, l.prefix + ":b:" + key
}

// failScript counts a failure and refreshes the counter's expiry in one
// step: KEYS[1] the counter, ARGV[1] the window in milliseconds.
var failScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
`)

// Wait implements Limiter.
func (l *RedisLimiter) Wait(ctx context.Context, key string) (time.Duration, error) {
	_, block := l.keys(key)
	d, err := l.rdb.PTTL(ctx, block).Result()
	if err != nil {
		return 0, err
	}
	// PTTL answers -2 (no key) or -1 (no expiry, never set by us).
	return max(d, 0), nil
}

// Fail implements Limiter.
func (l *RedisLimiter) Fail(ctx context.Context, key string) (time.Duration, error) {
	count, block := l.keys(key)
	n, err := failScript.Run(ctx, l.rdb, []string{count}, max(l.policy.Window, l.policy.Max).Milliseconds()).Int()
	if err != nil {
		return 0, err
	}
	d := l.policy.Delay(n)
	if d > 0 {
		if err := l.rdb.Set(ctx, block, 1, d).Err(); err != nil {
			return 0, err
		}
	}
	return d, nil
}

// Reset implements Limiter.
func (l *RedisLimiter) Reset(ctx context.Context, key string) error {
	count, block := l.keys(key)
	return l.rdb.Del(ctx, count, block).Err()
}
