package handlers

import (
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// realMailBudget is how long any one page of the real-mail sweep may
// take: 2 s, or 10 s under the race detector, which makes the CPU-bound
// work of a page (MIME parsing, HTML sanitizing, rendering, gzip) 10 to
// 20 times slower, and the two walks share the CPUs. Either way a page
// waiting on a command deadline (30 s) fails.
var realMailBudget = sync.OnceValue(func() time.Duration {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return 10 * time.Second
			}
		}
	}
	return 2 * time.Second
})

// TestDovecotRealMail is issue 11's "real mail never hangs a page": a
// mailbox of every shape real inboxes hold (dovecottest.RealWorld:
// HTML-only newsletters, bounces, S/MIME and PGP, TNEF, odd and wrong
// charsets, broken MIME, a 1 MB header, 40 levels of nesting, NUL bytes,
// ...) is walked like a curious user would: every list page of INBOX and
// of a subfolder (following Older), every message, its reply and forward
// pages, every attachment and part download, Show images and a search.
// No page may fail with a 5xx or be cut off, and none may take over 2 s
// (see realMailBudget for the race detector). The same walk runs over
// POP3.
func TestDovecotRealMail(t *testing.T) {
	t.Run("IMAP", func(t *testing.T) {
		t.Parallel()
		dc := dovecottest.Start(t, nil)
		dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", dovecottest.RealWorldMessages(11), nil)
		dc.WriteMessages(t, dovecottest.DefaultUser, "Lists/Real", dovecottest.RealWorldMessages(12), nil)
		up, err := mailproxy.ParseUpstream(dc.IMAPURL(), "imap")
		if err != nil {
			t.Fatal(err)
		}
		pool := imapmail.NewPool(&imapmail.PoolOptions{IMAP: up, Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(pool.Close)
		// Two browsers at once, one per folder.
		for _, folder := range []string{"INBOX", "Lists/Real"} {
			t.Run(strings.ReplaceAll(folder, "/", "-"), func(t *testing.T) {
				t.Parallel()
				s := newRealMailSweep(t, pool)
				s.folder(folder, folder == "INBOX")
				s.report()
			})
		}
	})
	t.Run("POP3", func(t *testing.T) {
		t.Parallel()
		dc := dovecottest.Start(t, &dovecottest.Options{POP3: true})
		dc.WriteMessages(t, dovecottest.DefaultUser, "INBOX", dovecottest.RealWorldMessages(11), nil)
		up, err := mailproxy.ParseUpstream(dc.POP3URL(), "pop3")
		if err != nil {
			t.Fatal(err)
		}
		backend := pop3mail.NewBackend(&pop3mail.Options{POP3: up, Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(backend.Close)
		s := newRealMailSweep(t, backend)
		s.folder("INBOX", true)
		s.report()
	})
}

var (
	sweepLinkRE   = regexp.MustCompile(`(?:href|src)="([^"]+)"`)
	pageHeadingRE = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
)

// realMailSweep walks a signed-in session's pages and times each.
type realMailSweep struct {
	t     *testing.T
	e     *testEnv
	c     *http.Client
	want  int             // messages per folder
	done  map[string]bool // links already followed
	times []sweepTime
	// canSearch: the list pages have a search box.
	canSearch bool
}

// newRealMailSweep is the router in front of mail, with a submission
// server configured (so Reply and Forward are offered; it is never
// contacted), and a browser signed in as the default user.
func newRealMailSweep(t *testing.T, mail mailproxy.Backend) *realMailSweep {
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("r", 40)}, Store: web.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	submit := send.NewSubmitter(&send.SubmitOptions{SMTP: mailproxy.Upstream{Protocol: "smtp", Host: "127.0.0.1", Port: "1"}, Logger: slog.New(slog.DiscardHandler)})
	h := New(Config{Sessions: sm, Mail: mail, Submit: submit, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	e := &testEnv{t: t, srv: srv, handler: h}
	c := e.client()
	c.Timeout = 30 * time.Second // a hang fails a request, not the test binary
	if r := e.do(c, "POST", "/login", url.Values{"username": {dovecottest.DefaultUser}, "password": {dovecottest.DefaultPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d: %s", r.status, r.body)
	}
	return &realMailSweep{t: t, e: e, c: c, want: len(dovecottest.RealWorldShapes()), done: map[string]bool{}}
}

// get fetches path once, checking its status and time; what (the page's
// role) goes into failure messages.
func (s *realMailSweep) get(path, what string) result {
	s.t.Helper()
	start := time.Now()
	r, err := s.fetch(path)
	took := time.Since(start)
	s.times = append(s.times, sweepTime{path, what, took})
	switch {
	case err != nil:
		s.t.Errorf("GET %s (%s): %v (after %v)", path, what, err, took.Round(time.Millisecond))
	case r.status >= 500:
		s.t.Errorf("GET %s (%s) = %d", path, what, r.status)
	case r.status != http.StatusOK:
		s.t.Logf("GET %s (%s) = %d", path, what, r.status)
	}
	if took > realMailBudget() {
		s.t.Errorf("GET %s (%s) took %v, want under %v", path, what, took.Round(time.Millisecond), realMailBudget())
	}
	return r
}

// fetch is testEnv.get, but a failed transfer (a connection cut by a
// panic or an aborted download) is returned, so that the walk goes on.
func (s *realMailSweep) fetch(path string) (result, error) {
	resp, err := s.c.Get(s.e.srv.URL + path)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), header: resp.Header}, err
}

// folder walks every list page of folder, then every message in it, then
// a search. Unless all is set, the messages' pages are only the message,
// Reply, Forward and the parts (the other links lead to the same code as
// in the first folder, and the race detector makes them slow).
func (s *realMailSweep) folder(folder string, all bool) {
	s.t.Helper()
	var msgs []string
	path := "/f/" + templates.EncodeFolder(folder)
	for page := 1; path != ""; page++ {
		if page > 20 {
			s.t.Errorf("%s: still an Older link after 20 pages", folder)
			break
		}
		r := s.get(path, fmt.Sprintf("%s list page %d", folder, page))
		s.canSearch = strings.Contains(r.body, `role="search"`)
		if r.status != http.StatusOK {
			s.t.Errorf("%s list page %d = %d", folder, page, r.status)
			break
		}
		for _, l := range messageLinks(r.body) {
			if !slices.Contains(msgs, l) {
				msgs = append(msgs, l)
			}
		}
		path = ""
		if m := olderLinkRE.FindStringSubmatch(r.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(msgs) != s.want {
		s.t.Errorf("%s lists %d messages, want all %d", folder, len(msgs), s.want)
	}
	for _, m := range msgs {
		s.message(m, all)
	}
	search := "/f/" + templates.EncodeFolder(folder) + "/search?q=the"
	if !s.canSearch {
		search = "" // POP3: no search box, and the URL answers 501 Not supported
	}
	for page := 1; search != "" && page <= 10; page++ {
		r := s.get(search, folder+" search")
		search = ""
		if m := olderLinkRE.FindStringSubmatch(r.body); m != nil {
			search = html.UnescapeString(m[1])
		}
	}
}

// message opens a message and everything its page leads to within the
// message: reply, reply all, forward (also as an attachment), edit as
// new, Show images, every attachment and every inline (cid:) image.
func (s *realMailSweep) message(path string, all bool) {
	s.t.Helper()
	r := s.get(path, "message")
	what := path
	if m := pageHeadingRE.FindStringSubmatch(r.body); m != nil {
		what = fmt.Sprintf("%.60q", strings.TrimSpace(html.UnescapeString(m[1])))
	}
	if r.status != http.StatusOK && r.status < 500 {
		s.t.Errorf("message %s %s = %d", path, what, r.status)
	}
	// Reply and Forward even where the page would not offer them.
	links := []string{path + "/reply", path + "/forward"}
	for _, m := range sweepLinkRE.FindAllStringSubmatch(r.body, -1) {
		l := html.UnescapeString(m[1])
		if rest, ok := strings.CutPrefix(l, path); ok && (strings.HasPrefix(rest, "/part/") || all && (strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "?"))) {
			links = append(links, l)
		}
	}
	for _, l := range links {
		if s.done[l] {
			continue
		}
		s.done[l] = true
		s.get(l, "from "+what)
	}
}

type sweepTime struct {
	path, what string
	took       time.Duration
}

// report logs the number of pages, their total time and the slowest five.
func (s *realMailSweep) report() {
	var total time.Duration
	for _, x := range s.times {
		total += x.took
	}
	slices.SortFunc(s.times, func(a, b sweepTime) int { return int(b.took - a.took) })
	s.t.Logf("%d pages in %v; the slowest:", len(s.times), total.Round(time.Millisecond))
	for _, x := range s.times[:min(5, len(s.times))] {
		s.t.Logf("  %v GET %s (%s)", x.took.Round(time.Millisecond), x.path, x.what)
	}
}
