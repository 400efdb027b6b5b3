package web

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startRedis runs a throw-away redis-server on a free loopback port,
// skipping (or failing with THUMBMAIL_REQUIRE_REAL=1) when there is none.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("THUMBMAIL_REQUIRE_REAL") == "1" {
			t.Fatal("redis-server is not installed and THUMBMAIL_REQUIRE_REAL=1 (Debian: apt-get install redis-server)")
		}
		t.Skip("redis-server is not installed (Debian: apt-get install redis-server); skipping")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			t.Fatalf("redis-server does not listen on %s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "redis://" + addr + "/3"
}

// TestRedisStore: records round-trip, expire with their ttl, are deleted,
// and are shared by two stores (two instances) on the same server.
func TestRedisStore(t *testing.T) {
	url := startRedis(t)
	ctx := context.Background()
	c1, err := NewRedisClient(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, _ := NewRedisClient(strings.Replace(url, "redis://", "valkey://", 1))
	defer c2.Close()
	a, b := NewRedisStore(c1), NewRedisStore(c2)
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v", err)
	}
	if _, err := a.Get(ctx, "nope"); err != ErrNoSession {
		t.Errorf("Get(missing) = %v, want ErrNoSession", err)
	}
	now := time.Now().Truncate(time.Second).UTC()
	rec := &Record{Sealed: []byte{1, 2, 3}, Created: now, LastSeen: now, Persistent: true}
	if err := a.Put(ctx, "s1", rec, time.Minute); err != nil {
		t.Fatalf("Put() = %v", err)
	}
	got, err := b.Get(ctx, "s1")
	if err != nil || string(got.Sealed) != "\x01\x02\x03" || !got.Created.Equal(now) || !got.Persistent {
		t.Fatalf("Get() on the other instance = %+v, %v", got, err)
	}
	if ttl := c1.TTL(ctx, "thumbmail:session:s1").Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("TTL = %v, want about 1m", ttl)
	}
	if err := b.Delete(ctx, "s1"); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if _, err := a.Get(ctx, "s1"); err != ErrNoSession {
		t.Errorf("Get() after Delete on the other instance = %v, want ErrNoSession", err)
	}
	if err := a.Put(ctx, "short", rec, time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := a.Get(ctx, "short"); err != ErrNoSession {
		t.Errorf("Get() after the ttl = %v, want ErrNoSession", err)
	}
}

func TestNewRedisClientURLs(t *testing.T) {
	good := map[string]string{
		"redis://127.0.0.1:6379/2":      "127.0.0.1:6379",
		"valkey://:pw@cache:6380/0":     "cache:6380",
		"rediss://user:pw@cache.tls/1":  "cache.tls:6379",
		"valkeys://cache.example.org:1": "cache.example.org:1",
	}
	for in, addr := range good {
		c, err := NewRedisClient(in)
		if err != nil {
			t.Errorf("NewRedisClient(%q) = %v", in, err)
			continue
		}
		o := c.Options()
		if o.Addr != addr || (strings.HasPrefix(in, "rediss") || strings.HasPrefix(in, "valkeys")) != (o.TLSConfig != nil) {
			t.Errorf("NewRedisClient(%q): addr %q TLS %v", in, o.Addr, o.TLSConfig != nil)
		}
		if strings.Contains(in, "pw@") && o.Password != "pw" {
			t.Errorf("NewRedisClient(%q): password not taken from the URL", in)
		}
		c.Close()
	}
	for _, in := range []string{"http://x", "redis://x/notadb", "::"} {
		if _, err := NewRedisClient(in); err == nil {
			t.Errorf("NewRedisClient(%q) accepted", in)
		}
	}
}
