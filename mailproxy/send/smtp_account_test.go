package send

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
)

// recordingGuard records every dial it makes (mailproxy.Guard).
type recordingGuard struct{ dialed []string }

func (g *recordingGuard) Dial(ctx context.Context, up mailproxy.Upstream) (net.Conn, error) {
	g.dialed = append(g.dialed, up.Addr())
	var d net.Dialer
	return d.DialContext(ctx, "tcp", up.Addr())
}

// TestSendAccountServer: an account with its own submission server (found
// at sign-in) sends through it, through the Guard, and signs in with its
// login name (the server takes only that); without one, the pinned server is used; with neither,
// nothing is sent.
func TestSendAccountServer(t *testing.T) {
	pinnedURL, pinnedLines := recordingPeer(t)
	pinned, _ := mailproxy.ParseUpstream(pinnedURL, "smtp")
	// The account's server takes only the login name "alice".
	var delivered int
	srv, err := demo.StartSMTP(&demo.SMTPOptions{Username: "alice", Password: "pw", Deliver: func(demo.Submission) error { delivered++; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	own, _ := mailproxy.ParseUpstream(srv.URL(), "smtp")
	g := &recordingGuard{}
	msg := []byte("From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhi\r\n")
	account := mailproxy.Credentials{Username: "alice@example.org", Password: "pw",
		Servers: &mailproxy.Servers{Mail: mailproxy.Upstream{Protocol: "pop3", Host: "pop.example.org", Port: "995"}, SMTP: own, Source: "autoconfig", Login: "alice"}}

	s := NewSubmitter(&SubmitOptions{SMTP: pinned, Guard: g, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err := s.Send(context.Background(), account, "alice@example.org", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("Send(account's server) = %v", err)
	}
	if len(pinnedLines()) != 0 || delivered != 1 {
		t.Errorf("sent through the pinned server (%d lines) instead of the account's (%d delivered)", len(pinnedLines()), delivered)
	}
	if len(g.dialed) != 1 || g.dialed[0] != own.Addr() {
		t.Errorf("guard dialed %v, want [%s]", g.dialed, own.Addr())
	}

	if err := s.Send(context.Background(), mailproxy.Credentials{Username: "demo", Password: "demo"}, "demo@example.org", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("Send(pinned) = %v", err)
	}
	if len(pinnedLines()) == 0 {
		t.Error("an account without its own server did not use the pinned one")
	}

	none := NewSubmitter(&SubmitOptions{Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if _, ok := none.For(mailproxy.Credentials{Username: "x"}); ok {
		t.Error("For() = ok without any submission server")
	}
	if err := none.Send(context.Background(), mailproxy.Credentials{Username: "x"}, "x@example.org", []string{"bob@example.org"}, msg); !errors.Is(err, mailproxy.ErrUnsupported) {
		t.Errorf("Send without a server = %v, want ErrUnsupported", err)
	}
}
