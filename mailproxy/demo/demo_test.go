package demo

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"mime"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
)

// testNow is a fixed reference time in a non-UTC zone.
var testNow = time.Date(2025, 6, 14, 9, 30, 0, 0, time.FixedZone("CEST", 2*3600))

// wantCounts is the number of messages of every demo folder.
var wantCounts = map[string]int{
	FolderInbox:        250,
	FolderSent:         30,
	FolderDrafts:       3,
	FolderTrash:        10,
	FolderJunk:         5,
	FolderArchive:      40,
	FolderProjects:     0,
	FolderThumbmail:    12,
	FolderGarden:       8,
	FolderTravelPhotos: 6,
	FolderBills:        9,
}

func startServer(t *testing.T, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr(), &imapclient.Options{
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(t *testing.T, s *Server) *imapclient.Client {
	t.Helper()
	c := dial(t, s)
	if err := c.Login(s.Username(), s.Password()).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

func TestMessagesDeterministic(t *testing.T) {
	a, b := Messages(testNow), Messages(testNow)
	if len(a) != len(wantCounts) {
		t.Errorf("got %d folders, want %d", len(a), len(wantCounts))
	}
	total := 0
	for name, want := range wantCounts {
		if got := len(a[name]); got != want {
			t.Errorf("%s: %d messages, want %d", name, got, want)
		}
		total += len(a[name])
		for i := range a[name] {
			if !bytes.Equal(a[name][i], b[name][i]) {
				t.Fatalf("%s #%d differs between two calls", name, i)
			}
		}
	}
	t.Logf("%d messages in total", total)

	other := Messages(testNow.Add(48 * time.Hour))
	if bytes.Equal(a[FolderInbox][0], other[FolderInbox][0]) {
		t.Errorf("messages do not depend on now")
	}
}

// walk parses a raw message fully: every part is read and decoded.
func walk(t *testing.T, raw []byte) (*mail.Header, []part) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("CreateReader: %v", err)
	}
	h := r.Header
	var parts []part
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		ct, params, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType()
		var filename, cid string
		if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
			filename, _ = ah.Filename()
			cid = ah.Get("Content-Id")
		} else if ih, ok := p.Header.(*mail.InlineHeader); ok {
			cid = ih.Get("Content-Id")
		}
		parts = append(parts, part{ct, params, filename, cid, body})
	}
	return &h, parts
}

type part struct {
	contentType string
	params      map[string]string
	filename    string
	cid         string
	body        []byte
}

func TestMessagesParse(t *testing.T) {
	ids := make(map[string]string)
	var all []parsed
	for _, f := range generate(testNow) {
		var prev time.Time
		for i, m := range f.msgs {
			h, parts := walk(t, m.raw)
			date, err := h.Date()
			if err != nil {
				t.Errorf("%s #%d: Date: %v", f.name, i, err)
			}
			if !date.Equal(m.date) {
				t.Errorf("%s #%d: Date header %v != INTERNALDATE %v", f.name, i, date, m.date)
			}
			if date.After(testNow) {
				t.Errorf("%s #%d: date %v is in the future", f.name, i, date)
			}
			if date.Before(prev) {
				t.Errorf("%s #%d: not sorted oldest first", f.name, i)
			}
			prev = date
			id, err := h.MessageID()
			if err != nil || id == "" {
				t.Errorf("%s #%d: Message-ID %q: %v", f.name, i, id, err)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("%s #%d: Message-ID %q also in %s", f.name, i, id, other)
			}
			ids[id] = f.name
			subject, err := h.Subject()
			if err != nil {
				t.Errorf("%s #%d: Subject: %v", f.name, i, err)
			}
			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 {
				t.Errorf("%s #%d: From %v: %v", f.name, i, from, err)
			}
			for _, line := range strings.Split(string(m.raw), "\r\n") {
				if len(line) > 998 {
					t.Errorf("%s #%d: line of %d bytes", f.name, i, len(line))
				}
			}
			if bytes.Contains(bytes.ReplaceAll(m.raw, []byte("\r\n"), nil), []byte("\n")) {
				t.Errorf("%s #%d: bare LF", f.name, i)
			}
			all = append(all, parsed{f.name, subject, h, parts, m.flags})
		}
	}

	// The variety the brief asks for.
	has := func(pred func(p parsed) bool) int {
		n := 0
		for _, p := range all {
			if pred(p) {
				n++
			}
		}
		return n
	}
	anyPart := func(p parsed, pred func(part) bool) bool { return slices.ContainsFunc(p.parts, pred) }
	tests := []struct {
		name string
		min  int
		pred func(p parsed) bool
	}{
		{"PDF attachment", 10, func(p parsed) bool {
			return anyPart(p, func(q part) bool {
				return q.contentType == "application/pdf" && bytes.HasPrefix(q.body, []byte("%PDF-1.4"))
			})
		}},
		{"PNG attachment that decodes", 10, func(p parsed) bool {
			return anyPart(p, func(q part) bool {
				if q.contentType != "image/png" {
					return false
				}
				_, err := png.Decode(bytes.NewReader(q.body))
				return err == nil
			})
		}},
		{"inline cid image", 2, func(p parsed) bool {
			return anyPart(p, func(q part) bool { return q.cid != "" }) &&
				anyPart(p, func(q part) bool { return q.contentType == "text/html" && bytes.Contains(q.body, []byte(`src="cid:`)) })
		}},
		{"non-ASCII attachment name", 3, func(p parsed) bool {
			return anyPart(p, func(q part) bool { return q.filename != "" && !isASCII(q.filename) })
		}},
		{"HTML-only with script and remote image", 5, func(p parsed) bool {
			return len(p.parts) == 1 && p.parts[0].contentType == "text/html" &&
				bytes.Contains(p.parts[0].body, []byte("<script")) && bytes.Contains(p.parts[0].body, []byte(`src="https://`))
		}},
		{"multipart/alternative", 20, func(p parsed) bool {
			return anyPart(p, func(q part) bool { return q.contentType == "text/plain" }) &&
				anyPart(p, func(q part) bool { return q.contentType == "text/html" })
		}},
		{"forwarded message/rfc822", 1, func(p parsed) bool {
			return anyPart(p, func(q part) bool { return q.contentType == "message/rfc822" })
		}},
		{"German subject", 1, func(p parsed) bool { return strings.Contains(p.subject, "Straßenfest") }},
		{"French Latin-1 subject", 1, func(p parsed) bool { return p.subject == "Réunion de l'équipe : compte rendu" }},
		{"French Latin-1 QP body", 1, func(p parsed) bool {
			return anyPart(p, func(q part) bool { return strings.Contains(string(q.body), "Prochaine réunion") })
		}},
		{"Japanese ISO-2022-JP", 1, func(p parsed) bool {
			return p.subject == "会議の議事録" && anyPart(p, func(q part) bool { return strings.Contains(string(q.body), "議事録を送ります") })
		}},
		{"Japanese UTF-8", 1, func(p parsed) bool { return p.subject == "来週の打ち合わせについて" }},
		{"emoji", 1, func(p parsed) bool { return strings.Contains(p.subject, "🎉") }},
		{"Cyrillic UTF-8", 1, func(p parsed) bool { return strings.HasPrefix(p.subject, "Привет из Москвы") }},
		{"Cyrillic KOI8-R", 1, func(p parsed) bool {
			return p.subject == "Отчёт за квартал" && anyPart(p, func(q part) bool { return strings.Contains(string(q.body), "Анна Петрова") })
		}},
		{"non-ASCII sender name", 5, func(p parsed) bool {
			from, _ := p.h.AddressList("From")
			return len(from) == 1 && !isASCII(from[0].Name)
		}},
		{"long subject", 1, func(p parsed) bool { return len(p.subject) > 150 }},
		{"long message", 1, func(p parsed) bool {
			return anyPart(p, func(q part) bool { return len(q.body) > 25000 })
		}},
		{"no subject", 1, func(p parsed) bool { return !p.h.Has("Subject") }},
		{"\\Flagged", 5, func(p parsed) bool { return slices.Contains(p.flags, imap.FlagFlagged) }},
		{"\\Answered", 15, func(p parsed) bool { return slices.Contains(p.flags, imap.FlagAnswered) }},
		{"\\Draft", 3, func(p parsed) bool { return slices.Contains(p.flags, imap.FlagDraft) }},
		{"unseen in INBOX", 15, func(p parsed) bool { return p.folder == FolderInbox && !slices.Contains(p.flags, imap.FlagSeen) }},
		{"from demo user", 30, func(p parsed) bool {
			from, _ := p.h.AddressList("From")
			return len(from) == 1 && from[0].Address == "demo@example.org"
		}},
		{"reply with In-Reply-To", 30, func(p parsed) bool { return p.h.Has("In-Reply-To") && p.h.Has("References") }},
		{"today", 3, func(p parsed) bool {
			d, _ := p.h.Date()
			return testNow.Sub(d) < 8*time.Hour
		}},
		{"older than 3 months", 50, func(p parsed) bool {
			d, _ := p.h.Date()
			return testNow.Sub(d) > 90*24*time.Hour
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := has(tt.pred); n < tt.min {
				t.Errorf("%d messages, want at least %d", n, tt.min)
			}
		})
	}

	t.Run("thread", func(t *testing.T) {
		var thread []parsed
		for _, p := range all {
			if p.folder == FolderInbox && strings.HasSuffix(p.subject, "Thumbmail 0.1 release planning") {
				thread = append(thread, p)
			}
		}
		if len(thread) != 12 {
			t.Fatalf("thread has %d messages, want 12", len(thread))
		}
		for i := 1; i < len(thread); i++ {
			prevID, _ := thread[i-1].h.MessageID()
			irt, _ := thread[i].h.MsgIDList("In-Reply-To")
			refs, _ := thread[i].h.MsgIDList("References")
			if len(irt) != 1 || irt[0] != prevID {
				t.Errorf("#%d: In-Reply-To %v, want %s", i, irt, prevID)
			}
			if len(refs) == 0 || refs[len(refs)-1] != prevID {
				t.Errorf("#%d: References %v do not end with %s", i, refs, prevID)
			}
			if !bytes.Contains(thread[i].parts[0].body, []byte("\n> ")) {
				t.Errorf("#%d: no quoted text", i)
			}
		}
	})
}

type parsed struct {
	folder  string
	subject string
	h       *mail.Header
	parts   []part
	flags   []imap.Flag
}

func TestLogin(t *testing.T) {
	s := startServer(t, &Options{Username: "alice", Password: "s3cret"})
	tests := []struct {
		name, user, pass string
		ok               bool
	}{
		{"right", "alice", "s3cret", true},
		{"wrong password", "alice", "demo", false},
		{"wrong user", "demo", "s3cret", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s)
			err := c.Login(tt.user, tt.pass).Wait()
			if (err == nil) != tt.ok {
				t.Fatalf("login(%q, %q): err = %v, want ok = %v", tt.user, tt.pass, err, tt.ok)
			}
			var imapErr *imap.Error
			if !tt.ok && (!errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeAuthenticationFailed) {
				t.Errorf("error %v, want NO [AUTHENTICATIONFAILED]", err)
			}
		})
	}
	if got := s.URL(); got != "imap+insecure://"+s.Addr() || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("URL() = %q, Addr() = %q", got, s.Addr())
	}
}

func TestDefaults(t *testing.T) {
	s := startServer(t, nil)
	if s.Username() != "demo" || s.Password() != "demo" {
		t.Errorf("credentials %q/%q, want demo/demo", s.Username(), s.Password())
	}
	c := login(t, s)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for cap := range DefaultCaps() {
		if !caps.Has(cap) {
			t.Errorf("capability %s not advertised", cap)
		}
	}
	for _, cap := range []imap.Cap{imap.CapIdle, imap.CapUnselect, imap.CapEnable} {
		if !caps.Has(cap) {
			t.Errorf("capability %s not advertised", cap)
		}
	}
	t.Logf("capabilities: %v", caps)
}

func TestList(t *testing.T) {
	tests := []struct {
		name string
		caps imap.CapSet
	}{
		{"default caps", nil},
		{"IMAP4rev1 only", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapListExtended: {}, imap.CapListStatus: {}, imap.CapSpecialUse: {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, &Options{Caps: tt.caps})
			c := login(t, s)

			l, err := c.List("", "*", nil).Collect()
			if err != nil {
				t.Fatal(err)
			}
			got := make(map[string]*imap.ListData)
			var order []string
			for _, d := range l {
				got[d.Mailbox] = d
				order = append(order, d.Mailbox)
				if d.Delim != '/' {
					t.Errorf("%s: delimiter %q", d.Mailbox, d.Delim)
				}
			}
			if len(got) != len(wantCounts) {
				t.Errorf("LIST returned %v", order)
			}
			if order[0] != "INBOX" {
				t.Errorf("INBOX not first: %v", order)
			}
			for name := range wantCounts {
				d := got[name]
				if d == nil {
					t.Errorf("%s missing from LIST", name)
					continue
				}
				for _, attr := range []imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive} {
					want := SpecialUse()[name] == attr
					if slices.Contains(d.Attrs, attr) != want {
						t.Errorf("%s: attrs %v, want %s: %v", name, d.Attrs, attr, want)
					}
				}
				wantChildren := name == FolderProjects
				if slices.Contains(d.Attrs, imap.MailboxAttrHasChildren) != wantChildren ||
					slices.Contains(d.Attrs, imap.MailboxAttrHasNoChildren) == wantChildren {
					t.Errorf("%s: attrs %v, want children: %v", name, d.Attrs, wantChildren)
				}
			}

			// Patterns.
			patterns := []struct {
				ref, pattern string
				want         []string
			}{
				{"", "%", []string{"INBOX", "Archive", "Bills & Receipts", "Drafts", "Junk", "Projects", "Reisen – Fotos", "Sent", "Trash"}},
				{"", "Projects/%", []string{"Projects/Garden", "Projects/Thumbmail"}},
				{"Projects/", "%", []string{"Projects/Garden", "Projects/Thumbmail"}},
				{"", "inbox", []string{"INBOX"}},
				{"", "Reisen – Fotos", []string{"Reisen – Fotos"}},
				{"", "Bills & *", []string{"Bills & Receipts"}},
				{"", "nothing*", nil},
			}
			for _, p := range patterns {
				l, err := c.List(p.ref, p.pattern, nil).Collect()
				if err != nil {
					t.Fatalf("LIST %q %q: %v", p.ref, p.pattern, err)
				}
				var names []string
				for _, d := range l {
					names = append(names, d.Mailbox)
				}
				if !slices.Equal(names, p.want) {
					t.Errorf("LIST %q %q = %q, want %q", p.ref, p.pattern, names, p.want)
				}
			}

			// SPECIAL-USE selection.
			l, err = c.List("", "*", &imap.ListOptions{SelectSpecialUse: true, ReturnSpecialUse: true}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			if len(l) != len(SpecialUse()) {
				t.Errorf("LIST (SPECIAL-USE) returned %d mailboxes, want %d", len(l), len(SpecialUse()))
			}

			// LIST-STATUS.
			msgs := Messages(testNow)
			l, err = c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{
				NumMessages: true, NumUnseen: true, UIDNext: true, UIDValidity: true, Size: true,
			}}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			if len(l) != len(wantCounts) {
				t.Fatalf("LIST-STATUS returned %d mailboxes", len(l))
			}
			for _, d := range l {
				if d.Status == nil || d.Status.NumMessages == nil || d.Status.Size == nil {
					t.Errorf("%s: no status: %+v", d.Mailbox, d.Status)
					continue
				}
				if got, want := int(*d.Status.NumMessages), len(msgs[d.Mailbox]); got != want {
					t.Errorf("%s: LIST-STATUS MESSAGES %d, want %d", d.Mailbox, got, want)
				}
				var size int64
				for _, m := range msgs[d.Mailbox] {
					size += int64(len(m))
				}
				if *d.Status.Size != size {
					t.Errorf("%s: SIZE %d, want %d", d.Mailbox, *d.Status.Size, size)
				}
			}
		})
	}
}

func TestStatus(t *testing.T) {
	s := startServer(t, nil)
	c := login(t, s)
	for _, f := range generate(testNow) {
		t.Run(f.name, func(t *testing.T) {
			st, err := c.Status(f.name, &imap.StatusOptions{NumMessages: true, NumUnseen: true, UIDNext: true, DeletedStorage: true}).Wait()
			if err != nil {
				t.Fatal(err)
			}
			unseen := 0
			for _, m := range f.msgs {
				if !slices.Contains(m.flags, imap.FlagSeen) {
					unseen++
				}
			}
			if *st.NumMessages != uint32(wantCounts[f.name]) || *st.NumUnseen != uint32(unseen) || st.UIDNext != imap.UID(len(f.msgs)+1) {
				t.Errorf("STATUS = messages %d unseen %d uidnext %d, want %d %d %d",
					*st.NumMessages, *st.NumUnseen, st.UIDNext, wantCounts[f.name], unseen, len(f.msgs)+1)
			}
			if f.name == FolderInbox {
				t.Logf("INBOX: %d unseen", unseen)
			}
		})
	}

	t.Run("selected mailbox", func(t *testing.T) {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if *st.NumMessages != uint32(wantCounts[FolderInbox]) {
			t.Errorf("STATUS INBOX while selected: %d messages", *st.NumMessages)
		}
		if err := c.Noop().Wait(); err != nil {
			t.Errorf("connection broken after STATUS: %v", err)
		}
	})

	t.Run("missing", func(t *testing.T) {
		if _, err := c.Status("No such folder", &imap.StatusOptions{NumMessages: true}).Wait(); err == nil {
			t.Error("STATUS of a missing mailbox succeeded")
		}
	})
}

func TestFetchEverything(t *testing.T) {
	s := startServer(t, nil)
	c := login(t, s)
	for _, f := range generate(testNow) {
		t.Run(f.name, func(t *testing.T) {
			data, err := c.Select(f.name, &imap.SelectOptions{ReadOnly: true}).Wait()
			if err != nil {
				t.Fatal(err)
			}
			if int(data.NumMessages) != len(f.msgs) {
				t.Fatalf("EXAMINE: %d messages, want %d", data.NumMessages, len(f.msgs))
			}
			if len(f.msgs) == 0 {
				return
			}
			var all imap.SeqSet
			all.AddRange(1, 0)
			msgs, err := c.Fetch(all, &imap.FetchOptions{
				UID: true, Flags: true, Envelope: true, InternalDate: true, RFC822Size: true,
				BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
			}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != len(f.msgs) {
				t.Fatalf("FETCH returned %d messages, want %d", len(msgs), len(f.msgs))
			}
			for i, m := range msgs {
				want := f.msgs[i]
				h, _ := walk(t, want.raw)
				id, _ := h.MessageID()
				subject, _ := h.Subject()
				switch {
				case m.Envelope == nil || m.BodyStructure == nil:
					t.Errorf("#%d: no envelope or body structure", i+1)
				case m.Envelope.MessageID != id:
					t.Errorf("#%d: envelope Message-ID %q, want %q", i+1, m.Envelope.MessageID, id)
				case m.Envelope.Subject != subject:
					t.Errorf("#%d: envelope subject %q, want %q", i+1, m.Envelope.Subject, subject)
				case len(m.Envelope.From) != 1:
					t.Errorf("#%d: envelope From %v", i+1, m.Envelope.From)
				case !m.InternalDate.Equal(want.date):
					t.Errorf("#%d: INTERNALDATE %v, want %v", i+1, m.InternalDate, want.date)
				case m.RFC822Size != int64(len(want.raw)):
					t.Errorf("#%d: RFC822.SIZE %d, want %d", i+1, m.RFC822Size, len(want.raw))
				case slices.Contains(m.Flags, imap.FlagSeen) != slices.Contains(want.flags, imap.FlagSeen):
					t.Errorf("#%d: flags %v, want %v", i+1, m.Flags, want.flags)
				}
				ct, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
				if got := m.BodyStructure.MediaType(); got != ct {
					t.Errorf("#%d: BODYSTRUCTURE type %q, want %q", i+1, got, ct)
				}
			}
		})
	}
}

func TestExamineIsReadOnly(t *testing.T) {
	s := startServer(t, nil)
	c := login(t, s)
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	last := imap.SeqSetNum(250)
	if _, err := c.Fetch(last, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(last, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err == nil {
		t.Error("STORE after EXAMINE succeeded")
	}
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Errorf("CLOSE after EXAMINE: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(last, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Errorf("BODY[] after EXAMINE set \\Seen: %v", msgs[0].Flags)
	}
	// After SELECT, BODY[] does set \Seen.
	if _, err := c.Fetch(last, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	msgs, err = c.Fetch(last, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Errorf("BODY[] after SELECT did not set \\Seen: %v", msgs[0].Flags)
	}
}

func TestMailboxManagement(t *testing.T) {
	s := startServer(t, nil)
	c := login(t, s)
	steps := []struct {
		name string
		run  func() error
		ok   bool
	}{
		{"create with USE", func() error {
			return c.Create("Important stuff", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrFlagged}}).Wait()
		}, true},
		{"create with bad USE", func() error {
			return c.Create("Bad", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrNoSelect}}).Wait()
		}, false},
		{"create existing", func() error { return c.Create("Sent", nil).Wait() }, false},
		{"create nested without parent", func() error { return s.CreateMailbox("Lists/golang-nuts") }, true},
		{"rename with children", func() error { return c.Rename("Projects", "Work", nil).Wait() }, true},
		{"rename INBOX", func() error { return c.Rename("INBOX", "Old", nil).Wait() }, false},
		{"delete INBOX", func() error { return c.Delete("inbox").Wait() }, false},
		{"delete", func() error { return c.Delete("Junk").Wait() }, true},
		{"unsubscribe", func() error { return c.Unsubscribe("Trash").Wait() }, true},
	}
	for _, st := range steps {
		if err := st.run(); (err == nil) != st.ok {
			t.Errorf("%s: err = %v, want ok = %v", st.name, err, st.ok)
		}
	}

	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string][]imap.MailboxAttr)
	for _, d := range l {
		got[d.Mailbox] = d.Attrs
	}
	checks := []struct {
		name  string
		exist bool
		attr  imap.MailboxAttr
	}{
		{"Important stuff", true, imap.MailboxAttrFlagged},
		{"Bad", false, ""},
		{"Lists", true, imap.MailboxAttrNoSelect},
		{"Lists/golang-nuts", true, imap.MailboxAttrHasNoChildren},
		{"Work", true, imap.MailboxAttrHasChildren},
		{"Work/Thumbmail", true, imap.MailboxAttrHasNoChildren},
		{"Work/Garden", true, imap.MailboxAttrHasNoChildren},
		{"Projects", false, ""},
		{"Projects/Garden", false, ""},
		{"Junk", false, ""},
		{"INBOX", true, imap.MailboxAttrHasNoChildren},
	}
	for _, ck := range checks {
		attrs, ok := got[ck.name]
		if ok != ck.exist {
			t.Errorf("%s: exists = %v, want %v", ck.name, ok, ck.exist)
		} else if ok && !slices.Contains(attrs, ck.attr) {
			t.Errorf("%s: attrs %v, want %s", ck.name, attrs, ck.attr)
		}
	}

	st, err := c.Status("Work/Thumbmail", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 12 {
		t.Errorf("renamed child: %v, %v", st, err)
	}

	// Subscriptions.
	l, err = c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range l {
		if d.Mailbox == "Trash" || d.Mailbox == "Important stuff" {
			t.Errorf("%s listed as subscribed", d.Mailbox)
		}
		if !slices.Contains(d.Attrs, imap.MailboxAttrSubscribed) {
			t.Errorf("%s: attrs %v lack \\Subscribed", d.Mailbox, d.Attrs)
		}
	}

	// Appending through User() shows up over IMAP.
	raw := []byte("From: x@example.com\r\nSubject: appended\r\nMessage-ID: <appended@example.com>\r\n\r\nhi\r\n")
	if _, err := s.User().Append("Lists/golang-nuts", bytes.NewReader(raw), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err = c.Status("Lists/golang-nuts", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("after Append: %v, %v", st, err)
	}
}

func TestClose(t *testing.T) {
	s, err := Start(&Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("demo", "demo").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Error("open connection not closed by Close")
	}
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("server still accepts connections after Close")
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
	}{
		{"no IMAP4rev1 nor IMAP4rev2", &Options{Caps: imap.CapSet{imap.CapIdle: {}}}},
		{"bad address", &Options{Addr: "256.0.0.1:99999"}},
		{"not loopback", &Options{Addr: ":0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
		})
	}
}

func TestPDF(t *testing.T) {
	doc := pdfDoc("Title (with parens)", "line one", `back\slash`)
	if !bytes.HasPrefix(doc, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(doc, []byte("%%EOF\n")) {
		t.Fatalf("bad header or trailer:\n%s", doc)
	}
	var xref int
	tail := doc[bytes.LastIndex(doc, []byte("startxref\n"))+len("startxref\n"):]
	if _, err := fmt.Sscanf(string(tail), "%d", &xref); err != nil || !bytes.HasPrefix(doc[xref:], []byte("xref\n0 7\n")) {
		t.Fatalf("startxref %d does not point at the xref table (%v)", xref, err)
	}
	entries := strings.Split(string(doc[xref:]), "\n")[3:9]
	for i, e := range entries {
		var off int
		if len(e) != 19 { // 20 bytes with the \n
			t.Errorf("xref entry %q is not 20 bytes", e)
		}
		fmt.Sscanf(e, "%d", &off)
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(doc[off:], []byte(want)) {
			t.Errorf("object %d not at offset %d", i+1, off)
		}
	}
	var length int
	i := bytes.Index(doc, []byte("/Length "))
	fmt.Sscanf(string(doc[i+len("/Length "):]), "%d", &length)
	start := bytes.Index(doc, []byte("stream\n")) + len("stream\n")
	if end := bytes.Index(doc, []byte("endstream")); end-start != length {
		t.Errorf("stream /Length %d, actual %d", length, end-start)
	}
}
