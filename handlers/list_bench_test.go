package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/web"
)

// pageBackend is a mail backend that answers every list with the same
// page at once: what is left of a list request is thumbmail's own work
// (session lookup, rendering, compression).
type pageBackend struct{ page *mailproxy.MessagePage }

func (b pageBackend) Login(context.Context, string, mailproxy.Credentials) error { return nil }
func (b pageBackend) Session(string, mailproxy.Credentials) mailproxy.Session {
	return pageSession{page: b.page}
}
func (b pageBackend) Logout(string) {}
func (b pageBackend) Caps() mailproxy.Caps {
	return mailproxy.Caps{Folders: true, Flags: true, Move: true, Search: true}
}
func (b pageBackend) Close()                                                {}
func (s pageSession) Caps() mailproxy.Caps                                  { return pageBackend{}.Caps() }
func (s pageSession) Close() error                                          { return nil }
func (s pageSession) SpecialFolder(context.Context, string) (string, error) { return "Junk", nil }
func (s pageSession) List(context.Context, string, mailproxy.ListQuery) (*mailproxy.MessagePage, error) {
	return s.page, nil
}

type pageSession struct {
	mailproxy.Session // the rest is not called
	page              *mailproxy.MessagePage
}

// benchPage is a first page of 50 rows of a 2,000-message INBOX, with
// the lengths of real mail (names, subjects, previews with non-ASCII).
func benchPage() *mailproxy.MessagePage {
	p := &mailproxy.MessagePage{Folder: "INBOX", FolderDisplay: "Inbox", Page: 1, PageSize: 50, Pages: 40, Total: 2000, Unread: 12, First: 1, Last: 50, Validity: 1700000000, Anchor: 2000}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := range 50 {
		uid := 2000 - i
		p.Messages = append(p.Messages, mailproxy.Summary{
			ID:         fmt.Sprintf("1700000000-%d", uid),
			From:       mailproxy.Address{Name: []string{"Jörg Müller", "Anna Schmidt", "GitHub", "Dr. Ramanathan Krishnamurthy"}[i%4], Email: fmt.Sprintf("sender%d@example.org", i)},
			Subject:    []string{"Re: Quarterly figures – draft for review", "Your order #A-19283 has shipped", "[thumbmail/thumbmail] Row cache for the list page (#16)", "Lunch?"}[i%4],
			Date:       now.Add(-time.Duration(i) * 37 * time.Minute),
			Size:       int64(3000 + 977*i),
			Preview:    "Hi all, attached is the draft of the quarterly figures. Könnten wir bis Freitag darüber …",
			Seen:       i%5 != 0,
			Flagged:    i%11 == 0,
			Answered:   i%7 == 0,
			Attachment: i%6 == 0,
		})
		p.NewestUID, p.OldestUID = 2000, uint32(uid)
	}
	return p
}

// BenchmarkListPage measures a list page through the whole router with a
// mail backend that costs nothing: cookie and session lookup, the page's
// rendering and (with gzip) compression.
func BenchmarkListPage(b *testing.B) {
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("k", 40)}, Store: web.NewMemoryStore(), Idle: time.Hour, Max: time.Hour, Path: "/"})
	if err != nil {
		b.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: pageBackend{page: benchPage()}, Logger: slog.New(slog.DiscardHandler), PageSize: 50})
	routes := h.Routes()
	srv := httptest.NewServer(routes)
	defer srv.Close()
	c := (&testEnv{t: b, srv: srv}).client()
	form := url.Values{"username": {"alice"}, "password": {"pw"}}
	env := &testEnv{t: b, srv: srv}
	if r := env.do(c, "POST", "/login", form); r.status != http.StatusSeeOther {
		b.Fatalf("POST /login = %d", r.status)
	}
	u, _ := url.Parse(srv.URL + "/f/INBOX")
	cookies := c.Jar.Cookies(u)
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/f/INBOX", nil)
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			req.Header.Set("Accept-Encoding", enc)
			b.ReportAllocs()
			var size int
			for b.Loop() {
				w := httptest.NewRecorder()
				routes.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET /f/INBOX = %d: %s", w.Code, w.Body)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
	_ = io.Discard
}
