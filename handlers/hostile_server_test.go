package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/imaptest"
)

// startFloodingIMAP is an IMAP server that lets anyone in and answers
// any command after LOGIN with an endless response line.
func startFloodingIMAP(t *testing.T) string {
	t.Helper()
	return imaptest.Start(t, &imaptest.Options{Default: func(w *imaptest.Writer, c imaptest.Command) {
		w.Write([]byte("* OK "))
		w.Endless(256 << 20)
	}}).Addr()
}

// TestHostileServerCleanPage: a server that floods thumbmail after login
// gives the user the "mail server unreachable" page quickly, not a hang
// or a 500, and none of its text.
func TestHostileServerCleanPage(t *testing.T) {
	e := newEnv(t, &envOptions{imapAddr: startFloodingIMAP(t), pool: &imapmail.PoolOptions{MaxResponseBytes: 4 << 20, MaxMessageBytes: 1 << 20}})
	c := e.login()
	for _, p := range []string{"/folders", "/f/INBOX"} {
		start := time.Now()
		r := e.get(c, p)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Mail server unreachable") {
			t.Errorf("GET %s from a flooding server = %d, want 503 with a plain message", p, r.status)
		}
		if strings.Contains(r.body, "xxxx") || strings.Contains(r.body, "response limit") {
			t.Errorf("GET %s shows upstream text", p)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("GET %s took %v", p, d)
		}
	}
}
