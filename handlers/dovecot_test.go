package handlers

import (
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
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
	pool := imapmail.NewPool(&imapmail.PoolOptions{IMAP: up, Logger: slog.New(slog.DiscardHandler)})
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
		msgs := dovecottest.GenerateMessages(100000, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
		for _, i := range []int{10000, 60000, 98000} { // a word in three messages, old to new
			msgs[i] = []byte(strings.ReplaceAll(searchMail("k@example.net", "alice@example.org", fmt.Sprintf("Kumquat %d", i), "x"), "\n", "\r\n"))
		}
		big100k.WriteMessages(b, dovecottest.DefaultUser, "INBOX", msgs, nil)
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
	// Search, first results page: a word in three messages (the search
	// runs until its time budget, then offers "search older") and a word
	// in about 60% of them (the newest window fills the page).
	for name, q := range map[string]string{"SearchFew": "kumquat", "SearchMany": "meeting"} {
		b.Run(name, func(b *testing.B) {
			var n string
			for b.Loop() {
				r := e.get(c, "/f/INBOX/search?q="+url.QueryEscape(q))
				if r.status != 200 {
					b.Fatal(r.status)
				}
				n = regexp.MustCompile(`of [0-9,]+\+?|No messages|Searched the newest [0-9,]+`).FindString(r.body)
			}
			b.ReportMetric(float64(len(messageLinks(e.get(c, "/f/INBOX/search?q="+url.QueryEscape(q)).body))), "rows")
			b.Logf("%s: %s", q, n)
		})
	}
}

// crlf turns a test message's LF line ends into CRLF.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

var csrfValueRE = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// TestDovecotSearch searches a real Dovecot: fields, SORT by date,
// paging in a folder of a few thousand, all folders, non-ASCII, hostile
// queries, and the conversation of a reply chain.
func TestDovecotSearch(t *testing.T) {
	dc := dovecottest.Start(t, nil)
	user := dovecottest.DefaultUser
	dc.WriteMessages(t, user, "INBOX", dovecottest.GenerateMessages(3000, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), nil)
	// Written newest first, so that arrival order is the reverse of date
	// order: only SORT (REVERSE DATE) lists Pagetest 119 first.
	var paging [][]byte
	for i := 119; i >= 0; i-- {
		date := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format(time.RFC1123Z)
		paging = append(paging, crlf(searchMailAt("p@example.net", "alice@example.org", fmt.Sprintf("Pagetest %03d", i), "x", date)))
	}
	dc.WriteMessages(t, user, "INBOX", paging, nil)
	thread := func(mid, parent, refs, subject, date string) []byte {
		h := "Message-ID: <" + mid + ">\n"
		if parent != "" {
			h += "In-Reply-To: <" + parent + ">\nReferences: " + refs + "\n"
		}
		return crlf(h + searchMailAt(`"Thread Person" <tp@example.net>`, "alice@example.org", subject, "x", date))
	}
	dc.WriteMessages(t, user, "INBOX", [][]byte{
		thread("a.thread@example.net", "", "", "Kayak trip", "Mon, 02 Mar 2026 10:00:00 +0000"),
		thread("b.thread@example.net", "a.thread@example.net", "<a.thread@example.net>", "Re: Kayak trip", "Mon, 02 Mar 2026 11:00:00 +0000"),
		thread("c.thread@example.net", "b.thread@example.net", "<a.thread@example.net> <b.thread@example.net>", "Re: Re: Kayak trip", "Mon, 02 Mar 2026 12:00:00 +0000"),
		thread("d.alone@example.net", "", "", "Unrelated", "Mon, 02 Mar 2026 13:00:00 +0000"),
		crlf(searchMailAt("k@example.net", "alice@example.org", "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "x", "Tue, 03 Mar 2026 10:00:00 +0000")),
		crlf(searchMailAt("w@example.net", "alice@example.org", "Wombat one", "x", "Tue, 03 Mar 2026 11:00:00 +0000")),
		crlf(searchMailAt(`"Quote" <q@example.net>`, "alice@example.org", `He said "a"b\c" and left`, "x", "Tue, 03 Mar 2026 12:00:00 +0000")),
	}, nil)
	dc.WriteMessages(t, user, "Projects", [][]byte{crlf(searchMailAt("w@example.net", "alice@example.org", "Wombat two", "x", "Wed, 04 Mar 2026 10:00:00 +0000"))}, nil)
	e := newDovecotEnv(t, dc)
	c := e.signIn(t)

	// Paging, newest first by date (SORT), stable.
	var rows []string
	for page := 1; page <= 3; page++ {
		r, links := e.search(c, "INBOX", "pagetest", false, page)
		if want := []int{50, 50, 20}[page-1]; len(links) != want {
			t.Fatalf("pagetest page %d has %d rows, want %d", page, len(links), want)
		}
		if page == 1 && !strings.Contains(r.body, "1–50 of 120") {
			t.Errorf("pagetest page 1 lacks \"1–50 of 120\"")
		}
		for _, m := range regexp.MustCompile(`Pagetest (\d{3})`).FindAllStringSubmatch(r.body, -1) {
			rows = append(rows, m[1])
		}
	}
	if l := e.get(c, "/f/INBOX").body; strings.Index(l, "Pagetest 000") > strings.Index(l, "Pagetest 001") {
		t.Fatalf("arrival order is date order: the SORT check below proves nothing")
	}
	for i, n := range rows {
		if want := fmt.Sprintf("%03d", 119-i); n != want {
			t.Fatalf("row %d is Pagetest %s, want %s (newest date first)", i, n, want)
		}
	}
	// A word in many generated messages: middle and last pages work.
	r, _ := e.search(c, "INBOX", "meeting", false, 1)
	m := regexp.MustCompile(`1–50 of ([0-9,]+)`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("meeting: no range on page 1")
	}
	total, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	pages := (total + 49) / 50
	if total < 200 {
		t.Fatalf("meeting matches only %d of 3,000", total)
	}
	for _, page := range []int{pages / 2, pages} {
		want := 50
		if page == pages {
			want = total - (pages-1)*50
		}
		if _, links := e.search(c, "INBOX", "meeting", false, page); len(links) != want {
			t.Errorf("meeting page %d has %d rows, want %d", page, len(links), want)
		}
	}

	tests := map[string]struct {
		q    string
		all  bool
		want []string // subjects, in order
	}{
		"non-ASCII, encoded subject": {"Köln", false, []string{"Grüße aus Köln"}},
		"sender":                     {"tp@example.net", false, []string{"Unrelated", "Re: Re: Kayak trip", "Re: Kayak trip", "Kayak trip"}},
		"INBOX only":                 {"wombat", false, []string{"Wombat one"}},
		"all folders":                {"wombat", true, []string{"Wombat two", "Wombat one"}},
		"quotes and backslash":       {`a"b\c`, false, []string{`He said "a"b\c" and left`}},
	}
	for name, tc := range tests {
		r, _ := e.search(c, "INBOX", tc.q, tc.all, 1)
		var got []string
		for _, m := range regexp.MustCompile(`(?s)<a href="/f/[^"]+">.*?<i[^>]*>(.*?)(?:<span|</i>)`).FindAllStringSubmatch(r.body, -1) {
			got = append(got, html.UnescapeString(strings.TrimSpace(m[1])))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: search %q found %q, want %q", name, tc.q, got, tc.want)
		}
	}

	// Hostile queries change nothing.
	folders := func() string { return csrfValueRE.ReplaceAllString(e.get(c, "/folders").body, "") }
	before := folders()
	for _, q := range []string{`"`, `\`, "x\r\nA1 DELETE INBOX", "x\r\nA1 DELETE Projects\r\n", "}{0}\r\n", "日本", strings.Repeat("ab", 5000), "\x00"} {
		e.search(c, "INBOX", q, false, 1)
		e.search(c, "INBOX", q, true, 1)
	}
	if after := folders(); after != before {
		t.Errorf("folders changed by hostile searches")
	}

	// The conversation of the middle message of a reply chain.
	_, links := e.search(c, "INBOX", "kayak", false, 1)
	if len(links) != 3 {
		t.Fatalf("kayak found %d, want 3", len(links))
	}
	mid := e.get(c, links[1]) // by date: c, b, a
	conv := mid.body[max(strings.Index(mid.body, `class="thread"`), 0):]
	if !strings.Contains(mid.body, "Conversation (3)") || !strings.Contains(conv, `aria-current="page"`) ||
		!strings.Contains(conv, `href="`+links[0]+`"`) || !strings.Contains(conv, `href="`+links[2]+`"`) {
		t.Errorf("the reply's page lacks its conversation: %s", conv[:min(len(conv), 2000)])
	}
	if i, j := strings.Index(conv, links[2]), strings.Index(conv, links[0]); i > j {
		t.Errorf("conversation is not in thread order (root first)")
	}
	_, alone := e.search(c, "INBOX", "Unrelated", false, 1)
	if len(alone) != 1 || strings.Contains(e.get(c, alone[0]).body, "Conversation") {
		t.Errorf("a message on its own shows a conversation")
	}
}
