package handlers

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
)

// stallingProxy forwards IMAP to target but holds every command line
// that contains one of stall for delay before passing it on: a server
// slow to answer exactly those commands.
func stallingProxy(t *testing.T, target string, delay time.Duration, stall ...string) string {
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
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() {
				defer s.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					for _, x := range stall {
						if strings.Contains(line, x) {
							time.Sleep(delay)
						}
					}
					if _, err := io.WriteString(s, line); err != nil {
						return
					}
				}
			}()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TestNicetiesDoNotHoldPages: a server that takes 5 s over the preview
// fetches (and the conversation and previous/next lookups) still gets
// the list and the message shown within the nicety budget, without
// what was late; the next request works on a fresh connection.
func TestNicetiesDoNotHoldPages(t *testing.T) {
	d := newEnv(t, nil) // only for its demo server
	addr := stallingProxy(t, d.demo.Addr(), 5*time.Second, "BODY.PEEK[1]<0.", "BODY.PEEK[1.1]<0.", "BODY.PEEK[2]<0.", "SEARCH", " (UID)\r\n")
	e := newEnv(t, &envOptions{imapAddr: addr, pool: &imapmail.PoolOptions{NicetyTimeout: 300 * time.Millisecond}})
	c := e.login()
	start := time.Now()
	r := e.get(c, "/f/INBOX")
	took := time.Since(start)
	if r.status != http.StatusOK || len(messageLinks(r.body)) == 0 {
		t.Fatalf("list with slow previews = %d with %d rows", r.status, len(messageLinks(r.body)))
	}
	if took > 2*time.Second {
		t.Errorf("list waited %v on previews (budget 300ms)", took)
	}
	if strings.Contains(r.body, "<small>") {
		t.Errorf("previews shown although every preview fetch was late")
	}
	link := messageLinks(r.body)[0]
	start = time.Now()
	m := e.get(c, link)
	if m.status != http.StatusOK || !strings.Contains(m.body, `class="body`) {
		t.Fatalf("message after a nicety timeout = %d", m.status)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("message page took %v", took)
	}
	if strings.Contains(m.body, `rel="prev"`) || strings.Contains(m.body, `rel="next"`) {
		t.Errorf("previous/next shown although their lookup was late")
	}
	// And the connection is usable again afterwards.
	if r := e.get(c, "/folders"); r.status != http.StatusOK {
		t.Errorf("folders after the nicety timeouts = %d", r.status)
	}
}
