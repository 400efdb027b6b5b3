package handlers

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/templates"
)

// wireProxy sits between thumbmail and the demo server, records every
// command the client sends (a command line with its literals) and, when
// badCharset is set, answers any SEARCH that names a CHARSET with
// NO [BADCHARSET] itself, as some Exchange-style servers do.
type wireProxy struct {
	ln         net.Listener
	target     atomic.Pointer[string]
	badCharset atomic.Bool

	mu   sync.Mutex
	cmds []string
}

func newWireProxy(t *testing.T) *wireProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &wireProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(t, c)
		}
	}()
	return p
}

func (p *wireProxy) addr() string { return p.ln.Addr().String() }

var (
	literalRE    = regexp.MustCompile(`\{(\d+)(\+?)\}\r\n$`)
	anyLiteralRE = regexp.MustCompile(`\{(\d+)\+?\}\r\n`)
)

func (p *wireProxy) serve(t *testing.T, c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", *p.target.Load())
	if err != nil {
		return
	}
	defer s.Close()
	var wmu sync.Mutex // whole lines to the client, ours or the server's
	go func() {
		r := bufio.NewReader(s)
		for {
			line, err := r.ReadString('\n')
			wmu.Lock()
			c.Write([]byte(line))
			wmu.Unlock()
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := line
		refuse := p.badCharset.Load() && strings.Contains(strings.ToUpper(line), "SEARCH") && strings.Contains(strings.ToUpper(line), "CHARSET")
		if !refuse {
			s.Write([]byte(line))
		}
		for {
			m := literalRE.FindStringSubmatch(line)
			if m == nil {
				break
			}
			n, _ := strconv.Atoi(m[1])
			if m[2] == "" && refuse {
				wmu.Lock()
				c.Write([]byte("+ go ahead\r\n"))
				wmu.Unlock()
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			line, err = r.ReadString('\n')
			if err != nil {
				return
			}
			cmd += string(buf) + line
			if !refuse {
				s.Write(buf)
				s.Write([]byte(line))
			}
		}
		p.mu.Lock()
		p.cmds = append(p.cmds, cmd)
		p.mu.Unlock()
		if refuse {
			tag, _, _ := strings.Cut(cmd, " ")
			wmu.Lock()
			c.Write([]byte(tag + " NO [BADCHARSET (US-ASCII)] Unsupported charset\r\n"))
			wmu.Unlock()
		}
	}
}

// commands returns the recorded commands and forgets them.
func (p *wireProxy) commands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.cmds
	p.cmds = nil
	return out
}

// newSearchEnv is newEnv with a wireProxy in front of the demo server.
func newSearchEnv(t *testing.T, caps imap.CapSet) (*testEnv, *wireProxy) {
	wp := newWireProxy(t)
	e := newEnv(t, &envOptions{imapAddr: wp.addr(), caps: caps})
	target := e.demo.Addr()
	wp.target.Store(&target)
	return e, wp
}

// searchMail is a message with a known sender, recipient, subject and body.
func searchMail(from, to, subject, body string) string {
	return searchMailAt(from, to, subject, body, "Mon, 05 Jan 2026 10:00:00 +0000")
}

// searchMailAt is searchMail with a Date header.
func searchMailAt(from, to, subject, body, date string) string {
	return "From: " + from + "\nTo: " + to + "\nSubject: " + subject +
		"\nDate: " + date + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + body + "\n"
}

// search GETs the search page and returns it with its result links.
func (e *testEnv) search(c *http.Client, folder, q string, all bool, page int) (result, []string) {
	e.t.Helper()
	u := templates.Base{}.SearchURL(folder, q, all, page, 0)
	r := e.get(c, u)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s = %d: %s", u, r.status, r.body)
	}
	return r, messageLinks(r.body)
}

// mailboxCounts is every demo mailbox's message count.
func mailboxCounts(t *testing.T, d *demo.Server) map[string]uint32 {
	out := map[string]uint32{}
	for _, name := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Searchable", "Other", "Paging"} {
		st, err := d.User().Status(name, &imap.StatusOptions{NumMessages: true})
		if err == nil {
			out[name] = *st.NumMessages
		}
	}
	return out
}

// TestSearch finds messages by sender, recipient, subject and body, with
// all words required, in one folder.
func TestSearch(t *testing.T) {
	e, _ := newSearchEnv(t, nil)
	c := e.login()
	want := e.putMessage(c, "Searchable", searchMail(`"Zebulon Quux" <zq@example.net>`, `"Xavier Yond" <xy@example.org>`, "Kumquat delivery", "The password is marmalade."))
	e.putMessage(c, "Searchable", searchMail(`"Ann Other" <ann@example.net>`, `demo@example.org`, "Something else", "Nothing to see."))
	e.putMessage(c, "Searchable", searchMail(`"Grüße Sender" <gs@example.net>`, `demo@example.org`, "Grüße aus Köln, 日本の旅", "Herzliche Grüße."))

	tests := map[string]struct {
		q    string
		want int
	}{
		"sender name":        {"zebulon", 1},
		"sender address":     {"zq@example.net", 1},
		"recipient":          {"Yond", 1},
		"subject":            {"KUMQUAT", 1},
		"body":               {"marmalade", 1},
		"all words":          {"kumquat marmalade", 1},
		"one word missing":   {"kumquat nowhere", 0},
		"no match":           {"xylophone", 0},
		"non-ASCII subject":  {"Grüße", 1},
		"CJK":                {"日本", 1},
		"both messages body": {"to", 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, links := e.search(c, "Searchable", tc.q, false, 1)
			if len(links) != tc.want {
				t.Fatalf("search %q found %d, want %d", tc.q, len(links), tc.want)
			}
			if !strings.Contains(r.body, "Searching Searchable") {
				t.Errorf("search %q page lacks its heading", tc.q)
			}
			if tc.want == 0 && !strings.Contains(r.body, "No messages match.") {
				t.Errorf("search %q with no results lacks the empty state", tc.q)
			}
			if !strings.Contains(r.body, `value="`+html.EscapeString(tc.q)+`"`) {
				t.Errorf("search %q: the box does not keep the query", tc.q)
			}
		})
	}
	if _, links := e.search(c, "Searchable", "marmalade", false, 1); len(links) != 1 || links[0] != want {
		t.Errorf("marmalade links to %v, want %s", links, want)
	}
	// The list has the search box at its top; the results page leads back.
	l := e.get(c, "/f/INBOX")
	if i, j := strings.Index(l.body, `role="search"`), strings.Index(l.body, `class="msgs"`); i < 0 || i > j {
		t.Errorf("list page has no search box above the rows (at %d, rows at %d)", i, j)
	}
	if r, _ := e.search(c, "Searchable", "", false, 1); !strings.Contains(r.body, "Type a name") || !strings.Contains(r.body, `href="/f/Searchable"`) {
		t.Errorf("empty search page lacks the prompt or the way back")
	}
	// The demo server has no THREAD=REFERENCES: no conversation, even for
	// a reply in the demo's long thread.
	_, replies := e.search(c, "INBOX", "Re:", false, 1)
	if len(replies) == 0 {
		t.Fatalf("no replies in the demo INBOX")
	}
	if m := e.get(c, replies[0]); m.status != http.StatusOK || strings.Contains(m.body, `class="thread"`) {
		t.Errorf("reply on a server without THREAD = %d, conversation shown: %v", m.status, strings.Contains(m.body, `class="thread"`))
	}
}

// TestSearchPaging pages through 120 results newest first, and later
// pages keep their rows while new matching mail arrives.
func TestSearchPaging(t *testing.T) {
	for name, caps := range map[string]imap.CapSet{
		"ESEARCH":        nil,
		"plain SEARCH":   {imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapMove: {}, imap.CapSpecialUse: {}, imap.CapListStatus: {}},
		"no LIST-STATUS": {imap.CapIMAP4rev1: {}},
	} {
		t.Run(name, func(t *testing.T) {
			e, wp := newSearchEnv(t, caps)
			c := e.login()
			var urls []string
			for i := range 120 {
				urls = append(urls, e.putMessage(c, "Paging", searchMail("p@example.net", "demo@example.org", fmt.Sprintf("Pagetest %03d", i), "body")))
			}
			wp.commands()
			r1, p1 := e.search(c, "Paging", "pagetest", false, 1)
			if !strings.Contains(r1.body, "1–50 of 120") {
				t.Errorf("page 1 lacks \"1–50 of 120\"")
			}
			var searches []string
			for _, cmd := range wp.commands() {
				if strings.Contains(cmd, "SEARCH") {
					searches = append(searches, cmd)
				}
				if strings.Contains(cmd, " SORT ") {
					t.Errorf("SORT sent to a server without SORT: %q", cmd)
				}
			}
			esearch := caps == nil
			if len(searches) != 1 || strings.Contains(searches[0], "RETURN (ALL)") != esearch {
				t.Errorf("search commands %q, want one, with RETURN (ALL) = %v", searches, esearch)
			}
			next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(r1.body)
			if next == nil {
				t.Fatalf("page 1 has no link to page 2")
			}
			// New matching mail arrives before the user taps "Older".
			e.putMessage(c, "Paging", searchMail("p@example.net", "demo@example.org", "Pagetest new", "body"))
			r2 := e.get(c, html.UnescapeString(next[1]))
			p2 := messageLinks(r2.body)
			_, p3 := e.search(c, "Paging", "pagetest", false, 3)
			if len(p1) != 50 || len(p2) != 50 {
				t.Fatalf("pages have %d and %d rows, want 50 and 50", len(p1), len(p2))
			}
			for i, u := range append(p1, p2...) {
				if w := urls[119-i]; u != w {
					t.Fatalf("row %d is %s, want %s (newest first, stable)", i, u, w)
				}
			}
			if len(p3) != 21 { // a fresh search sees the new one too
				t.Errorf("page 3 of a fresh search has %d rows, want 21", len(p3))
			}
		})
	}
}

// TestSearchAllFolders merges results of every folder newest first, each
// row linking to its own folder.
func TestSearchAllFolders(t *testing.T) {
	e, wp := newSearchEnv(t, nil)
	c := e.login()
	other := e.putMessage(c, "Other", searchMailAt("w@example.net", "demo@example.org", "Wombat two", "x", "Tue, 06 Jan 2026 10:00:00 +0000"))
	inbox := e.putMessage(c, "INBOX", searchMailAt("w@example.net", "demo@example.org", "Wombat one", "x", "Mon, 05 Jan 2026 10:00:00 +0000"))
	// "Deep" and "Deep/Nest" are \Noselect containers.
	deep := e.putMessage(c, "Deep/Nest/Box", searchMailAt("w@example.net", "demo@example.org", "Wombat three", "x", "Sun, 04 Jan 2026 10:00:00 +0000"))
	wp.commands()
	r, links := e.search(c, "INBOX", "wombat", true, 1)
	if len(links) != 3 || links[0] != other || links[1] != inbox || links[2] != deep {
		t.Errorf("all-folders search found %v, want [%s %s %s]", links, other, inbox, deep)
	}
	for _, cmd := range wp.commands() {
		if regexp.MustCompile(`SELECT "?Deep(/Nest)?"?\r\n`).MatchString(cmd) {
			t.Errorf("all-folders search selected a \\Noselect folder: %q", cmd)
		}
	}
	if !strings.Contains(r.body, "Searching all folders") || !strings.Contains(r.body, `name="all" value="1" checked`) {
		t.Errorf("all-folders results lack their heading or the ticked box")
	}
	if _, links := e.search(c, "INBOX", "wombat", false, 1); len(links) != 1 || links[0] != inbox {
		t.Errorf("INBOX-only search found %v, want [%s]", links, inbox)
	}
	if m := e.get(c, other); m.status != http.StatusOK || !strings.Contains(m.body, "Wombat two") {
		t.Errorf("result in Other opens as %d", m.status)
	}
}

// TestSearchHostileQueries sends quotes, backslashes, CR/LF injection
// attempts, NULs, non-ASCII and 10 KB: every command on the wire is one
// well-formed command, nothing but SEARCH/SORT/FETCH-like commands are
// sent, and no mailbox changes.
func TestSearchHostileQueries(t *testing.T) {
	for name, caps := range map[string]imap.CapSet{"IMAP4rev2": nil, "IMAP4rev1": {imap.CapIMAP4rev1: {}, imap.CapESearch: {}}} {
		t.Run(name, func(t *testing.T) {
			e, wp := newSearchEnv(t, caps)
			c := e.login()
			e.putMessage(c, "Searchable", searchMail(`"Quote" <q@example.net>`, "demo@example.org", `He said "a"b\c" and left`, "x"))
			before := mailboxCounts(t, e.demo)
			queries := map[string]int{
				`"`:                        1,
				`\`:                        1,
				`a"b\c`:                    1,
				"x\r\nA1 DELETE INBOX":     -1,
				"x\r\nA1 DELETE INBOX\r\n": -1,
				"said\x00\r\n* BYE":        0,
				"}{0}\r\n":                 -1,
				"Grüße":                    -1,
				"日本":                       -1,
				"":                         0,
				strings.Repeat("ab", 5000): 0,
				"{5}\r\nhello":             -1,
			}
			for q, want := range queries {
				wp.commands()
				r, links := e.search(c, "Searchable", q, false, 1)
				if want >= 0 && len(links) != want {
					t.Errorf("search %q found %d, want %d", q, len(links), want)
				}
				if strings.Contains(r.body, "DELETE INBOX") && !strings.Contains(r.body, `value="x A1 DELETE INBOX"`) {
					t.Errorf("search %q: the query shows up outside the box", q)
				}
				for _, cmd := range wp.commands() {
					checkWireCommand(t, q, cmd)
				}
			}
			if after := mailboxCounts(t, e.demo); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("mailboxes changed by searching: %v, was %v", after, before)
			}
		})
	}
}

var wireVerbRE = regexp.MustCompile(`^[A-Za-z0-9.]+ (UID )?([A-Z]+)`)

// checkWireCommand fails on a command that is not one of the read-only
// commands a search sends, or that has a bare CR or LF outside literals.
func checkWireCommand(t *testing.T, q, cmd string) {
	t.Helper()
	m := wireVerbRE.FindStringSubmatch(cmd)
	if m == nil {
		t.Errorf("search %q sent a malformed command %q", q, cmd)
		return
	}
	switch m[2] {
	case "SEARCH", "SORT", "FETCH", "SELECT", "NOOP", "LIST", "STATUS", "THREAD":
	default:
		t.Errorf("search %q sent %s: %q", q, m[2], cmd)
	}
	// Strip literals: what is left is one line.
	rest := cmd
	for {
		loc := anyLiteralRE.FindStringSubmatchIndex(rest)
		if loc == nil {
			break
		}
		n, _ := strconv.Atoi(rest[loc[2]:loc[3]])
		rest = rest[:loc[0]] + "LIT" + rest[loc[1]+n:]
	}
	if strings.Count(rest, "\n") != 1 || strings.Count(rest, "\r") != 1 || !strings.HasSuffix(rest, "\r\n") {
		t.Errorf("search %q: command %q is not one line", q, cmd)
	}
}

// TestSearchBadCharset: a server that refuses CHARSET UTF-8 gets the
// search again without a charset, for the ASCII parts, and the page says
// the results are approximate.
func TestSearchBadCharset(t *testing.T) {
	e, wp := newSearchEnv(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapESearch: {}})
	wp.badCharset.Store(true)
	c := e.login()
	want := e.putMessage(c, "Searchable", searchMail("k@example.net", "demo@example.org", "Grüße aus Köln", "x"))
	e.putMessage(c, "Searchable", searchMail("k@example.net", "demo@example.org", "Other mail", "x"))
	wp.commands()

	r, links := e.search(c, "Searchable", "Köln", false, 1)
	if len(links) != 1 || links[0] != want {
		t.Errorf("search Köln on a BADCHARSET server found %v, want [%s]", links, want)
	}
	if !strings.Contains(r.body, "cannot search for accented") {
		t.Errorf("approximate results are not marked")
	}
	var sawCharset, sawRetry bool
	for _, cmd := range wp.commands() {
		if strings.Contains(cmd, "SEARCH") {
			sawCharset = sawCharset || strings.Contains(cmd, "CHARSET UTF-8")
			sawRetry = sawRetry || (!strings.Contains(cmd, "CHARSET") && strings.Contains(cmd, `"K"`) == false && strings.Contains(cmd, `"ln"`))
		}
	}
	if !sawCharset || !sawRetry {
		t.Errorf("want a CHARSET UTF-8 search and then one without charset for \"ln\": charset %v retry %v", sawCharset, sawRetry)
	}
	// Nothing ASCII left to search for: no results, a clear hint, no error.
	if r, links := e.search(c, "Searchable", "日本", false, 1); len(links) != 0 || !strings.Contains(r.body, "cannot search for accented") {
		t.Errorf("search 日本 on a BADCHARSET server: %d results", len(links))
	}
	// ASCII queries carry no charset at all.
	wp.commands()
	e.search(c, "Searchable", "mail", false, 1)
	for _, cmd := range wp.commands() {
		if strings.Contains(cmd, "CHARSET") {
			t.Errorf("ASCII search sent a charset: %q", cmd)
		}
	}
}
