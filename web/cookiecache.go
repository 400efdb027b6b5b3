package web

import (
	"sync"
	"time"
)

// cookieCache remembers recently decoded session cookies: verifying and
// decrypting one (HMAC, AES, gob) was a sixth of a list page's own work.
// A cookie value is immutable, so its decoding stays right; entries live
// cookieCacheTTL, so a cookie past securecookie's MaxAge is still refused
// soon after, and the server record (idle, lifetime, sign-out) is checked
// on every request as before. Bounded: full, it starts afresh.
type cookieCache struct {
	mu      sync.Mutex
	entries map[string]cookieEntry
}

type cookieEntry struct {
	id      string
	key     []byte
	expires time.Time
}

const (
	cookieCacheTTL = time.Minute
	cookieCacheMax = 10000
)

func (c *cookieCache) get(value string, now time.Time) (id string, key []byte, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[value]
	if !ok || now.After(e.expires) {
		return "", nil, false
	}
	return e.id, e.key, true
}

func (c *cookieCache) put(value, id string, key []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= cookieCacheMax {
		c.entries = make(map[string]cookieEntry)
	}
	c.entries[value] = cookieEntry{id: id, key: key, expires: now.Add(cookieCacheTTL)}
}
