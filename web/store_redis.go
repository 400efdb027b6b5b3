package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewRedisClient makes a client for a Redis or Valkey URL:
// redis://[user:password@]host[:6379][/db] (valkey:// is the same),
// rediss:// or valkeys:// for TLS, unix:///path/to/socket?db=N. It does no
// I/O; other parts of thumbmail (the session store, rate limits) share the
// one client.
func NewRedisClient(rawURL string) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("session store URL: %v", err)
	}
	switch u.Scheme {
	case "valkey":
		u.Scheme = "redis"
	case "valkeys":
		u.Scheme = "rediss"
	}
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("session store URL: %v", err)
	}
	// A request waits at most about 4 s on a stuck server, then the page
	// says to try again.
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	opts.MaxRetries = 1
	return redis.NewClient(opts), nil
}

// RedisStore keeps session records in Redis (or Valkey), so several
// instances share them: any instance serves any request, a logout on one
// ends the session everywhere and a restart signs nobody out. Records
// expire with their ttl (Redis EX). Keys are "thumbmail:session:" + the
// hashed session id; values are the sealed record as JSON.
type RedisStore struct {
	c      *redis.Client
	prefix string
}

// NewRedisStore returns a store on c (from NewRedisClient).
func NewRedisStore(c *redis.Client) *RedisStore {
	return &RedisStore{c: c, prefix: "thumbmail:session:"}
}

// Get returns the record, ErrNoSession when it is missing or expired.
func (s *RedisStore) Get(ctx context.Context, id string) (*Record, error) {
	b, err := s.c.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, ErrNoSession
	}
	return &rec, nil
}

// Put stores rec for ttl (at least one second).
func (s *RedisStore) Put(ctx context.Context, id string, rec *Record, ttl time.Duration) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.c.Set(ctx, s.prefix+id, b, max(ttl, time.Second)).Err(); err != nil {
		return fmt.Errorf("session store: %w", err)
	}
	return nil
}

// Delete removes a record; deleting a missing one is not an error.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	if err := s.c.Del(ctx, s.prefix+id).Err(); err != nil {
		return fmt.Errorf("session store: %w", err)
	}
	return nil
}

// Ping checks that the server answers, for start-up.
func (s *RedisStore) Ping(ctx context.Context) error {
	return s.c.Ping(ctx).Err()
}
