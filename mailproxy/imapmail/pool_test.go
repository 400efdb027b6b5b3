package imapmail

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imaptest"

	"github.com/thumbmail/thumbmail/mailproxy/demo"
)

func demoPool(t *testing.T, opts PoolOptions) (*Pool, *demo.Server) {
	t.Helper()
	d, err := demo.Start(nil)
	if err != nil {
		t.Fatalf("demo.Start() = %v", err)
	}
	t.Cleanup(func() { d.Close() })
	up, err := mailproxy.ParseUpstream(d.URL(), "imap")
	if err != nil {
		t.Fatal(err)
	}
	opts.IMAP = up
	p := NewPool(&opts)
	t.Cleanup(p.Close)
	return p, d
}

var demoCreds = mailproxy.Credentials{Username: "demo", Password: "demo"}

func TestPoolLogin(t *testing.T) {
	p, _ := demoPool(t, PoolOptions{})
	ctx := context.Background()
	if err := p.Login(ctx, "s1", mailproxy.Credentials{Username: "demo", Password: "nope"}); !errors.Is(err, mailproxy.ErrAuth) {
		t.Errorf("Login(wrong password) = %v, want ErrAuth", err)
	}
	if _, conns := p.Stats(); conns != 0 {
		t.Errorf("a failed login keeps %d connections", conns)
	}
	if err := p.Login(ctx, "s2", demoCreds); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	if sessions, conns := p.Stats(); sessions != 1 || conns != 1 {
		t.Errorf("Stats() = %d, %d; want 1 session, 1 connection", sessions, conns)
	}
	p.Logout("s2")
	if _, conns := p.Stats(); conns != 0 {
		t.Errorf("Logout left %d connections", conns)
	}
}

func TestPoolIdleConnectionsClosed(t *testing.T) {
	p, _ := demoPool(t, PoolOptions{IdleTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	if err := p.Login(ctx, "s", demoCreds); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, conns := p.Stats(); conns == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle connection not closed after 3s (IdleTimeout 200ms)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The session still works: it reconnects.
	if _, err := p.Session("s", demoCreds).List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10}); err != nil {
		t.Errorf("List after idle close = %v", err)
	}
}

// quietVerbs silences the peer's built-in answers besides LOGIN: a
// server that stalls says nothing to CAPABILITY, NOOP or LOGOUT either.
var quietVerbs = map[string]imaptest.Handler{"CAPABILITY": imaptest.Silent, "NOOP": imaptest.Silent, "LOGOUT": imaptest.Silent}

// stallingServer greets and then never answers again, except, with
// answerLogin, LOGIN (its reply carries the capabilities, so the client
// needs nothing more before its first real command).
func stallingServer(t *testing.T, answerLogin bool) string {
	login := imaptest.LoginStall
	if answerLogin {
		login = imaptest.LoginAccept
	}
	return imaptest.Start(t, &imaptest.Options{Login: login, Handlers: quietVerbs, Default: imaptest.Silent}).Addr()
}

func TestPoolDialDeadline(t *testing.T) {
	up, _ := mailproxy.ParseUpstream("imap+insecure://"+stallingServer(t, false), "imap")
	p := NewPool(&PoolOptions{IMAP: up, DialTimeout: 300 * time.Millisecond, LoginTimeout: 500 * time.Millisecond})
	defer p.Close()
	// LOGIN is never answered: the login deadline ends it, and says the
	// server greeted but stalled the login (a slow refusal, as far as a
	// sign-in limiter can tell). (A CAPABILITY left unanswered after
	// LOGIN cannot be tested reliably: go-imap may answer Caps() from the
	// greeting's list, depending on timing.)
	start := time.Now()
	if err := p.Login(context.Background(), "s", demoCreds); !errors.Is(err, mailproxy.ErrUnavailable) || !errors.Is(err, mailproxy.ErrLoginStalled) {
		t.Errorf("Login() = %v, want ErrUnavailable and ErrLoginStalled", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 5*time.Second {
		t.Errorf("Login on a silent server took %v; the login deadline is 500ms", d)
	}
}

// A server that accepts the connection but never greets is unreachable
// after DialTimeout, not after the (longer) login deadline, and that is
// not a stalled login.
func TestPoolNoGreeting(t *testing.T) {
	srv := imaptest.Start(t, &imaptest.Options{Greet: func(w *imaptest.Writer) { w.Hang() }})
	up, _ := mailproxy.ParseUpstream(srv.URL(), "imap")
	p := NewPool(&PoolOptions{IMAP: up, DialTimeout: 300 * time.Millisecond, LoginTimeout: time.Minute})
	defer p.Close()
	start := time.Now()
	err := p.Login(context.Background(), "s", demoCreds)
	if !errors.Is(err, mailproxy.ErrUnavailable) || errors.Is(err, mailproxy.ErrLoginStalled) {
		t.Errorf("Login() = %v, want ErrUnavailable without ErrLoginStalled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Login on a server that never greets took %v; the dial deadline is 300ms", d)
	}
}

func TestPoolCommandDeadline(t *testing.T) {
	up, _ := mailproxy.ParseUpstream("imap+insecure://"+stallingServer(t, true), "imap")
	p := NewPool(&PoolOptions{IMAP: up, CommandTimeout: 300 * time.Millisecond})
	defer p.Close()
	ctx := context.Background()
	if err := p.Login(ctx, "s", demoCreds); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	start := time.Now()
	_, err := p.Session("s", demoCreds).List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10})
	if !errors.Is(err, mailproxy.ErrUnavailable) {
		t.Errorf("List on a silent server = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("List on a silent server took %v; the deadline is 300ms", d)
	}
	if _, conns := p.Stats(); conns != 0 {
		t.Errorf("the timed-out connection was kept (%d live)", conns)
	}
}

func TestPoolUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	up, _ := mailproxy.ParseUpstream("imap+insecure://"+addr, "imap")
	p := NewPool(&PoolOptions{IMAP: up})
	defer p.Close()
	if err := p.Login(context.Background(), "s", demoCreds); !errors.Is(err, mailproxy.ErrUnavailable) {
		t.Errorf("Login to a closed port = %v, want ErrUnavailable", err)
	}
}

func TestPoolSelectionKept(t *testing.T) {
	p, _ := demoPool(t, PoolOptions{})
	ctx := context.Background()
	s := p.Session("s", demoCreds).(*imapSession)
	page, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	var before *imapConn
	s.e.do(ctx, demoCreds, false, func(c *imapConn) error { before = c; return nil })
	if before.selected != "INBOX" {
		t.Fatalf("INBOX not kept selected: %q", before.selected)
	}
	if _, err := s.Message(ctx, "INBOX", page.Messages[0].ID, mailproxy.ViewOptions{}); err != nil {
		t.Fatal(err)
	}
	var after *imapConn
	s.e.do(ctx, demoCreds, false, func(c *imapConn) error { after = c; return nil })
	if after != before || after.selected != "INBOX" {
		t.Errorf("the connection or selection changed between requests")
	}
}

// TestSpecialFolder: special-use folders are found by SPECIAL-USE, and by
// common names on a server without it ("Deleted Items", "Spam").
func TestSpecialFolder(t *testing.T) {
	special := func(p *Pool, use string) (string, error) {
		var name string
		s := p.Session("s", demoCreds).(*imapSession)
		err := s.do(context.Background(), func(c *imapConn) error {
			var err error
			name, err = c.specialFolder(use)
			return err
		})
		return name, err
	}
	p, _ := demoPool(t, PoolOptions{})
	for use, want := range map[string]string{"trash": "Trash", "sent": "Sent", "drafts": "Drafts", "junk": "Junk", "archive": "Archive"} {
		if got, err := special(p, use); err != nil || got != want {
			t.Errorf("specialFolder(%q) = %q, %v; want %q", use, got, err, want)
		}
	}

	// Without SPECIAL-USE, by name.
	caps := demo.DefaultCaps()
	delete(caps, imap.CapSpecialUse)
	delete(caps, imap.CapIMAP4rev2)
	delete(caps, imap.CapCreateSpecialUse)
	d, err := demo.Start(&demo.Options{Caps: caps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, name := range []string{"Deleted Items", "Spam"} {
		if err := d.CreateMailbox(name); err != nil {
			t.Fatal(err)
		}
	}
	up, _ := mailproxy.ParseUpstream(d.URL(), "imap")
	p2 := NewPool(&PoolOptions{IMAP: up})
	t.Cleanup(p2.Close)
	if got, err := special(p2, "sent"); err != nil || got != "Sent" {
		t.Errorf("without SPECIAL-USE: specialFolder(sent) = %q, %v", got, err)
	}
	if got, err := special(p2, "trash"); err != nil || (got != "Trash" && got != "Deleted Items") {
		t.Errorf("without SPECIAL-USE: specialFolder(trash) = %q, %v", got, err)
	}
	if _, err := special(p2, "nonsense"); !errors.Is(err, mailproxy.ErrNotFound) {
		t.Errorf("specialFolder(nonsense) = %v, want ErrNotFound", err)
	}
}

// loginServer greets, accepts any LOGIN and records the names it was
// given, answers LOGOUT; other commands get silence.
func loginServer(t *testing.T) (addr string, names func() []string) {
	srv := imaptest.Start(t, &imaptest.Options{
		Handlers: map[string]imaptest.Handler{"CAPABILITY": imaptest.Silent, "NOOP": imaptest.Silent},
		Default:  imaptest.Silent,
	})
	return srv.Addr(), func() []string {
		var seen []string
		for _, c := range srv.Commands() {
			if f := c.Fields(); c.Verb == "LOGIN" && len(f) >= 1 {
				seen = append(seen, f[0])
			}
		}
		return seen
	}
}

// TestPoolUserCapFoldsCase: "ALICE", "Alice" and "alice" are one account
// on the server (Dovecot lower-cases names), so they share one per-user
// connection cap; the name sent to the server is the one typed.
func TestPoolUserCapFoldsCase(t *testing.T) {
	addr, names := loginServer(t)
	up, _ := mailproxy.ParseUpstream("imap+insecure://"+addr, "imap")
	p := NewPool(&PoolOptions{IMAP: up, MaxPerUser: 2, DialTimeout: time.Second})
	t.Cleanup(p.Close)
	ctx := context.Background()
	spellings := []string{"ALICE", "alice", "Alice", "aLiCe"}
	for i, u := range spellings {
		if err := p.Login(ctx, "s"+strconv.Itoa(i), mailproxy.Credentials{Username: u, Password: "pw"}); err != nil {
			t.Fatalf("Login(%q) = %v", u, err)
		}
		if _, conns := p.Stats(); conns > 2 {
			t.Fatalf("after signing in as %q: %d connections for one account, cap 2", u, conns)
		}
	}
	if got := names(); strings.Join(got, ",") != "ALICE,alice,Alice,aLiCe" {
		t.Errorf("names sent to the server = %q, want them as typed", got)
	}
	// Another account has its own cap.
	if err := p.Login(ctx, "b", mailproxy.Credentials{Username: "bob", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if _, conns := p.Stats(); conns != 3 {
		t.Errorf("%d connections with alice at her cap of 2 and bob signed in; want 3", conns)
	}
	if k := mailproxy.UserKey("  ÄLICE@Example.ORG "); k != "älice@example.org" {
		t.Errorf("UserKey = %q", k)
	}
}
