package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimiter is a Limiter shared by every instance through Redis, so
// that spreading guesses over instances behind a load balancer gains an
// attacker nothing. Per key it keeps three entries: a failure counter
// (PREFIX:n:KEY) expiring a window after the last failure, a block marker
// (PREFIX:b:KEY) whose remaining time to live is the wait, and the
// attempts in flight (PREFIX:f:KEY, a sorted set of random tokens scored
// by when each stops counting, so the marks of a crashed instance expire
// on their own). Reserve and Finish are each one Lua script, so the check
// and the count cannot be raced, even across instances; the time is
// Redis's own, so the instances' clocks do not matter.
type RedisLimiter struct {
	rdb    *redis.Client
	prefix string
	policy LimitPolicy
}

// NewRedisLimiter returns a Limiter on rdb; prefix separates limiters
// (e.g. "thumbmail:login:ip").
func NewRedisLimiter(rdb *redis.Client, prefix string, policy LimitPolicy) *RedisLimiter {
	return &RedisLimiter{rdb: rdb, prefix: prefix, policy: policy.withDefaults()}
}

// keys are the Redis keys of the limiter keys hs: counter, block and
// in-flight set of each in turn.
func (l *RedisLimiter) keys(hs []hold) []string {
	ks := make([]string, 0, 3*len(hs))
	for _, h := range hs {
		ks = append(ks, l.prefix+":n:"+h.key, l.prefix+":b:"+h.key, l.prefix+":f:"+h.key)
	}
	return ks
}

// The scripts' common part: the time in milliseconds, by Redis's clock
// (scripts are replicated by their effects since Redis 5, so reading the
// clock before writing is allowed), and the policy's delay, as
// LimitPolicy.Delay computes it.
const luaCommon = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function delay(n, free, base, cap)
  if n <= free then return 0 end
  local d = base
  for i = free + 2, n do
    if d >= cap then break end
    d = d * 2
  end
  return math.min(d, cap)
end
`

// reserveScript checks every key and, when none must wait, counts the
// attempt against each and marks it in flight. KEYS: counter, block and
// in-flight set per key. ARGV[1] the token; then per key: free, base,
// max, remember (ms), concurrent, hold (ms). It answers {wait ms, busy}.
var reserveScript = redis.NewScript(luaCommon + `
local token = ARGV[1]
local wait, busy = 0, 0
for i = 0, #KEYS / 3 - 1 do
  local n, b, f = KEYS[3*i+1], KEYS[3*i+2], KEYS[3*i+3]
  local a = 1 + 6*i
  local free, base, cap = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  local concurrent = tonumber(ARGV[a+5])
  local w = redis.call('PTTL', b)
  if w > wait then wait = w end
  redis.call('ZREMRANGEBYSCORE', f, '-inf', now)
  local flying = redis.call('ZCARD', f)
  local count = tonumber(redis.call('GET', n) or '0')
  if flying >= concurrent or (flying > 0 and delay(count + 1, free, base, cap) > 0) then busy = 1 end
end
if wait > 0 then return {wait, 0} end
if busy == 1 then return {0, 1} end
for i = 0, #KEYS / 3 - 1 do
  local n, f = KEYS[3*i+1], KEYS[3*i+3]
  local a = 1 + 6*i
  local remember, hold = tonumber(ARGV[a+4]), tonumber(ARGV[a+6])
  redis.call('INCR', n)
  redis.call('PEXPIRE', n, math.max(remember, hold))
  redis.call('ZADD', f, now + hold, token)
  redis.call('PEXPIRE', f, hold)
end
return {0, 0}
`)

// finishScript ends an attempt. KEYS as for reserveScript. ARGV[1] the
// token, ARGV[2] the outcome; then per key: free, base, max, remember
// (ms).
var finishScript = redis.NewScript(luaCommon + `
local token, outcome = ARGV[1], tonumber(ARGV[2])
for i = 0, #KEYS / 3 - 1 do
  local n, b, f = KEYS[3*i+1], KEYS[3*i+2], KEYS[3*i+3]
  local a = 2 + 4*i
  local free, base, cap, remember = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+4])
  redis.call('ZREM', f, token)
  local count = tonumber(redis.call('GET', n) or '0')
  if outcome == ` + fmt.Sprint(int(Failed)) + ` then
    if count > 0 then
      local d = delay(count, free, base, cap)
      if d > 0 and redis.call('PTTL', b) < d then redis.call('SET', b, 1, 'PX', d) end
      redis.call('PEXPIRE', n, remember)
    end
  elseif outcome == ` + fmt.Sprint(int(Void)) + ` then
    if count > 1 then redis.call('DECR', n) else redis.call('DEL', n) end
  else
    redis.call('DEL', n, b)
  end
end
return 0
`)

// Reserve implements Limiter.
func (l *RedisLimiter) Reserve(ctx context.Context, key string) (Reservation, error) {
	hs := limitKeys(&l.policy, key)
	var tok [12]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	args := []any{token}
	for i := range hs {
		hs[i].token = token
		p := hs[i].policy
		args = append(args, p.Free, p.Base.Milliseconds(), p.Max.Milliseconds(), p.remember().Milliseconds(), p.Concurrent, p.Hold.Milliseconds())
	}
	v, err := reserveScript.Run(ctx, l.rdb, l.keys(hs), args...).Int64Slice()
	if err != nil {
		return Reservation{}, err
	}
	if len(v) != 2 {
		return Reservation{}, fmt.Errorf("limiter script answered %v", v)
	}
	switch {
	case v[0] > 0:
		return Reservation{Wait: time.Duration(v[0]) * time.Millisecond}, nil
	case v[1] != 0:
		return Reservation{Wait: busyWait, Busy: true}, nil
	}
	return Reservation{holds: hs}, nil
}

// Finish implements Limiter.
func (l *RedisLimiter) Finish(ctx context.Context, r Reservation, o Outcome) error {
	if len(r.holds) == 0 {
		return nil
	}
	args := []any{r.holds[0].token, int(o)}
	for _, h := range r.holds {
		p := h.policy
		args = append(args, p.Free, p.Base.Milliseconds(), p.Max.Milliseconds(), p.remember().Milliseconds())
	}
	return finishScript.Run(ctx, l.rdb, l.keys(r.holds), args...).Err()
}
