package handlers

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
)

// TestDovecotPlainAndHTMLOnlyList is issue 11's first report: an INBOX of
// one text/plain and one HTML-only message hung the list page for the
// whole command deadline (two pipelined partial FETCHes, one with a
// literal nobody read yet).
func TestDovecotPlainAndHTMLOnlyList(t *testing.T) {
	dc := dovecottest.Start(t, nil)
	dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", [][]byte{
		crlf("From: Ann <ann@example.org>\nTo: alice@example.org\nSubject: plain one\nDate: Mon, 1 Jun 2026 10:00:00 +0000\nMessage-ID: <p1@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello from the plain message.\n"),
		crlf("From: News <news@example.org>\nTo: alice@example.org\nSubject: html only\nDate: Mon, 1 Jun 2026 11:00:00 +0000\nMessage-ID: <h1@example.org>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>Hello from the <b>newsletter</b>.</p></body></html>\n"),
	}, nil)
	e := newDovecotEnv(t, dc)
	c := e.signIn(t)
	c.Timeout = 10 * time.Second
	start := time.Now()
	r := e.get(c, "/f/INBOX")
	took := time.Since(start)
	if r.status != http.StatusOK {
		t.Fatalf("GET /f/INBOX = %d after %v", r.status, took)
	}
	if took > 2*time.Second {
		t.Errorf("list took %v, want under 2 s", took)
	}
	for _, want := range []string{"plain one", "html only", "Hello from the plain message.", "Hello from the newsletter."} {
		if !strings.Contains(r.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
}

// TestDovecotUndoTwice is issue 11's fifth report: Archive, Undo, Back,
// Undo again answered 503 (or, on Dovecot 2.3, claimed "Undone" while
// nothing moved). The second Undo must say that nothing was left to move
// back, and change nothing.
func TestDovecotUndoTwice(t *testing.T) {
	dc := dovecottest.Start(t, nil)
	dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", dovecottest.GenerateMessages(5, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), nil)
	e := newDovecotEnv(t, dc)
	mb := mailbox{t: t, addr: dc.IMAPAddr, user: dovecottest.DefaultUser, pass: dovecottest.DefaultPassword}
	undoTwice(t, e.testEnv, e.signIn(t), mb)
}

// TestUndoTwice is the same on the in-memory server.
func TestUndoTwice(t *testing.T) {
	e := newEnv(t, nil)
	undoTwice(t, e, e.login(), mailbox{t: t, addr: e.demo.Addr(), user: "demo", pass: "demo"})
}

func undoTwice(t *testing.T, e *testEnv, c *http.Client, mb mailbox) {
	inbox, archive := mb.count("INBOX"), mb.count("Archive")
	ids := ticks(e.get(c, "/f/INBOX").body)
	loc := act(t, e, c, "INBOX", "archive", ids[:1], nil, "archived")
	page := e.get(c, loc)
	f := undoFormRE.FindString(page.body)
	if f == "" {
		t.Fatalf("no Undo form after archiving")
	}
	first := e.do(c, "POST", "/undo", formFields(f))
	if first.status != http.StatusSeeOther || !strings.Contains(first.header.Get("Location"), "n=undone") {
		t.Fatalf("first undo = %d %q", first.status, first.header.Get("Location"))
	}
	// Back, and the same Undo form again.
	second := e.do(c, "POST", "/undo", formFields(f))
	if second.status != http.StatusSeeOther || !strings.Contains(second.header.Get("Location"), "n=undonothing") {
		t.Fatalf("second undo = %d %q, want 303 with n=undonothing", second.status, second.header.Get("Location"))
	}
	shown := e.get(c, second.header.Get("Location"))
	if shown.status != http.StatusOK || !strings.Contains(shown.body, "Nothing to undo") {
		t.Errorf("after the second undo: %d, notice missing", shown.status)
	}
	if mb.count("INBOX") != inbox || mb.count("Archive") != archive {
		t.Errorf("after two undos: INBOX %d, Archive %d, want %d and %d", mb.count("INBOX"), mb.count("Archive"), inbox, archive)
	}
}

// TestDovecotPOP3PagingOlder is issue 11's fourth report: the POP3 list
// never offered Older. A POP3 user reaches the oldest message by
// tapping Older, seeing every message once, and Newer leads back.
func TestDovecotPOP3PagingOlder(t *testing.T) {
	dc := dovecottest.Start(t, &dovecottest.Options{POP3: true})
	const n = 120
	dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", dovecottest.GenerateMessages(n, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), nil)
	e, _ := newPOP3DovecotEnv(t, dc)
	c := e.client()
	if r := e.do(c, "POST", "/login", url.Values{"username": {dovecottest.DefaultUser}, "password": {dovecottest.DefaultPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("POP3 login = %d", r.status)
	}
	seen := map[string]bool{}
	path := "/f/INBOX"
	var pages []string
	for range 10 {
		r := e.get(c, path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d", path, r.status)
		}
		pages = append(pages, path)
		for _, l := range messageLinks(r.body) {
			if seen[l] {
				t.Errorf("message %s shown twice", l)
			}
			seen[l] = true
		}
		m := olderLinkRE.FindStringSubmatch(r.body)
		if m == nil {
			break
		}
		path = html.UnescapeString(m[1])
	}
	if len(seen) != n || len(pages) != 3 {
		t.Fatalf("tapping Older reached %d of %d messages in %d pages", len(seen), n, len(pages))
	}
	last := e.get(c, pages[len(pages)-1])
	if !strings.Contains(last.body, "Message 1 ") && !strings.Contains(last.body, dovecottest.MessageSubject(0)) {
		t.Errorf("the last page does not show the oldest message %q", dovecottest.MessageSubject(0))
	}
	if !strings.Contains(last.body, `rel="prev"`) {
		t.Errorf("the last POP3 page has no Newer link")
	}
}

// TestDovecotBrokenStructureShowsText: for mail whose declared boundary
// never appears, that has no boundary, or whose Content-Type is garbage,
// Dovecot's BODYSTRUCTURE shows no text (an empty part, or a part of no
// type); the message page still shows the text, as POP3 does, by parsing
// the message itself.
func TestDovecotBrokenStructureShowsText(t *testing.T) {
	want := map[string]string{
		"broken-boundary":        "The declared boundary never appears.",
		"missing-boundary-param": "Multipart without a boundary parameter.",
		"content-type-garbage":   "Content-Type is garbage.",
	}
	var msgs [][]byte
	for _, m := range dovecottest.RealWorld(5) {
		if _, ok := want[m.Name]; ok {
			msgs = append(msgs, m.Raw)
		}
	}
	dc := dovecottest.Start(t, nil)
	dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", msgs, nil)
	e := newDovecotEnv(t, dc)
	c := e.signIn(t)
	links := messageLinks(e.get(c, "/f/INBOX").body)
	if len(links) != len(want) {
		t.Fatalf("%d messages listed, want %d", len(links), len(want))
	}
	var bodies strings.Builder
	for _, l := range links {
		r := e.get(c, l)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d", l, r.status)
		}
		bodies.WriteString(r.body)
	}
	for name, text := range want {
		if !strings.Contains(bodies.String(), text) {
			t.Errorf("%s: the message page does not show %q", name, text)
		}
	}
}
