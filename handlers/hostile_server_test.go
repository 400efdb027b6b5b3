package handlers

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
)

// startFloodingIMAP is an IMAP server that lets anyone in and answers
// any command after LOGIN with an endless response line.
func startFloodingIMAP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveFlood(c)
		}
	}()
	return ln.Addr().String()
}

func serveFlood(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	w.WriteString("* OK [CAPABILITY IMAP4rev1] ready\r\n")
	w.Flush()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[1]) {
		case "LOGIN":
			w.WriteString(f[0] + " OK [CAPABILITY IMAP4rev1] in\r\n")
		case "CAPABILITY":
			w.WriteString("* CAPABILITY IMAP4rev1\r\n" + f[0] + " OK\r\n")
		case "LOGOUT":
			return
		default:
			w.WriteString("* OK ")
			chunk := strings.Repeat("x", 64<<10)
			for range 4096 { // up to 256 MiB
				if _, err := w.WriteString(chunk); err != nil || w.Flush() != nil {
					return
				}
			}
		}
		w.Flush()
	}
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
