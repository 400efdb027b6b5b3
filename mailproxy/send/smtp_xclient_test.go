package send

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// scriptedSMTP accepts everything and records the commands it got;
// xclient makes its EHLO offer XCLIENT (as Postfix does to
// smtpd_authorized_xclient_hosts).
type scriptedSMTP struct {
	xclient bool
	mu      sync.Mutex
	cmds    []string
}

func (s *scriptedSMTP) start(t *testing.T) string {
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
			go s.serve(c)
		}
	}()
	return ln.Addr().String()
}

func (s *scriptedSMTP) serve(c net.Conn) {
	defer c.Close()
	w := func(l string) { c.Write([]byte(l + "\r\n")) }
	br := bufio.NewReader(c)
	w("220 mx.example ESMTP")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.cmds = append(s.cmds, line)
		s.mu.Unlock()
		verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
		switch verb {
		case "EHLO":
			w("250-mx.example")
			if s.xclient {
				w("250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN")
			}
			w("250-AUTH PLAIN")
			w("250 8BITMIME")
		case "XCLIENT":
			w("220 mx.example ESMTP again")
		case "AUTH":
			w("235 2.7.0 ok")
		case "DATA":
			w("354 go on")
			for {
				l, err := br.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
			}
			w("250 2.0.0 queued")
		case "QUIT":
			w("221 bye")
			return
		default:
			w("250 ok")
		}
	}
}

func (s *scriptedSMTP) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// With ForwardClient, the browser's address goes to a server that offers
// XCLIENT before anything else (IPv6 spelled IPV6:), and the session goes
// on with a fresh EHLO; servers without XCLIENT, and a Submitter without
// ForwardClient, see none of it.
func TestSMTPXClient(t *testing.T) {
	for _, tc := range []struct {
		name             string
		offer, forward   bool
		client           string
		want, wantAbsent string
	}{
		{"ipv6", true, true, "[2001:db8::5]:4321", "XCLIENT ADDR=IPV6:2001:db8::5 PORT=4321", ""},
		{"ipv4 mapped", true, true, "[::ffff:203.0.113.9]:0", "XCLIENT ADDR=203.0.113.9", "PORT="},
		{"not offered", false, true, "203.0.113.9:1", "", "XCLIENT"},
		{"not forwarding", true, false, "203.0.113.9:1", "", "XCLIENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &scriptedSMTP{xclient: tc.offer}
			up, err := mailproxy.ParseUpstream("smtp+insecure://"+srv.start(t), "smtp")
			if err != nil {
				t.Fatal(err)
			}
			sub := NewSubmitter(&SubmitOptions{SMTP: up, ForwardClient: tc.forward})
			ctx := mailproxy.WithClient(context.Background(), netip.MustParseAddrPort(tc.client))
			if err := sub.Send(ctx, mailproxy.Credentials{Username: "a", Password: "b"}, "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			log := strings.Join(srv.log(), "\n")
			if tc.want != "" && !strings.Contains(log, tc.want) {
				t.Errorf("server got:\n%s\nwant %q", log, tc.want)
			}
			if tc.wantAbsent != "" && strings.Contains(log, tc.wantAbsent) {
				t.Errorf("server got:\n%s\nwant no %q", log, tc.wantAbsent)
			}
			if !strings.Contains(log, "MAIL FROM:<a@example.org>") || !strings.HasSuffix(log, "QUIT") {
				t.Errorf("the session did not go on after XCLIENT:\n%s", log)
			}
			if tc.want != "" {
				at := strings.Index(log, "XCLIENT")
				if !strings.HasPrefix(log, "EHLO") || !strings.Contains(log[at:], "\nEHLO") || !strings.Contains(log[at:], "AUTH PLAIN") {
					t.Errorf("want EHLO, XCLIENT, EHLO again, then AUTH:\n%s", log)
				}
			}
		})
	}
}
