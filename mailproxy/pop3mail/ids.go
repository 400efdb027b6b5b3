package pop3mail

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
	"github.com/thumbmail/thumbmail/mailproxy/pop3"
)

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
