package imapmail

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestCleanQuery(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":         {"hello world", "hello world"},
		"spaces":        {"  a \t  b  ", "a b"},
		"CRLF":          {"x\r\nA1 DELETE INBOX", "x A1 DELETE INBOX"},
		"NUL":           {"a\x00b", "a b"},
		"quotes":        {`a"b\c`, `a"b\c`},
		"non-ASCII":     {"Grüße 日本", "Grüße 日本"},
		"invalid UTF-8": {"a\xffb", "a\uFFFDb"},
		"long":          {strings.Repeat("é", 300), strings.Repeat("é", 200)},
		"empty":         {"\r\n", ""},
	}
	for name, tc := range tests {
		if got := CleanQuery(tc.in); got != tc.want {
			t.Errorf("%s: CleanQuery(%q) = %q, want %q", name, tc.in, got, tc.want)
		}
	}
}

func TestQueryTerms(t *testing.T) {
	if got := queryTerms("a b A c d e f g h i j"); !slices.Equal(got, []string{"a", "b", "c", "d", "e", "f", "g", "h"}) {
		t.Errorf("queryTerms = %q, want 8 distinct words", got)
	}
	tests := map[string]struct {
		in     []string
		want   []string
		approx bool
	}{
		"ascii":   {[]string{"hello"}, []string{"hello"}, false},
		"umlaut":  {[]string{"Köln"}, []string{"ln"}, true},
		"mixed":   {[]string{"Grüße", "invoice"}, []string{"Gr", "invoice"}, true},
		"CJK":     {[]string{"日本"}, nil, true},
		"cut out": {[]string{"aé"}, nil, true},
	}
	for name, tc := range tests {
		got, approx := asciiTerms(tc.in)
		if !slices.Equal(got, tc.want) || approx != tc.approx {
			t.Errorf("%s: asciiTerms(%q) = %q, %v; want %q, %v", name, tc.in, got, approx, tc.want, tc.approx)
		}
	}
}

func TestThreadTree(t *testing.T) {
	msg := func(uid imap.UID, mid, parent string, day int) *imapclient.FetchMessageBuffer {
		env := &imap.Envelope{MessageID: mid, Subject: mid, Date: time.Date(2026, 1, day, 0, 0, 0, 0, time.UTC)}
		if parent != "" {
			env.InReplyTo = []string{parent}
		}
		return &imapclient.FetchMessageBuffer{UID: uid, Envelope: env}
	}
	// root ← a ← c, root ← b; x and y reply to each other (a loop).
	bufs := []*imapclient.FetchMessageBuffer{
		msg(5, "c", "a", 4), msg(1, "root", "", 1), msg(3, "b", "root", 3), msg(2, "a", "root", 2),
		msg(7, "x", "y", 6), msg(8, "y", "x", 7),
	}
	var got []string
	for _, it := range threadTree(9, bufs, 3) {
		cur := ""
		if it.Current {
			cur = "*"
		}
		got = append(got, fmt.Sprintf("%s@%d%s", it.Subject, it.Depth, cur))
	}
	if want := []string{"root@0", "a@1", "c@2", "b@1*", "x@0", "y@1"}; !slices.Equal(got, want) {
		t.Errorf("threadTree = %q, want %q", got, want)
	}
	m := &mailproxy.Message{MessageID: "own@x.example", InReplyTo: "parent@x.example", References: []string{"root@x.example", "mid@x.example", "parent@x.example", "a"}}
	if ids := threadIDs(m); !slices.Equal(ids, []string{"own@x.example", "parent@x.example", "root@x.example", "mid@x.example"}) {
		t.Errorf("threadIDs = %q", ids)
	}
}

// TestSearchWindows searches a folder bigger than fullSearchMax: in
// windows, newest first, stopping when the page is full or the time is
// spent, and continuing below Rest finds exactly the rest.
func TestSearchWindows(t *testing.T) {
	defer func(a, b int, c time.Duration) { fullSearchMax, firstWindow, searchBudget = a, b, c }(fullSearchMax, firstWindow, searchBudget)
	fullSearchMax, firstWindow = 50, 40

	p, d := demoPool(t, PoolOptions{})
	if err := d.CreateMailbox("Big"); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		word := "common"
		if i%50 == 7 {
			word = "rare"
		}
		raw := fmt.Sprintf("From: a@example.org\r\nSubject: %s %03d\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\nbody\r\n", word, i)
		if _, err := d.User().Append("Big", bytesLiteral(raw), &imap.AppendOptions{Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := p.Login(ctx, "s", demoCreds); err != nil {
		t.Fatal(err)
	}
	s := p.Session("s", demoCreds)
	subjects := func(pg *mailproxy.MessagePage) []string {
		var out []string
		for _, m := range pg.Messages {
			out = append(out, m.Subject)
		}
		return out
	}

	// Many matches: page 1 comes from the newest window alone.
	searchBudget = time.Minute
	pg, err := s.Search(ctx, "Big", mailproxy.SearchQuery{Text: "common", PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !pg.More || pg.Searched != 40 || len(pg.Messages) != 10 || pg.Messages[0].Subject != "common 299" || pg.Pages != 4+1 {
		t.Errorf("common page 1: more %v searched %d rows %d first %q pages %d", pg.More, pg.Searched, len(pg.Messages), subjects(pg), pg.Pages)
	}
	// Few matches with time to spare: every window, all 6 found.
	pg, err = s.Search(ctx, "Big", mailproxy.SearchQuery{Text: "rare", PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rare 257", "rare 207", "rare 157", "rare 107", "rare 057", "rare 007"}
	if pg.More || pg.Total != 6 || !slices.Equal(subjects(pg), want) {
		t.Errorf("rare with time: more %v total %d %q, want %q", pg.More, pg.Total, subjects(pg), want)
	}
	// No time: one window, then "search older" continues below Rest.
	searchBudget = time.Nanosecond
	var got []string
	q := mailproxy.SearchQuery{Text: "rare", PageSize: 10}
	for range 20 {
		pg, err = s.Search(ctx, "Big", q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, subjects(pg)...)
		if !pg.More {
			break
		}
		if pg.Rest == 0 || (q.Below != 0 && pg.Rest >= q.Below) {
			t.Fatalf("Rest %d does not move down from %d", pg.Rest, q.Below)
		}
		q.Below = pg.Rest
	}
	if !slices.Equal(got, want) {
		t.Errorf("rare in steps = %q, want %q", got, want)
	}
}

type bytesLit struct {
	*bytes.Reader
	n int64
}

func (l bytesLit) Size() int64 { return l.n }

func bytesLiteral(s string) imap.LiteralReader {
	return bytesLit{bytes.NewReader([]byte(s)), int64(len(s))}
}
