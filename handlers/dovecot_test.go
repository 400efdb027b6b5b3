package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/web"
)

// dovecotEnv is thumbmail's router in front of a real Dovecot.
type dovecotEnv struct {
	*testEnv
	dc *dovecottest.Server
}

func newDovecotEnv(tb testing.TB, dc *dovecottest.Server) *dovecotEnv {
	up, err := mailproxy.ParseUpstream(dc.IMAPURL(), "imap")
	if err != nil {
		tb.Fatal(err)
	}
	pool := mailproxy.NewPool(&mailproxy.PoolOptions{IMAP: up, Logger: slog.New(slog.DiscardHandler)})
	tb.Cleanup(pool.Close)
	store := web.NewMemoryStore()
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("d", 40)}, Store: store})
	if err != nil {
		tb.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: pool, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h.Routes())
	tb.Cleanup(srv.Close)
	return &dovecotEnv{testEnv: &testEnv{t: tb, pool: pool, store: store, srv: srv, handler: h}, dc: dc}
}

func (e *dovecotEnv) signIn(tb testing.TB) *http.Client {
	c := e.client()
	r := e.do(c, "POST", "/login", url.Values{"username": {dovecottest.DefaultUser}, "password": {dovecottest.DefaultPassword}})
	if r.status != http.StatusSeeOther {
		tb.Fatalf("POST /login to Dovecot = %d: %s", r.status, r.body)
	}
	return c
}

// TestDovecot runs the gateway end to end against a real Dovecot: sign-in
// (wrong and right), folders, first/middle/last pages, messages, an
// attachment download, sign-out.
func TestDovecot(t *testing.T) {
	dc := dovecottest.Start(t, nil)
	const n = 2500
	msgs := dovecottest.GenerateMessages(n, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", msgs, nil)
	dc.WriteMessages(t, dovecottest.DefaultUser, "Projects/Odd & Name – ü", msgs[:30], nil)
	e := newDovecotEnv(t, dc)

	if r := e.do(e.client(), "POST", "/login", url.Values{"username": {dovecottest.DefaultUser}, "password": {"wrong"}}); r.status != http.StatusUnauthorized {
		t.Errorf("wrong password against Dovecot = %d, want 401", r.status)
	}
	c := e.signIn(t)

	f := e.get(c, "/folders")
	if f.status != http.StatusOK {
		t.Fatalf("GET /folders = %d", f.status)
	}
	for _, want := range []string{">Inbox<", ">Sent<", ">Drafts<", ">Trash<", ">Junk<", ">Archive<", "Odd &amp; Name – ü", "2,500"} {
		if !strings.Contains(f.body, want) {
			t.Errorf("Dovecot folder list lacks %q", want)
		}
	}
	odd := regexp.MustCompile(`href="(/f/~[^"]+)"[^>]*>\s*<span class="fname">Odd &amp; Name`).FindStringSubmatch(f.body)
	if odd == nil {
		t.Errorf("no link to the oddly named folder")
	} else if r := e.get(c, odd[1]); r.status != http.StatusOK || len(messageLinks(r.body)) != 30 {
		t.Errorf("oddly named folder: %d with %d messages", r.status, len(messageLinks(r.body)))
	}

	pages := (n + 49) / 50
	for _, page := range []int{1, pages / 2, pages} {
		r := e.get(c, "/f/INBOX?page="+itoa(page))
		if r.status != http.StatusOK {
			t.Fatalf("page %d = %d", page, r.status)
		}
		links := messageLinks(r.body)
		want := 50
		if page == pages && n%50 != 0 {
			want = n % 50
		}
		if len(links) != want {
			t.Errorf("page %d has %d rows, want %d", page, len(links), want)
		}
		if !strings.Contains(r.body, `<small>`) {
			t.Errorf("page %d has no previews", page)
		}
		m := e.get(c, links[0])
		if m.status != http.StatusOK || !strings.Contains(m.body, `class="body`) {
			t.Errorf("message %s on page %d = %d", links[0], page, m.status)
		}
	}

	// An attachment: find a row marked with one, open it, download.
	downloaded := false
	for page := 1; page <= 3 && !downloaded; page++ {
		body := e.get(c, "/f/INBOX?page="+itoa(page)).body
		for _, row := range regexp.MustCompile(`(?s)<a href="(/f/INBOX/[0-9-]+)[^"]*">(.*?)</a>`).FindAllStringSubmatch(body, -1) {
			if !strings.Contains(row[2], `aria-label="attachment"`) {
				continue
			}
			m := e.get(c, row[1])
			part := regexp.MustCompile(`href="([^"]+/part/[0-9.]+)"`).FindStringSubmatch(m.body)
			if part == nil {
				t.Fatalf("message %s marked with an attachment lists none", row[1])
			}
			d := e.get(c, part[1])
			if d.status != http.StatusOK || len(d.body) == 0 || !strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment") {
				t.Errorf("download %s = %d, %d bytes, %q", part[1], d.status, len(d.body), d.header.Get("Content-Disposition"))
			}
			downloaded = true
			break
		}
	}
	if !downloaded {
		t.Errorf("no message with an attachment found in the first pages")
	}

	if r := e.do(c, "POST", "/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("logout = %d", r.status)
	}
	if _, conns := e.pool.Stats(); conns != 0 {
		t.Errorf("%d Dovecot connections left after logout", conns)
	}
}

var (
	big100kOnce sync.Once
	big100k     *dovecottest.Server
)

// BenchmarkDovecot100k measures list pages and message views on a real
// Dovecot INBOX of 100,000 messages. The Dovecot (and its index) is made
// once per test binary run.
func BenchmarkDovecot100k(b *testing.B) {
	big100kOnce.Do(func() {
		big100k = dovecottest.Start(b, nil)
		big100k.WriteMessages(b, dovecottest.DefaultUser, "INBOX", dovecottest.GenerateMessages(100000, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)), nil)
	})
	if big100k == nil {
		b.Skip("no Dovecot")
	}
	e := newDovecotEnv(b, big100k)
	c := e.signIn(b)
	first := e.get(c, "/f/INBOX") // the first SELECT builds Dovecot's index
	if first.status != 200 {
		b.Fatalf("first page = %d", first.status)
	}
	msg := messageLinks(first.body)[0]
	b.Run("FirstPage", func(b *testing.B) {
		for b.Loop() {
			if r := e.get(c, "/f/INBOX"); r.status != 200 {
				b.Fatal(r.status)
			}
		}
	})
	b.Run("LastPage", func(b *testing.B) {
		for b.Loop() {
			if r := e.get(c, "/f/INBOX?page=2000"); r.status != 200 {
				b.Fatal(r.status)
			}
		}
	})
	b.Run("OpenMessage", func(b *testing.B) {
		for b.Loop() {
			if r := e.get(c, msg); r.status != 200 {
				b.Fatal(r.status)
			}
		}
	})
	// Archive the newest message and undo, then show the first page
	// again (after our own expunge the folder is selected afresh).
	b.Run("ArchiveUndoFirstPage", func(b *testing.B) {
		for b.Loop() {
			ids := ticks(e.get(c, "/f/INBOX").body)
			loc := act(b, e.testEnv, c, "INBOX", "archive", ids[:1], nil, "archived")
			undo(b, e.testEnv, c, loc)
			if r := e.get(c, "/f/INBOX"); r.status != 200 {
				b.Fatal(r.status)
			}
		}
	})
	b.Run("StarFirstPage", func(b *testing.B) {
		ids := ticks(e.get(c, "/f/INBOX").body)
		for b.Loop() {
			act(b, e.testEnv, c, "INBOX", "star", ids[:10], nil, "starred")
			if r := e.get(c, "/f/INBOX"); r.status != 200 {
				b.Fatal(r.status)
			}
		}
	})
}
