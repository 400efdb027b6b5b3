package handlers

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
)

// bigInbox is the size of the generated folder of the Dovecot action
// tests.
const bigInbox = 20000

// TestDovecotActions runs every action, single and bulk, with undo,
// against a real Dovecot whose INBOX holds 20,000 messages written by the
// test; first, middle and last pages work, and acting on a message of the
// last page works.
func TestDovecotActions(t *testing.T) {
	dc := dovecottest.Start(t, nil)
	start := time.Now()
	msgs := dovecottest.GenerateMessages(bigInbox, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", msgs, nil)
	t.Logf("wrote %d messages into the Maildir in %v", bigInbox, time.Since(start))
	const odd = `Projects/Odd "q" & Name – ü`
	dc.WriteMessages(t, dovecottest.DefaultUser, odd, msgs[:5], nil)
	e := newDovecotEnv(t, dc)
	c := e.signIn(t)
	mb := mailbox{t: t, addr: dc.IMAPAddr, user: dovecottest.DefaultUser, pass: dovecottest.DefaultPassword}

	pages := (bigInbox + 49) / 50
	var last []string
	for _, page := range []int{1, pages / 2, pages} {
		start := time.Now()
		r := e.get(c, "/f/INBOX?page="+strconv.Itoa(page))
		ids := ticks(r.body)
		if r.status != 200 || len(ids) != 50 {
			t.Fatalf("page %d = %d with %d rows", page, r.status, len(ids))
		}
		t.Logf("page %d of %d in %v", page, pages, time.Since(start))
		last = ids
	}
	if last[len(last)-1] != last[len(last)-1][:strings.Index(last[len(last)-1], "-")]+"-1" {
		t.Errorf("last page ends with %s, want UID 1", last[len(last)-1])
	}
	// Act on the last page: archive the oldest message, then undo.
	archive := mb.count("Archive")
	loc := act(t, e.testEnv, c, "INBOX", "archive", last[len(last)-1:], map[string][]string{"p": {strconv.Itoa(pages)}}, "archived")
	if mb.count("INBOX") != bigInbox-1 || mb.count("Archive") != archive+1 {
		t.Errorf("archive from the last page: INBOX %d, Archive %d", mb.count("INBOX"), mb.count("Archive"))
	}
	if !strings.Contains(loc, "page="+strconv.Itoa(pages)) {
		t.Errorf("after acting on the last page went to %q, want back to it", loc)
	}
	undo(t, e.testEnv, c, loc)
	if mb.count("INBOX") != bigInbox || mb.count("Archive") != archive {
		t.Errorf("after undo: INBOX %d, Archive %d", mb.count("INBOX"), mb.count("Archive"))
	}

	actionsScenario(t, e.testEnv, c, mb, odd)
}

var olderLinkRE = regexp.MustCompile(`<a class="btn" rel="next" href="([^"]+)"`)

// TestDovecotPagingWhileExpunging pages back with the Older links while
// another IMAP client expunges messages of the pages already shown:
// every message is shown once, none is skipped.
func TestDovecotPagingWhileExpunging(t *testing.T) {
	dc := dovecottest.Start(t, nil)
	const n = 1000
	dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", dovecottest.GenerateMessages(n, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), nil)
	e := newDovecotEnv(t, dc)
	c := e.signIn(t)

	other, err := imapclient.DialInsecure(dc.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Login(dovecottest.DefaultUser, dovecottest.DefaultPassword).Wait(); err != nil {
		t.Fatalf("Login().Wait() = %v", err)
	}
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("Select().Wait() = %v", err)
	}

	seen := map[uint32]bool{}
	path := "/f/INBOX"
	for page := 1; page <= 8; page++ {
		r := e.get(c, path)
		ids := ticks(r.body)
		if r.status != 200 || len(ids) != 50 {
			t.Fatalf("page %d (%s) = %d with %d rows", page, path, r.status, len(ids))
		}
		var shown imap.UIDSet
		for _, id := range ids {
			_, u, _ := strings.Cut(id, "-")
			uid, _ := strconv.ParseUint(u, 10, 32)
			if seen[uint32(uid)] {
				t.Errorf("page %d shows UID %d again", page, uid)
			}
			seen[uint32(uid)] = true
			if len(shown) < 3 || uid%7 == 0 {
				shown.AddNum(imap.UID(uid))
			}
		}
		// The other client expunges some of what was just shown.
		if err := other.Store(shown, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := other.UIDExpunge(shown).Close(); err != nil {
			t.Fatal(err)
		}
		m := olderLinkRE.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("page %d has no Older link", page)
		}
		path = html.UnescapeString(m[1])
	}
	// Generated messages have UIDs 1..n: the newest 400 must all be seen.
	for uid := uint32(n); uid > n-400; uid-- {
		if !seen[uid] {
			t.Errorf("UID %d was never shown", uid)
		}
	}
}
