package discover

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// fakeBackend records which session ids it served.
type fakeBackend struct {
	proto string
	err   error // what Login answers

	mu       sync.Mutex
	logins   map[string]mailproxy.Credentials
	sessions map[string]int
	logouts  map[string]int
	closed   bool
}

func newFakeBackend(proto string) *fakeBackend {
	return &fakeBackend{proto: proto, logins: map[string]mailproxy.Credentials{}, sessions: map[string]int{}, logouts: map[string]int{}}
}

func (b *fakeBackend) Login(_ context.Context, id string, creds mailproxy.Credentials) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logins[id] = creds
	return b.err
}

func (b *fakeBackend) Session(id string, _ mailproxy.Credentials) mailproxy.Session {
	b.mu.Lock()
	b.sessions[id]++
	b.mu.Unlock()
	return nil
}

func (b *fakeBackend) Logout(id string) {
	b.mu.Lock()
	b.logouts[id]++
	b.mu.Unlock()
}

func (b *fakeBackend) Caps() mailproxy.Caps {
	if b.proto == "pop3" {
		return mailproxy.Caps{Collect: true}
	}
	return mailproxy.Caps{Folders: true, Flags: true, Move: true, Search: true}
}

func (b *fakeBackend) Close() { b.mu.Lock(); b.closed = true; b.mu.Unlock() }

func (b *fakeBackend) Stats() (int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.logins), 1
}

// TestRouterRoutes: sessions go to the backend of their account's
// protocol, from many goroutines at once (-race); logout reaches both.
func TestRouterRoutes(t *testing.T) {
	imapB, pop3B := newFakeBackend("imap"), newFakeBackend("pop3")
	r := NewRouter(imapB, pop3B, NewFinder(Options{Guard: NewGuard(nil), Floor: time.Millisecond}))
	servers := map[string]*mailproxy.Servers{
		"imap": {Mail: mailproxy.Upstream{Protocol: "imap", Host: "imap.example.org", Port: "993"}, Source: "autoconfig"},
		"pop3": {Mail: mailproxy.Upstream{Protocol: "pop3", Host: "pop.example.org", Port: "995"}, Source: "probe"},
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			proto := []string{"imap", "pop3"}[i%2]
			id := fmt.Sprintf("%s-%d", proto, i)
			creds := mailproxy.Credentials{Username: id + "@example.org", Password: "pw", Servers: servers[proto]}
			if err := r.Login(context.Background(), id, creds); err != nil {
				t.Errorf("Login(%s) = %v", id, err)
			}
			r.Session(id, creds)
			r.Logout(id)
			r.Caps()
			r.Stats()
		})
	}
	wg.Wait()
	for _, b := range []*fakeBackend{imapB, pop3B} {
		if len(b.logins) != 100 || len(b.sessions) != 100 {
			t.Errorf("%s backend: %d logins, %d sessions, want 100 each", b.proto, len(b.logins), len(b.sessions))
		}
		for id, c := range b.logins {
			if c.Servers.Mail.Protocol != b.proto {
				t.Errorf("%s backend got %s for %s", b.proto, c.Servers.Mail, id)
			}
		}
		if len(b.logouts) != 200 {
			t.Errorf("%s backend: %d logouts, want all 200 ids", b.proto, len(b.logouts))
		}
	}
	if c := r.Caps(); !c.Folders || !c.Collect {
		t.Errorf("Caps = %+v, want IMAP's with POP3's collect choice", c)
	}
	r.Close()
	if !imapB.closed || !pop3B.closed {
		t.Error("Close did not close both backends")
	}
}

// TestRouterUniformLoginFailure: a discovered server that cannot be
// reached is ErrNoServer at the floor; a refused password is ErrAuth at
// once; a pinned server keeps its own errors.
func TestRouterUniformLoginFailure(t *testing.T) {
	imapB := newFakeBackend("imap")
	r := NewRouter(imapB, nil, NewFinder(Options{Guard: NewGuard(nil), Floor: 300 * time.Millisecond}))
	found := &mailproxy.Servers{Mail: mailproxy.Upstream{Protocol: "imap", Host: "imap.example.org", Port: "993"}, Source: "srv"}
	pinned := &mailproxy.Servers{Mail: found.Mail, Source: "pinned"}
	for _, tc := range []struct {
		servers *mailproxy.Servers
		err     error
		want    error
		slow    bool
	}{
		{found, fmt.Errorf("%w: dial: connection refused", mailproxy.ErrUnavailable), mailproxy.ErrNoServer, true},
		{found, fmt.Errorf("%w: refused", mailproxy.ErrAuth), mailproxy.ErrAuth, false},
		{found, fmt.Errorf("%w: %w: slow", mailproxy.ErrUnavailable, mailproxy.ErrLoginStalled), mailproxy.ErrLoginStalled, false},
		{pinned, fmt.Errorf("%w: dial", mailproxy.ErrUnavailable), mailproxy.ErrUnavailable, false},
	} {
		imapB.err = tc.err
		start := time.Now()
		err := r.Login(context.Background(), "id", mailproxy.Credentials{Username: "u@example.org", Servers: tc.servers})
		took := time.Since(start)
		if !errors.Is(err, tc.want) || (tc.want != mailproxy.ErrNoServer && errors.Is(err, mailproxy.ErrNoServer)) {
			t.Errorf("%s, %v: Login = %v, want %v", tc.servers.Source, tc.err, err, tc.want)
		}
		if tc.slow != (took >= 300*time.Millisecond) {
			t.Errorf("%s, %v: took %v (padded: %v)", tc.servers.Source, tc.err, took, tc.slow)
		}
	}
}
