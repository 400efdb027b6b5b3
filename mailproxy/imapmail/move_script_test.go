package imapmail

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// scriptedIMAP is a tiny IMAP4rev1+UIDPLUS server without MOVE whose
// answers to UID STORE and UID EXPUNGE in INBOX the test picks, and which
// records every command, so the safe-move sequence can be checked step by
// step (mox-style peer scripting).
type scriptedIMAP struct {
	copyNO, storeNO, expungeNO bool

	mu   sync.Mutex
	cmds []string // `INBOX: UID COPY 1:2 "Target"`
}

func (s *scriptedIMAP) start(t *testing.T) string {
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

func (s *scriptedIMAP) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.cmds, "\n")
}

func (s *scriptedIMAP) serve(c net.Conn) {
	defer c.Close()
	w := func(lines ...string) {
		for _, l := range lines {
			c.Write([]byte(l + "\r\n"))
		}
	}
	w("* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready")
	br := bufio.NewReader(c)
	selected := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		tag, cmd, _ := strings.Cut(line, " ")
		verb := strings.ToUpper(cmd)
		s.mu.Lock()
		s.cmds = append(s.cmds, selected+": "+cmd)
		s.mu.Unlock()
		switch {
		case strings.HasPrefix(verb, "LOGIN"):
			w(tag + " OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in")
		case strings.HasPrefix(verb, `LIST "" ""`):
			w(`* LIST (\Noselect) "/" ""`, tag+" OK done")
		case strings.HasPrefix(verb, "SELECT"):
			selected = strings.Trim(strings.TrimSpace(cmd[len("SELECT"):]), `"`)
			if selected == "INBOX" {
				w("* 3 EXISTS", "* OK [UIDVALIDITY 7] v", "* OK [UIDNEXT 4] n", tag+" OK [READ-WRITE] selected")
			} else {
				w("* 11 EXISTS", "* OK [UIDVALIDITY 9] v", "* OK [UIDNEXT 12] n", tag+" OK [READ-WRITE] selected")
			}
		case strings.HasPrefix(verb, "UID SEARCH") && selected == "INBOX":
			w("* SEARCH 1 2 3", tag+" OK done")
		case strings.HasPrefix(verb, "UID COPY") && s.copyNO:
			w(tag + " NO [OVERQUOTA] over quota")
		case strings.HasPrefix(verb, "UID COPY"):
			w(tag + " OK [COPYUID 9 1:2 10:11] copied")
		case strings.HasPrefix(verb, "UID STORE") && selected == "INBOX" && s.storeNO:
			w(tag + " NO [SERVERBUG] cannot store")
		case strings.HasPrefix(verb, "UID EXPUNGE") && selected == "INBOX" && s.expungeNO:
			w(tag + " NO [SERVERBUG] cannot expunge")
		case strings.HasPrefix(verb, "LOGOUT"):
			w("* BYE bye", tag+" OK bye")
			return
		default:
			w(tag + " OK done")
		}
	}
}

// TestMoveFallbackSteps: without MOVE, the fallback waits for each step;
// a failed STORE takes the copies out again (no duplicates), a failed
// UID EXPUNGE leaves the originals flagged (nothing lost), and no plain
// EXPUNGE is ever sent.
func TestMoveFallbackSteps(t *testing.T) {
	for name, tc := range map[string]struct {
		copyNO, storeNO, expungeNO bool
		wantErr                    error
		want                       []string // in this order in the log
	}{
		"all well":      {want: []string{`INBOX: UID COPY 1:2 "Target"`, `INBOX: UID STORE 1:2 +FLAGS.SILENT (\Deleted)`, "INBOX: UID EXPUNGE 1:2"}},
		"store fails":   {storeNO: true, wantErr: mailproxy.ErrNotMoved, want: []string{`INBOX: UID COPY 1:2 "Target"`, `INBOX: UID STORE 1:2 +FLAGS.SILENT (\Deleted)`, `Target: UID STORE 10:11 +FLAGS.SILENT (\Deleted)`, "Target: UID EXPUNGE 10:11"}},
		"expunge fails": {expungeNO: true, want: []string{`INBOX: UID COPY 1:2 "Target"`, `INBOX: UID STORE 1:2 +FLAGS.SILENT (\Deleted)`, "INBOX: UID EXPUNGE 1:2"}},
		"copy fails":    {copyNO: true, wantErr: mailproxy.ErrNotMoved, want: []string{`INBOX: UID COPY 1:2 "Target"`}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := &scriptedIMAP{copyNO: tc.copyNO, storeNO: tc.storeNO, expungeNO: tc.expungeNO}
			p := NewPool(&PoolOptions{IMAP: mustUpstream(t, "imap+insecure://"+srv.start(t))})
			t.Cleanup(p.Close)
			res, err := p.Session("s", demoCreds).Move(context.Background(), "INBOX", []string{"7-1", "7-2"}, "Target")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Move() = %v, want %v", err, tc.wantErr)
			}
			log := srv.log()
			at := 0
			for _, w := range tc.want {
				i := strings.Index(log[at:], w)
				if i < 0 {
					t.Fatalf("command %q missing or out of order in:\n%s", w, log)
				}
				at += i + len(w)
			}
			if tc.copyNO && strings.Contains(log, "STORE") {
				t.Errorf("STORE sent after a failed COPY:\n%s", log)
			}
			for _, l := range strings.Split(log, "\n") {
				if strings.HasSuffix(l, ": EXPUNGE") || strings.Contains(l, "MOVE") {
					t.Errorf("sent %q", l)
				}
			}
			if err == nil {
				if tc.expungeNO != res.KeptDeleted || (tc.expungeNO && len(res.IDs) > 0) {
					t.Errorf("Move() = %+v: KeptDeleted/undo wrong after a failed expunge", res)
				}
				if !tc.expungeNO && (len(res.IDs) != 1 || res.IDs[0] != "9-10:11") {
					t.Errorf("Move() ids = %v, want [9-10:11]", res.IDs)
				}
			}
		})
	}
}
