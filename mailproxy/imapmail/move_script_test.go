package imapmail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imaptest"
)

// scriptedIMAP is a tiny IMAP4rev1+UIDPLUS server without MOVE whose
// answers to UID COPY, and to UID STORE and UID EXPUNGE in INBOX, the
// test picks, and which records every command, so the safe-move sequence
// can be checked step by step (mox-style peer scripting).
type scriptedIMAP struct {
	copyNO, storeNO, expungeNO bool

	srv *imaptest.Server
}

func (s *scriptedIMAP) start(t *testing.T) string {
	ok := imaptest.Answer("OK done")
	// inInbox answers no in INBOX when refuse is set, else OK.
	inInbox := func(refuse bool, no string) imaptest.Handler {
		return func(w *imaptest.Writer, c imaptest.Command) {
			if refuse && c.Selected == "INBOX" {
				w.Line(c.Tag + " " + no)
				return
			}
			ok(w, c)
		}
	}
	s.srv = imaptest.Start(t, &imaptest.Options{
		Caps: []string{"IMAP4rev1", "UIDPLUS"},
		Handlers: map[string]imaptest.Handler{
			"LIST": func(w *imaptest.Writer, c imaptest.Command) {
				if strings.HasPrefix(c.Args, `"" ""`) {
					w.Line(`* LIST (\Noselect) "/" ""`)
				}
				ok(w, c)
			},
			"SELECT": func(w *imaptest.Writer, c imaptest.Command) {
				if f := c.Fields(); len(f) > 0 && f[0] == "INBOX" {
					w.Line("* 3 EXISTS", "* OK [UIDVALIDITY 7] v", "* OK [UIDNEXT 4] n", c.Tag+" OK [READ-WRITE] selected")
				} else {
					w.Line("* 11 EXISTS", "* OK [UIDVALIDITY 9] v", "* OK [UIDNEXT 12] n", c.Tag+" OK [READ-WRITE] selected")
				}
			},
			"UID SEARCH": func(w *imaptest.Writer, c imaptest.Command) {
				if c.Selected == "INBOX" {
					w.Line("* SEARCH 1 2 3")
				}
				ok(w, c)
			},
			"UID COPY": func(w *imaptest.Writer, c imaptest.Command) {
				if s.copyNO {
					w.Line(c.Tag + " NO [OVERQUOTA] over quota")
				} else {
					w.Line(c.Tag + " OK [COPYUID 9 1:2 10:11] copied")
				}
			},
			"UID STORE":   inInbox(s.storeNO, "NO [SERVERBUG] cannot store"),
			"UID EXPUNGE": inInbox(s.expungeNO, "NO [SERVERBUG] cannot expunge"),
		},
		Default: ok,
	})
	return s.srv.Addr()
}

// log is every command received, as `INBOX: UID COPY 1:2 "Target"`: the
// mailbox selected, and the command after its tag.
func (s *scriptedIMAP) log() string {
	var lines []string
	for _, c := range s.srv.Commands() {
		_, cmd, _ := strings.Cut(c.Line, " ")
		lines = append(lines, c.Selected+": "+cmd)
	}
	return strings.Join(lines, "\n")
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
