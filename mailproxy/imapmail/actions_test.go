package imapmail

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
)

// capVariants are the servers the actions must work against: full
// (IMAP4rev2: MOVE and UIDPLUS), IMAP4rev1 with UIDPLUS but no MOVE, and
// a bare IMAP4rev1 with neither.
var capVariants = map[string]imap.CapSet{
	"move+uidplus": nil,
	"uidplus only": {imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapSpecialUse: {}, imap.CapESearch: {}},
	"neither":      {imap.CapIMAP4rev1: {}, imap.CapSpecialUse: {}},
}

// oddFolder has every character that needs care: quotes, '&' (modified
// UTF-7's shift character), '.', a space and non-ASCII.
const oddFolder = `Odd "q" & Grüße.v 1`

// actionsEnv starts a demo server with caps and returns a session on it.
func actionsEnv(t *testing.T, caps imap.CapSet) (mailproxy.Session, *demo.Server) {
	t.Helper()
	d, err := demo.Start(&demo.Options{Caps: caps})
	if err != nil {
		t.Fatalf("demo.Start() = %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.CreateMailbox(oddFolder); err != nil {
		t.Fatalf("CreateMailbox(%q) = %v", oddFolder, err)
	}
	up, err := mailproxy.ParseUpstream(d.URL(), "imap")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(&PoolOptions{IMAP: up})
	t.Cleanup(p.Close)
	return p.Session("s", demoCreds), d
}

// rawFlags reads every message's UID and flags of folder with a client of
// its own, as another mail program would.
func rawFlags(t *testing.T, d *demo.Server, folder string) map[imap.UID][]imap.Flag {
	t.Helper()
	c, err := imapclient.DialInsecure(d.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("demo", "demo").Wait(); err != nil {
		t.Fatalf("Login().Wait() = %v", err)
	}
	data, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("Select(%q).Wait() = %v", folder, err)
	}
	out := map[imap.UID][]imap.Flag{}
	if data.NumMessages == 0 {
		return out
	}
	all, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatalf("Fetch(1:*).Collect() = %v", err)
	}
	for _, m := range all {
		out[m.UID] = m.Flags
	}
	return out
}

func count(t *testing.T, d *demo.Server, folder string) int {
	t.Helper()
	st, err := d.User().Status(folder, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		t.Fatalf("Status(%q) = %v", folder, err)
	}
	return int(*st.NumMessages)
}

func newestIDs(t *testing.T, s mailproxy.Session, folder string, n int) []string {
	t.Helper()
	page, err := s.List(context.Background(), folder, mailproxy.ListQuery{PageSize: n})
	if err != nil {
		t.Fatalf("List(%q) = %v", folder, err)
	}
	var ids []string
	for _, m := range page.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

func deleted(flags []imap.Flag) bool { return slices.Contains(flags, imap.FlagDeleted) }

// TestMove moves three messages to an oddly named folder and back (undo)
// on every kind of server, counting both folders: nothing lost, nothing
// duplicated.
func TestMove(t *testing.T) {
	for name, caps := range capVariants {
		t.Run(name, func(t *testing.T) {
			s, d := actionsEnv(t, caps)
			ctx := context.Background()
			inbox := count(t, d, "INBOX")
			ids := newestIDs(t, s, "INBOX", 3)
			res, err := s.Move(ctx, "INBOX", ids, oddFolder)
			if err != nil {
				t.Fatalf("Move() = %v", err)
			}
			if got := count(t, d, oddFolder); got != 3 {
				t.Errorf("%s holds %d messages after the move, want 3", oddFolder, got)
			}
			uidplus := name != "neither"
			if res.KeptDeleted == uidplus {
				t.Errorf("KeptDeleted = %v on a server with UIDPLUS=%v", res.KeptDeleted, uidplus)
			}
			if !uidplus {
				// Originals stay, flagged \Deleted; nothing else is.
				if got := count(t, d, "INBOX"); got != inbox {
					t.Errorf("INBOX has %d messages, want %d (no expunge without UIDPLUS)", got, inbox)
				}
				flagged := 0
				for _, f := range rawFlags(t, d, "INBOX") {
					if deleted(f) {
						flagged++
					}
				}
				if flagged != 3 {
					t.Errorf("%d messages flagged \\Deleted in INBOX, want 3", flagged)
				}
				if len(res.IDs) != 0 {
					t.Errorf("undo offered without UIDPLUS: %v", res.IDs)
				}
				return
			}
			if got := count(t, d, "INBOX"); got != inbox-3 {
				t.Errorf("INBOX has %d messages after the move, want %d", got, inbox-3)
			}
			if len(res.IDs) == 0 || res.Moved != 3 {
				t.Fatalf("Move() = %+v, want new ids of 3 messages", res)
			}
			back, err := s.Move(ctx, oddFolder, res.IDs, "INBOX")
			if err != nil {
				t.Fatalf("undo Move() = %v", err)
			}
			if back.Moved != 3 || count(t, d, "INBOX") != inbox || count(t, d, oddFolder) != 0 {
				t.Errorf("after undo: moved %d, INBOX %d (want %d), %s %d (want 0)", back.Moved, count(t, d, "INBOX"), inbox, oddFolder, count(t, d, oddFolder))
			}
		})
	}
}

// TestMoveCopyFails: a target that does not exist makes COPY/MOVE fail;
// the messages stay where they were, not flagged \Deleted.
func TestMoveCopyFails(t *testing.T) {
	for name, caps := range capVariants {
		t.Run(name, func(t *testing.T) {
			s, d := actionsEnv(t, caps)
			inbox := count(t, d, "INBOX")
			ids := newestIDs(t, s, "INBOX", 2)
			_, err := s.Move(context.Background(), "INBOX", ids, "Gone/Deleted meanwhile")
			if !errors.Is(err, mailproxy.ErrNotMoved) {
				t.Fatalf("Move(to a missing folder) = %v, want ErrNotMoved", err)
			}
			if got := count(t, d, "INBOX"); got != inbox {
				t.Errorf("INBOX has %d messages, want %d", got, inbox)
			}
			for uid, f := range rawFlags(t, d, "INBOX") {
				if deleted(f) {
					t.Errorf("UID %d flagged \\Deleted after a failed move", uid)
				}
			}
		})
	}
}

// TestSetFlags sets and clears \Seen and \Flagged on several messages.
func TestSetFlags(t *testing.T) {
	s, _ := actionsEnv(t, nil)
	ctx := context.Background()
	ids := newestIDs(t, s, "INBOX", 4)
	state := func() map[string][2]bool {
		page, err := s.List(ctx, "INBOX", mailproxy.ListQuery{PageSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][2]bool{}
		for _, m := range page.Messages {
			out[m.ID] = [2]bool{m.Seen, m.Flagged}
		}
		return out
	}
	for _, step := range []struct {
		flag mailproxy.Flag
		on   bool
	}{{mailproxy.FlagSeen, true}, {mailproxy.FlagFlagged, true}, {mailproxy.FlagSeen, false}, {mailproxy.FlagFlagged, false}} {
		if err := s.SetFlags(ctx, "INBOX", ids[:3], step.flag, step.on); err != nil {
			t.Fatalf("SetFlags(%s, %v) = %v", step.flag, step.on, err)
		}
		st := state()
		for i, id := range ids[:3] {
			got := st[id][0]
			if step.flag == mailproxy.FlagFlagged {
				got = st[id][1]
			}
			if got != step.on {
				t.Errorf("after SetFlags(%s, %v) message %d has it %v", step.flag, step.on, i, got)
			}
		}
	}
	if err := s.SetFlags(ctx, "INBOX", ids, `\Deleted`, true); !errors.Is(err, mailproxy.ErrUnsupported) {
		t.Errorf("SetFlags(\\Deleted) = %v, want ErrUnsupported", err)
	}
}

// TestExpunge removes messages in Trash for good, only with UIDPLUS.
func TestExpunge(t *testing.T) {
	for name, caps := range capVariants {
		t.Run(name, func(t *testing.T) {
			s, d := actionsEnv(t, caps)
			ctx := context.Background()
			trash, err := s.SpecialFolder(ctx, "trash")
			if err != nil || trash != demo.FolderTrash {
				t.Fatalf("SpecialFolder(trash) = %q, %v", trash, err)
			}
			before := count(t, d, trash)
			ids := newestIDs(t, s, trash, 2)
			err = s.Expunge(ctx, trash, ids)
			if name == "neither" {
				if !errors.Is(err, mailproxy.ErrUnsupported) || count(t, d, trash) != before {
					t.Errorf("Expunge without UIDPLUS = %v, %d messages left of %d", err, count(t, d, trash), before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Expunge() = %v", err)
			}
			if got := count(t, d, trash); got != before-2 {
				t.Errorf("Trash has %d messages, want %d", got, before-2)
			}
		})
	}
}

// TestFolderReset: ids and page anchors of another UIDVALIDITY are
// refused and change nothing.
func TestFolderReset(t *testing.T) {
	s, d := actionsEnv(t, nil)
	ctx := context.Background()
	ids := newestIDs(t, s, "INBOX", 1)
	_, uid, _ := strings.Cut(ids[0], "-")
	stale := []string{"999-" + uid}
	if err := s.SetFlags(ctx, "INBOX", stale, mailproxy.FlagFlagged, true); !errors.Is(err, mailproxy.ErrFolderReset) {
		t.Errorf("SetFlags(stale id) = %v, want ErrFolderReset", err)
	}
	inbox := count(t, d, "INBOX")
	if _, err := s.Move(ctx, "INBOX", stale, demo.FolderArchive); !errors.Is(err, mailproxy.ErrFolderReset) || count(t, d, "INBOX") != inbox {
		t.Errorf("Move(stale id) = %v", err)
	}
	if _, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 2, Anchor: 100, Validity: 999}); !errors.Is(err, mailproxy.ErrFolderReset) {
		t.Errorf("List(stale validity) = %v, want ErrFolderReset", err)
	}
}

// TestListCursorWhileExpunging pages through INBOX with the Older links
// while another client expunges messages already shown: every message is
// shown exactly once.
func TestListCursorWhileExpunging(t *testing.T) {
	s, d := actionsEnv(t, nil)
	ctx := context.Background()
	other := NewPool(&PoolOptions{IMAP: mustUpstream(t, d.URL())})
	t.Cleanup(other.Close)
	o := other.Session("other", demoCreds)

	total := count(t, d, "INBOX")
	seen := map[string]bool{}
	expunged := 0
	q := mailproxy.ListQuery{PageSize: 20}
	for i := 0; ; i++ {
		page, err := s.List(ctx, "INBOX", q)
		if err != nil {
			t.Fatalf("List(%+v) = %v", q, err)
		}
		for _, m := range page.Messages {
			if seen[m.ID] {
				t.Fatalf("page %d shows %s again", i+1, m.ID)
			}
			seen[m.ID] = true
		}
		if page.Last >= page.Total || len(page.Messages) == 0 {
			break
		}
		// The other client expunges three messages of this page.
		victims := []string{page.Messages[0].ID, page.Messages[5].ID, page.Messages[10].ID}
		trash, _ := o.SpecialFolder(ctx, "trash")
		if _, err := o.Move(ctx, "INBOX", victims, trash); err != nil {
			t.Fatalf("other Move() = %v", err)
		}
		expunged += 3
		q = mailproxy.ListQuery{Page: page.Page + 1, PageSize: 20, Anchor: page.Anchor, Validity: page.Validity, Before: page.OldestUID}
	}
	if len(seen) != total {
		t.Errorf("paging showed %d messages, the folder had %d (%d expunged meanwhile, after being shown)", len(seen), total, expunged)
	}
}

func mustUpstream(t *testing.T, raw string) mailproxy.Upstream {
	t.Helper()
	up, err := mailproxy.ParseUpstream(raw, "imap")
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// TestListCursorBothWays: Older then Newer by UID lands on the same
// pages, with the same row numbers, as paging by number.
func TestListCursorBothWays(t *testing.T) {
	s, _ := actionsEnv(t, nil)
	ctx := context.Background()
	ids := func(p *mailproxy.MessagePage) string {
		var out []string
		for _, m := range p.Messages {
			out = append(out, m.ID)
		}
		return strings.Join(out, " ")
	}
	var byNumber []*mailproxy.MessagePage
	for n := 1; n <= 3; n++ {
		p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: n, PageSize: 20})
		if err != nil {
			t.Fatal(err)
		}
		byNumber = append(byNumber, p)
	}
	p1 := byNumber[0]
	p2, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 2, PageSize: 20, Anchor: p1.Anchor, Validity: p1.Validity, Before: p1.OldestUID})
	if err != nil {
		t.Fatal(err)
	}
	p3, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 3, PageSize: 20, Anchor: p1.Anchor, Validity: p1.Validity, Before: p2.OldestUID})
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 2, PageSize: 20, Anchor: p1.Anchor, Validity: p1.Validity, After: p3.NewestUID})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ got, want *mailproxy.MessagePage }{
		"older to 2": {p2, byNumber[1]}, "older to 3": {p3, byNumber[2]}, "newer to 2": {back, byNumber[1]},
	} {
		if ids(c.got) != ids(c.want) || c.got.First != c.want.First || c.got.Last != c.want.Last || c.got.Page != c.want.Page {
			t.Errorf("%s: rows %d–%d page %d %q, want %d–%d page %d %q", name, c.got.First, c.got.Last, c.got.Page, ids(c.got), c.want.First, c.want.Last, c.want.Page, ids(c.want))
		}
	}
}
