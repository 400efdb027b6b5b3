package pop3mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"

	"github.com/thumbmail/thumbmail/mailproxy/pop3"
)

// pop3Session is the Session of one request: the backend's entry for the
// session id plus the credentials to reconnect with.
type pop3Session struct {
	e     *pop3Entry
	creds mailproxy.Credentials
}

func (s *pop3Session) do(ctx context.Context, fn func(*pop3Conn) error) error {
	return s.e.do(ctx, s.creds, true, fn)
}

// Caps reports POP3's capabilities: one folder, no server-side flags, no
// move.
func (s *pop3Session) Caps() mailproxy.Caps { return pop3Caps }

// pop3Caps is what POP3 offers: one folder, no server-side flags, no
// move or search; collecting (read, then deleted) instead.
var pop3Caps = mailproxy.Caps{Collect: true}

// Caps is what the backend's sessions support.
func (b *Backend) Caps() mailproxy.Caps { return pop3Caps }

// Close ends the session: the connection is closed (QUIT, nothing
// removed) and what the session kept in memory is forgotten.
func (s *pop3Session) Close() error {
	s.e.b.Logout(s.e.id)
	return nil
}

// pop3Inbox is the one folder of a POP3 maildrop.
const pop3Inbox = "INBOX"

func pop3CheckFolder(folder string) error {
	if !strings.EqualFold(folder, pop3Inbox) {
		return fmt.Errorf("%w: folder %q (POP3 has only INBOX)", mailproxy.ErrNotFound, folder)
	}
	return nil
}

// pop3ID makes the opaque, URL-safe message id of a UIDL: a UIDL may hold
// any printable ASCII character (RFC 1939 §7), "/", "?" and "#" included.
func pop3ID(uidl string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(uidl))
}

// pop3VolatileHeaders are header fields that mbox-based servers rewrite as a
// message is read (qpopper, UW): left out of header hashes.
var pop3VolatileHeaders = map[string]bool{
	"status": true, "x-status": true, "x-uid": true, "x-keywords": true,
	"x-imap": true, "x-imapbase": true, "content-length": true, "lines": true,
	"x-pop3-rcpt": true, "x-uidl": true,
}

// pop3HashID makes the id of a message on a server without UIDL: "~" and
// the base64url SHA-256 of its header (as TOP n 0 returns it), without
// the fields servers rewrite. "~" cannot occur in a UIDL-based id.
// Messages with identical headers get the same id; the one found first
// wins.
func pop3HashID(data []byte) string {
	h := sha256.New()
	skip := false
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line = data[:i]
			data = data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r \t")
		if len(line) == 0 {
			break // the end of the header
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			skip = pop3VolatileHeaders[strings.ToLower(string(bytes.TrimSpace(name)))]
		}
		if !skip {
			h.Write(line)
			h.Write([]byte{'\n'})
		}
	}
	return "~" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// pop3Cache keeps list rows by message id, the oldest entries evicted
// first once it holds pop3CacheEntries.
type pop3Cache struct {
	m     map[string]mailproxy.Summary
	order []string
}

func (c *pop3Cache) get(id string) (mailproxy.Summary, bool) {
	s, ok := c.m[id]
	return s, ok
}

func (c *pop3Cache) put(id string, s mailproxy.Summary) {
	if c.m == nil {
		c.m = make(map[string]mailproxy.Summary)
	}
	if _, ok := c.m[id]; !ok {
		c.order = append(c.order, id)
	}
	c.m[id] = s
	for len(c.m) > pop3CacheEntries && len(c.order) > 0 {
		delete(c.m, c.order[0])
		c.order = c.order[1:] // append reallocates: the dropped head is freed
	}
}

func (c *pop3Cache) remove(id string) { delete(c.m, id) }

// markRead remembers that a message was opened in this session.
func (e *pop3Entry) markRead(id string) {
	if len(e.read) >= pop3ReadSetMax {
		for k := range e.read { // forget an arbitrary one
			delete(e.read, k)
			break
		}
	}
	e.read[id] = true
}

// unread counts the messages of the connection's maildrop not opened in
// this session. On a server without UIDL, messages not hashed yet count
// as unread.
func (e *pop3Entry) unread(c *pop3Conn, total int) int {
	read := 0
	for _, id := range c.ids[:total] {
		if id != "" && e.read[id] {
			read++
		}
	}
	return total - read
}

// find returns the position of message id on this connection. With UIDL
// it is a map lookup; without, headers are hashed (TOP n 0), starting
// where the message was last seen: messages only move down when older
// ones are removed, and new mail is added at the end.
func (e *pop3Entry) find(c *pop3Conn, id string) (int, error) {
	if p, ok := c.byID[id]; ok {
		return p, nil
	}
	if !c.hashed || !strings.HasPrefix(id, "~") {
		return -1, fmt.Errorf("%w: message %s", mailproxy.ErrNotFound, id)
	}
	n := len(c.nums)
	start, ok := e.hints[id]
	if !ok || start >= n {
		start = n - 1
	}
	probe := func(p int) (bool, error) {
		if c.ids[p] != "" {
			return false, nil // hashed already, and not id
		}
		got, err := e.hashAt(c, p)
		return got == id, err
	}
	scanned := 0
	for p := start; p >= 0 && scanned < pop3MaxScan; p-- {
		scanned++
		if hit, err := probe(p); err != nil || hit {
			return p, err
		}
	}
	for p := start + 1; p < n && scanned < pop3MaxScan; p++ {
		scanned++
		if hit, err := probe(p); err != nil || hit {
			return p, err
		}
	}
	return -1, fmt.Errorf("%w: message %s", mailproxy.ErrNotFound, id)
}

// hashAt computes the id of the message at position p of a server
// without UIDL and records it.
func (e *pop3Entry) hashAt(c *pop3Conn, p int) (string, error) {
	data, err := e.head(c, p, 0)
	if err != nil {
		return "", err
	}
	return e.setHashID(c, p, data), nil
}

func (e *pop3Entry) setHashID(c *pop3Conn, p int, header []byte) string {
	id := pop3HashID(header)
	c.ids[p] = id
	if _, dup := c.byID[id]; !dup {
		c.byID[id] = p
	}
	if len(e.hints) >= pop3HintsMax {
		clear(e.hints)
	}
	e.hints[id] = p
	return id
}

// idAt returns the id of the message at position p, hashing its header
// on a server without UIDL.
func (e *pop3Entry) idAt(c *pop3Conn, p int) (string, error) {
	if p < 0 || p >= len(c.ids) {
		return "", nil
	}
	if c.ids[p] != "" {
		return c.ids[p], nil
	}
	return e.hashAt(c, p)
}

// head returns the header and the first lines body lines of the message
// at position p (TOP, RFC 1939 §7), at most pop3TopBytes of it. A server
// that refuses TOP gets RETR, read as far as needed.
func (e *pop3Entry) head(c *pop3Conn, p, lines int) ([]byte, error) {
	num := c.nums[p]
	var rc io.ReadCloser
	var err error
	if !e.noTop {
		rc, err = c.c.Top(num, lines)
		if err != nil {
			if _, ok := errors.AsType[*pop3.Error](err); !ok {
				return nil, err
			}
			rc, err = c.c.Retr(num)
			if err != nil {
				return nil, err // the message is gone
			}
			e.noTop = true
			e.b.opts.Logger.Info("pop3 server refuses TOP; using RETR for list rows", "server", e.b.opts.POP3.String())
			rc = &pop3TopReader{ReadCloser: rc, lines: lines}
		}
	} else {
		rc, err = c.c.Retr(num)
		if err != nil {
			return nil, err
		}
		rc = &pop3TopReader{ReadCloser: rc, lines: lines}
	}
	data, err := io.ReadAll(io.LimitReader(rc, pop3TopBytes))
	if err != nil {
		return nil, err
	}
	// Reading the rest keeps the connection for the other rows; TOP's
	// rest is a few lines at most.
	if err := rc.Close(); err != nil {
		return nil, err
	}
	return data, nil
}

// pop3TopReader cuts a RETR stream after the header, the blank line and
// lines body lines, for servers without TOP.
type pop3TopReader struct {
	io.ReadCloser
	lines  int
	inBody bool
	cur    int // length of the current line so far, CR not counted
	count  int // body lines seen
	done   bool
}

func (t *pop3TopReader) Read(p []byte) (int, error) {
	if t.done {
		return 0, io.EOF
	}
	n, err := t.ReadCloser.Read(p)
	for i, b := range p[:n] {
		switch b {
		case '\n':
			if t.inBody {
				t.count++
			} else if t.cur == 0 {
				t.inBody = true // the blank line after the header
			}
			t.cur = 0
			if t.inBody && t.count >= t.lines {
				t.done = true
				return i + 1, nil
			}
		case '\r':
		default:
			t.cur++
		}
	}
	return n, err
}

// pop3Summarize makes a list row from the header and first body lines of a
// message: sender, subject, date and a one-line preview, parsed as
// tolerantly as the message view parses the whole message.
func pop3Summarize(data []byte) mailproxy.Summary {
	m := message.ParseMessage(bytes.NewReader(data), int64(len(data))+1, mailproxy.ViewOptions{}, nil)
	s := mailproxy.Summary{Subject: m.Subject, Date: m.Date}
	if len(m.From) > 0 {
		s.From = m.From[0]
	}
	switch {
	case m.Body.HTML != "":
		s.Preview = message.PreviewText([]byte(m.Body.HTML), "", "utf-8", "text/html", pop3PreviewRunes)
	case m.Body.Text != "":
		s.Preview = message.PreviewText([]byte(m.Body.Text), "", "utf-8", "text/plain", pop3PreviewRunes)
	}
	for _, a := range m.Attachments {
		if !a.Inline {
			s.Attachment = true
		}
	}
	// The attachments of a multipart/mixed message usually come after
	// the lines TOP returned.
	h, _ := message.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
	if message.ParseMediaHeader(h.Get("content-type")).Value == "multipart/mixed" {
		s.Attachment = true
	}
	return s
}

// summary returns the list row of the message at position p, from the
// cache or from TOP.
func (e *pop3Entry) summary(c *pop3Conn, p int) (mailproxy.Summary, error) {
	id := c.ids[p]
	if id != "" {
		if s, ok := e.cache.get(id); ok {
			return s, nil
		}
	}
	data, err := e.head(c, p, pop3PreviewLines)
	if err != nil {
		if _, ok := errors.AsType[*pop3.Error](err); ok && id != "" {
			// Refused for this message alone: show the row bare.
			return mailproxy.Summary{ID: id}, nil
		}
		return mailproxy.Summary{}, err
	}
	if id == "" {
		id = e.setHashID(c, p, data)
		if s, ok := e.cache.get(id); ok {
			return s, nil
		}
	}
	s := pop3Summarize(data)
	s.ID = id
	if c.sizes == nil {
		list, err := c.c.List()
		if err != nil {
			return mailproxy.Summary{}, err
		}
		c.sizes = make(map[int]int64, len(list))
		for _, m := range list {
			c.sizes[m.Number] = m.Size
		}
	}
	s.Size = c.sizes[c.nums[p]]
	e.cache.put(id, s)
	return s, nil
}

// collectRead deletes the messages shown with ViewOptions.Collect (the
// user's "collect and delete" choice) since the last listing: DELE and
// QUIT, as a classic POP3 program does after downloading (RFC 1939 §6).
// Messages already gone are forgotten; on any other failure they stay
// pending for the next listing, so nothing is lost and nothing is
// deleted twice.
func (s *pop3Session) collectRead(ctx context.Context) error {
	e := s.e
	e.mu.Lock()
	ids := make([]string, 0, len(e.collect))
	for id := range e.collect {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	err := s.Delete(ctx, pop3Inbox, ids)
	if err != nil && !errors.Is(err, mailproxy.ErrNotFound) {
		return err
	}
	e.mu.Lock()
	for _, id := range ids {
		delete(e.collect, id)
	}
	e.mu.Unlock()
	return nil
}

// Folders lists the one folder a POP3 maildrop has, with its counts,
// after deleting the messages collected (see collectRead).
func (s *pop3Session) Folders(ctx context.Context) ([]mailproxy.Folder, error) {
	if err := s.collectRead(ctx); err != nil {
		return nil, err
	}
	var f mailproxy.Folder
	err := s.do(ctx, func(c *pop3Conn) error {
		total := len(c.nums)
		f = mailproxy.Folder{Name: pop3Inbox, Display: "Inbox", Special: "inbox", Total: total, Unread: s.e.unread(c, total)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []mailproxy.Folder{f}, nil
}

// List returns one page of INBOX, newest (highest message number) first.
// Rows come from TOP (header and a few body lines) and are cached by id
// for the session, so paging back and forth sends no TOP again. Seen is
// whether the message was opened in this session: POP3 cannot store it
// on the server. Anchor is the message count of the first page: mail
// that arrived since is left out and counted in Newer. Messages the user
// chose to collect are deleted first (see collectRead).
func (s *pop3Session) List(ctx context.Context, folder string, q mailproxy.ListQuery) (*mailproxy.MessagePage, error) {
	if err := pop3CheckFolder(folder); err != nil {
		return nil, err
	}
	if q.PageSize <= 0 {
		q.PageSize = 50
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	if err := s.collectRead(ctx); err != nil {
		return nil, err
	}
	e := s.e
	var page *mailproxy.MessagePage
	err := s.do(ctx, func(c *pop3Conn) error {
		n := len(c.nums)
		total, newer := n, 0
		if q.Anchor > 0 && int64(q.Anchor) < int64(n) {
			total, newer = int(q.Anchor), n-int(q.Anchor)
		}
		pages := max((total+q.PageSize-1)/q.PageSize, 1)
		pageNo := min(q.Page, pages)
		hi := total - 1 - (pageNo-1)*q.PageSize
		lo := max(hi-q.PageSize+1, 0)
		p := &mailproxy.MessagePage{
			Folder: pop3Inbox, FolderDisplay: "Inbox", Page: pageNo, PageSize: q.PageSize, Pages: pages,
			Total: total, Newer: newer, Anchor: uint32(total),
		}
		for pos := hi; pos >= lo; pos-- {
			row, err := e.summary(c, pos)
			if err != nil {
				return err
			}
			row.Seen = e.read[row.ID]
			p.Messages = append(p.Messages, row)
		}
		if len(p.Messages) > 0 {
			p.First = (pageNo-1)*q.PageSize + 1
			p.Last = p.First + len(p.Messages) - 1
		}
		p.Unread = e.unread(c, n)
		page = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// Message retrieves a message (RETR, RFC 1939 §5), streamed into
// ParseMessage and bounded by MaxMessageBytes, and remembers it as read
// for the session. PrevID and NextID follow the maildrop order. The last
// few messages shown are kept parsed, so showing one again sends no RETR
// (see retrieve).
func (s *pop3Session) Message(ctx context.Context, folder, id string, opts mailproxy.ViewOptions) (*mailproxy.Message, error) {
	if err := pop3CheckFolder(folder); err != nil {
		return nil, err
	}
	e := s.e
	var m *mailproxy.Message
	err := s.do(ctx, func(c *pop3Conn) error {
		p, err := e.find(c, id)
		if err != nil {
			return err
		}
		if v := e.views.get(id, opts); v != nil {
			m = v
		} else if m, err = e.retrieve(c, p, id, opts); err != nil {
			return err
		}
		m.ID, m.Folder, m.FolderDisplay = id, pop3Inbox, "Inbox"
		if m.PrevID, err = e.idAt(c, p-1); err != nil {
			return err
		}
		if m.NextID, err = e.idAt(c, p+1); err != nil {
			return err
		}
		if opts.Peek {
			m.Seen = e.read[id]
			return nil
		}
		e.markRead(id)
		m.Seen = true
		if opts.Collect {
			e.mu.Lock()
			if len(e.collect) < pop3ReadSetMax {
				e.collect[id] = true
			}
			e.mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// retrieve fetches and parses the message at position p (RETR, streamed
// into ParseMessage) and keeps the result in the session's views.
//
// Why RETR and not TOP: POP3 has no BODYSTRUCTURE, so the list of
// attachments (names, types, sizes) is only known once the whole message
// has been read, and TOP (RFC 1939 §7) can only cut a message after a
// number of body lines, not skip to the parts after a large attachment.
// The message is therefore read once, in constant memory apart from the
// shown text, and the parsed view is kept (pop3Views) so that showing it
// again — after an attachment download, a reload, the way back from the
// next message — transfers nothing.
func (e *pop3Entry) retrieve(c *pop3Conn, p int, id string, opts mailproxy.ViewOptions) (*mailproxy.Message, error) {
	rc, err := c.c.Retr(c.nums[p])
	if err != nil {
		if _, ok := errors.AsType[*pop3.Error](err); ok {
			return nil, fmt.Errorf("%w: RETR %s: %v", mailproxy.ErrNotFound, id, err)
		}
		return nil, err
	}
	var marks []string
	var cidURL func(string) string
	nonce := ""
	if opts.PartURL != nil {
		nonce = pop3Nonce(8)
		cidURL = func(cid string) string {
			marks = append(marks, cid)
			return pop3CIDMark(nonce, len(marks)-1)
		}
	}
	m := message.ParseMessage(rc, e.b.opts.MaxMessageBytes, opts, cidURL)
	if err := c.finish(rc); err != nil {
		return nil, err
	}
	if len(marks) > 0 {
		m.Body.HTML = pop3ResolveCIDs(m.Body.HTML, nonce, marks, m.Attachments, opts.PartURL)
	}
	e.views.put(id, opts, m)
	return m, nil
}

// pop3Views keeps the last few messages shown in a session, parsed, by
// id: a UIDL names one unchanging message (RFC 1939 §7), so a kept view
// stays right until the message is deleted. An HTML body depends on
// whether remote images were allowed and whether cid: images have a
// PartURL, so it is only reused for the same choices (the gateway's
// PartURL for a message never changes). Bodies over pop3ViewMaxBody are
// not kept.
type pop3Views struct {
	entries []pop3View // most recent last
}

type pop3View struct {
	id     string
	remote bool // ViewOptions.RemoteImages
	parts  bool // ViewOptions.PartURL != nil
	m      mailproxy.Message
}

// get returns a copy of the kept view of id for opts, or nil.
func (v *pop3Views) get(id string, opts mailproxy.ViewOptions) *mailproxy.Message {
	for i := len(v.entries) - 1; i >= 0; i-- {
		en := v.entries[i]
		if en.id == id && (en.m.Body.HTML == "" || en.remote == opts.RemoteImages && en.parts == (opts.PartURL != nil)) {
			m := en.m
			return &m
		}
	}
	return nil
}

func (v *pop3Views) put(id string, opts mailproxy.ViewOptions, m *mailproxy.Message) {
	if len(m.Body.Text)+len(m.Body.HTML) > pop3ViewMaxBody {
		return
	}
	v.remove(id)
	if len(v.entries) >= pop3ViewsKept {
		v.entries = slices.Delete(v.entries, 0, 1)
	}
	v.entries = append(v.entries, pop3View{id: id, remote: opts.RemoteImages, parts: opts.PartURL != nil, m: *m})
}

func (v *pop3Views) remove(id string) {
	v.entries = slices.DeleteFunc(v.entries, func(en pop3View) bool { return en.id == id })
}

// pop3CIDMark is the stand-in URL of a cid: image while the message is
// parsed: the part number is only known afterwards.
func pop3CIDMark(nonce string, i int) string {
	return "/.pop3-cid/" + nonce + "/" + strconv.Itoa(i)
}

// pop3ResolveCIDs replaces the stand-in URLs of cid: images with the URLs
// of the parts that carry them.
func pop3ResolveCIDs(body, nonce string, marks []string, atts []mailproxy.Attachment, partURL func(string) string) string {
	// Highest index first, so that mark 1 is not replaced inside mark 10.
	for i := len(marks) - 1; i >= 0; i-- {
		part := ""
		for _, a := range atts {
			if a.CID == marks[i] {
				part = a.Part
				break
			}
		}
		if part == "" {
			for _, a := range atts {
				if strings.EqualFold(a.CID, marks[i]) {
					part = a.Part
					break
				}
			}
		}
		u := ""
		if part != "" {
			u = partURL(part)
		}
		body = strings.ReplaceAll(body, pop3CIDMark(nonce, i), html.EscapeString(u))
	}
	return body
}

func pop3Nonce(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Part streams one part of a message, transfer-decoded, to w: RETR read
// through ExtractPart, with constant memory whatever the message size.
// The stream is cut (an error) once the server has sent twice the size
// LIST announced for the message, plus pop3SizeSlack.
func (s *pop3Session) Part(ctx context.Context, folder, id, part string, w mailproxy.PartWriter) error {
	if err := pop3CheckFolder(folder); err != nil {
		return err
	}
	e := s.e
	started := false
	return s.do(ctx, func(c *pop3Conn) error {
		if started {
			return errPOP3NoRetry
		}
		p, err := e.find(c, id)
		if err != nil {
			return err
		}
		size, ok := c.sizes[c.nums[p]]
		if !ok {
			info, err := c.c.ListOne(c.nums[p])
			if err != nil {
				if _, ok := errors.AsType[*pop3.Error](err); ok {
					return fmt.Errorf("%w: LIST %s: %v", mailproxy.ErrNotFound, id, err)
				}
				return err
			}
			size = info.Size
		}
		rc, err := c.c.Retr(c.nums[p])
		if err != nil {
			if _, ok := errors.AsType[*pop3.Error](err); ok {
				return fmt.Errorf("%w: RETR %s: %v", mailproxy.ErrNotFound, id, err)
			}
			return err
		}
		// The part is not bounded by MaxMessageBytes, but a server that
		// sends far more than the size it announced (RFC 1939 §5) is
		// broken or hostile: stop it rather than stream for ever.
		rc = &pop3SizeGuard{ReadCloser: rc, left: 2*max(size, 0) + pop3SizeSlack}
		att, r, err := message.ExtractPart(rc, part)
		if err != nil {
			if ferr := c.finish(rc); ferr != nil {
				return ferr
			}
			return fmt.Errorf("%w: part %s of %s", mailproxy.ErrNotFound, part, id)
		}
		started = true
		w.Begin(att)
		// The decoder hands out a line at a time: write in larger pieces.
		bw := bufio.NewWriterSize(w, 32<<10)
		_, err = io.Copy(bw, r)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			c.broken = true
			return fmt.Errorf("%w: %w: %v", mailproxy.ErrUnavailable, errPOP3NoRetry, err)
		}
		if err := c.finish(rc); err != nil {
			// The message ended badly: the part may be cut.
			return fmt.Errorf("%w: %w: %v", mailproxy.ErrUnavailable, errPOP3NoRetry, err)
		}
		return nil
	})
}

// pop3SizeGuard ends a RETR stream with an error once it has given more
// than left octets.
type pop3SizeGuard struct {
	io.ReadCloser
	left int64
}

func (g *pop3SizeGuard) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, fmt.Errorf("%w: the server sent far more than the message size it announced", mailproxy.ErrUnavailable)
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.ReadCloser.Read(p)
	g.left -= int64(n)
	return n, err
}

// Delete removes messages: DELE for each (RFC 1939 §5) on this
// connection's numbering, then QUIT, which commits them (§6). Ids that no
// longer exist are skipped; ErrNotFound means none existed. It cannot be
// undone.
func (s *pop3Session) Delete(ctx context.Context, folder string, ids []string) error {
	if err := pop3CheckFolder(folder); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	e := s.e
	var deleted []string
	err := s.do(ctx, func(c *pop3Conn) error {
		deleted = deleted[:0]
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			p, err := e.find(c, id)
			if errors.Is(err, mailproxy.ErrNotFound) {
				continue
			}
			if err != nil {
				c.broken = true // never QUIT with some marked
				return err
			}
			if err := c.c.Dele(c.nums[p]); err != nil {
				if _, ok := errors.AsType[*pop3.Error](err); ok {
					continue // gone meanwhile
				}
				c.broken = true
				return err
			}
			deleted = append(deleted, id)
		}
		if len(deleted) == 0 {
			return fmt.Errorf("%w: none of the %d messages to delete exists", mailproxy.ErrNotFound, len(ids))
		}
		// QUIT commits. Whatever happens now, the connection is over
		// and the operation must not run again.
		c.broken = true
		err := c.c.Quit()
		e.user.lastQuit = time.Now()
		for _, id := range deleted {
			e.cache.remove(id)
			e.views.remove(id)
			delete(e.read, id)
			delete(e.hints, id)
		}
		if err != nil {
			return fmt.Errorf("%w: %w: QUIT after DELE: %v", mailproxy.ErrUnavailable, errPOP3NoRetry, err)
		}
		return nil
	})
	return err
}

// Search is not offered over POP3 (Caps().Search is false): matching
// bodies would mean downloading every message.
func (s *pop3Session) Search(ctx context.Context, folder string, q mailproxy.SearchQuery) (*mailproxy.MessagePage, error) {
	return nil, mailproxy.ErrUnsupported
}

// SetFlags is not possible over POP3: servers keep no flags.
func (s *pop3Session) SetFlags(ctx context.Context, folder string, ids []string, flag mailproxy.Flag, on bool) error {
	return fmt.Errorf("%w: POP3 has no server-side flags", mailproxy.ErrUnsupported)
}

// SpecialFolder is not possible over POP3: there is one folder.
func (s *pop3Session) SpecialFolder(ctx context.Context, use string) (string, error) {
	return "", fmt.Errorf("%w: POP3 has one folder", mailproxy.ErrUnsupported)
}

// Move is not possible over POP3: there is one folder.
func (s *pop3Session) Move(ctx context.Context, folder string, ids []string, to string) (*mailproxy.MoveResult, error) {
	return nil, fmt.Errorf("%w: POP3 has one folder", mailproxy.ErrUnsupported)
}

// Expunge is not offered over POP3 (Delete is its way to remove mail).
func (s *pop3Session) Expunge(ctx context.Context, folder string, ids []string) error {
	return fmt.Errorf("%w: POP3 deletes with Delete", mailproxy.ErrUnsupported)
}
