package imapmail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/textproto"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// errNoRetry marks failures after which an operation must not be rerun
// (a download that already sent bytes).
var errNoRetry = errors.New("not retryable")

// Message fetches the envelope, flags and BODYSTRUCTURE first and then
// only the part shown (never the attachments), setting \Seen by fetching
// it without PEEK. When the server's BODYSTRUCTURE cannot be used (the
// parser refused it, or it is missing) the whole message is fetched,
// bounded, and parsed here.
func (s *imapSession) Message(ctx context.Context, folder, id string, opts mailproxy.ViewOptions) (*mailproxy.Message, error) {
	var m *mailproxy.Message
	rs := s.rowStore()
	err := s.do(ctx, func(c *imapConn) error {
		var err error
		m, err = c.message(folder, id, opts, s.e.pool.opts, rs)
		return err
	})
	if err != nil && errors.Is(err, mailproxy.ErrUnavailable) && !errors.Is(err, mailproxy.ErrTooManyConnections) && !isTimeout(err) {
		// The structured fetch may have been what broke the connection
		// (a response go-imap could not parse): retry the raw way.
		s.e.pool.opts.Logger.Warn("imap structured fetch failed, trying raw", "err", err)
		err = s.do(ctx, func(c *imapConn) error {
			uid, err := c.selectFor(folder, id)
			if err != nil {
				return err
			}
			m, err = c.rawMessage(folder, id, uid, nil, opts, s.e.pool.opts)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (c *imapConn) message(folder, id string, opts mailproxy.ViewOptions, po PoolOptions, rs rowStore) (*mailproxy.Message, error) {
	uid, err := c.selectFor(folder, id)
	if err != nil {
		return nil, err
	}
	if cm := rs.openedMessage(c, uid); cm != nil {
		return c.messageFromCache(cm, id, uid, opts, po)
	}
	refsItem := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"References", "From"}, Peek: true}
	bufs, err := c.fetch(imap.UIDSetNum(uid), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, InternalDate: true, RFC822Size: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{refsItem},
	})
	if err != nil {
		return nil, err
	}
	buf := bufferOf(bufs, uid)
	if buf == nil {
		return nil, fmt.Errorf("%w: message %s in %q", mailproxy.ErrNotFound, id, folder)
	}
	if buf.BodyStructure == nil || buf.Envelope == nil || structureUnusable(buf.BodyStructure) {
		return c.rawMessage(folder, id, uid, buf, opts, po)
	}

	m := &mailproxy.Message{ID: id, Folder: folder, FolderDisplay: c.display(folder), Date: buf.InternalDate}
	applyFlags(m, buf.Flags)
	applyEnvelope(m, buf.Envelope)
	hdr := buf.FindBodySection(refsItem)
	m.References = parseReferences(hdr)
	if len(m.From) == 0 {
		m.From = fromOfHeader(hdr)
	}

	plan := planBody(buf.BodyStructure)
	m.Attachments = plan.atts

	// The body part (without PEEK, which sets \Seen), then, as niceties,
	// the neighbours' UIDs for previous/next and the conversation. One
	// FETCH at a time (see fetch).
	var bodyData []byte
	if plan.body != nil {
		bodyItem := &imap.FetchItemBodySection{Part: sectionPath(plan.body.section), Peek: m.Seen || opts.Peek}
		if plan.body.size > po.MaxPartBytes {
			bodyItem.Partial = &imap.SectionPartial{Offset: 0, Size: po.MaxPartBytes}
		}
		bodyBufs, err := c.fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{bodyItem}})
		if err != nil {
			return nil, err
		}
		if b := bufferOf(bodyBufs, uid); b != nil {
			bodyData = b.FindBodySection(bodyItem)
		}
		m.Seen = m.Seen || !opts.Peek
	} else if err := c.markSeen(m, uid, opts); err != nil {
		return nil, err
	}
	c.nicety(func() { c.fillNeighbours(m, buf.SeqNum) })

	if plan.body == nil {
		c.nicety(func() { c.thread(m, uid, buf.SeqNum) })
		rs.keepOpened(c, uid, m, plan, "", nil, false)
		if len(m.Attachments) == 0 {
			m.Problems = append(m.Problems, "This message has no text.")
		}
		return m, nil
	}
	c.nicety(func() { c.thread(m, uid, buf.SeqNum) })
	text, problems := message.DecodeBody(bodyData, plan.body.encoding, plan.body.charset)
	rs.keepOpened(c, uid, m, plan, text, problems, plan.body.size > po.MaxPartBytes)
	renderText(m, text, problems, plan.body, plan.cids, opts)
	if plan.body.size > po.MaxPartBytes {
		m.Problems = append(m.Problems, fmt.Sprintf("This message is long; only the first %d KB are shown.", po.MaxPartBytes>>10))
	}
	return m, nil
}

// neighbours returns the UIDs of the messages just before (older) and
// after (newer) sequence number seq, 0 where there is none.
// bufferOf is the message uid among a FETCH's answers; nil when the
// server sent none for it (expunged meanwhile).
func bufferOf(bufs []*imapclient.FetchMessageBuffer, uid imap.UID) *imapclient.FetchMessageBuffer {
	for _, b := range bufs {
		if b.UID == uid {
			return b
		}
	}
	return nil
}

// markSeen sets \Seen on a message shown without a body fetch (which
// sets it itself), unless it is seen already or only peeked at.
func (c *imapConn) markSeen(m *mailproxy.Message, uid imap.UID, opts mailproxy.ViewOptions) error {
	if m.Seen || opts.Peek {
		return nil
	}
	if err := c.store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}); err != nil {
		return err
	}
	m.Seen = true
	return nil
}

// fillNeighbours sets the previous and next messages' ids (a nicety).
func (c *imapConn) fillNeighbours(m *mailproxy.Message, seq uint32) {
	older, newer := c.neighbours(seq)
	if older != 0 {
		m.PrevID = msgID(c.uidValidity, older)
	}
	if newer != 0 {
		m.NextID = msgID(c.uidValidity, newer)
	}
}

func (c *imapConn) neighbours(seq uint32) (older, newer imap.UID) {
	var set imap.SeqSet
	if seq > 1 {
		set.AddNum(seq - 1)
	}
	if seq < c.numMessages() {
		set.AddNum(seq + 1)
	}
	if len(set) == 0 {
		return 0, 0
	}
	bufs, err := c.fetch(set, &imap.FetchOptions{UID: true})
	if err != nil {
		return 0, 0
	}
	for _, b := range bufs {
		switch b.SeqNum {
		case seq - 1:
			older = b.UID
		case seq + 1:
			newer = b.UID
		}
	}
	return older, newer
}

func applyFlags(m *mailproxy.Message, flags []imap.Flag) {
	m.Seen, m.Flagged, m.Answered = systemFlags(flags)
	m.Keywords = nil
	for _, f := range flags {
		switch {
		case strings.EqualFold(string(f), string(imap.FlagDeleted)):
			m.Deleted = true
		case !strings.HasPrefix(string(f), `\`) && len(m.Keywords) < 20:
			// Keywords (RFC 9051 §2.3.2): user labels like "work" or
			// "$Label1"; the server's text, escaped by the template.
			m.Keywords = append(m.Keywords, string(f))
		}
	}
}

// systemFlags reads \Seen, \Flagged and \Answered; some servers send
// flags in lower case.
func systemFlags(flags []imap.Flag) (seen, flagged, answered bool) {
	for _, f := range flags {
		switch {
		case strings.EqualFold(string(f), string(imap.FlagSeen)):
			seen = true
		case strings.EqualFold(string(f), string(imap.FlagFlagged)):
			flagged = true
		case strings.EqualFold(string(f), string(imap.FlagAnswered)):
			answered = true
		}
	}
	return seen, flagged, answered
}

func applyEnvelope(m *mailproxy.Message, env *imap.Envelope) {
	m.Subject = message.DecodeHeaderText(env.Subject)
	m.From = addressesOf(env.From)
	if len(m.From) == 0 {
		m.From = addressesOf(env.Sender)
	}
	m.ReplyTo = addressesOf(env.ReplyTo)
	m.To = addressesOf(env.To)
	m.Cc = addressesOf(env.Cc)
	m.Bcc = addressesOf(env.Bcc)
	if !env.Date.IsZero() && env.Date.Year() > 1970 {
		m.Date = env.Date
	}
	m.MessageID = env.MessageID
	if len(env.InReplyTo) > 0 {
		m.InReplyTo = env.InReplyTo[0]
	}
}

// parseReferences reads the message ids from a fetched References header.
func parseReferences(header []byte) []string {
	if len(header) == 0 {
		return nil
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(header)))
	h, _ := tp.ReadMIMEHeader()
	var out []string
	for _, v := range h.Values("References") {
		for _, f := range strings.Fields(v) {
			f = strings.Trim(f, "<>,")
			if f != "" && len(out) < 100 {
				out = append(out, f)
			}
		}
	}
	return out
}

// fromOfHeader reads From from a fetched header block.
func fromOfHeader(header []byte) []mailproxy.Address {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(header))).ReadMIMEHeader()
	if v := h.Get("From"); v != "" {
		return message.ParseAddressList(v)
	}
	return nil
}

// renderText fills m.Body from the decoded body part, sanitizing HTML.
func renderText(m *mailproxy.Message, text string, problems []string, ref *partRef, cids map[string]string, opts mailproxy.ViewOptions) {
	m.Problems = append(m.Problems, problems...)
	if ref.mediaType == "text/html" {
		safe, blocked := message.SanitizeHTML(text, message.SanitizeOptions{
			RemoteImages: opts.RemoteImages,
			CIDURL: func(cid string) string {
				section, ok := cids[cid]
				if !ok || opts.PartURL == nil {
					return ""
				}
				return opts.PartURL(section)
			},
		})
		m.Body = mailproxy.Body{HTML: safe, RemoteBlocked: blocked}
		return
	}
	m.Body = mailproxy.Body{Text: text}
}

// rawMessage fetches the whole message (bounded) and parses it locally:
// the fallback for servers whose BODYSTRUCTURE we cannot use.
func (c *imapConn) rawMessage(folder, id string, uid imap.UID, meta *imapclient.FetchMessageBuffer, opts mailproxy.ViewOptions, po PoolOptions) (*mailproxy.Message, error) {
	item := &imap.FetchItemBodySection{Peek: opts.Peek, Partial: &imap.SectionPartial{Offset: 0, Size: po.MaxMessageBytes}}
	bufs, err := c.fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{item}})
	if err != nil {
		return nil, err
	}
	buf := bufferOf(bufs, uid)
	if buf == nil {
		return nil, fmt.Errorf("%w: message %s in %q", mailproxy.ErrNotFound, id, folder)
	}
	m := message.ParseMessage(bytes.NewReader(buf.FindBodySection(item)), po.MaxMessageBytes, opts, func(cid string) string { return "" })
	m.ID, m.Folder, m.FolderDisplay = id, folder, c.display(folder)
	if m.Date.IsZero() {
		m.Date = buf.InternalDate
	}
	applyFlags(m, buf.Flags)
	m.Seen = m.Seen || !opts.Peek
	return m, nil
}

// Part streams one part, transfer-decoded, to w with constant memory.
func (s *imapSession) Part(ctx context.Context, folder, id, part string, w mailproxy.PartWriter) error {
	path := sectionPath(part)
	if path == nil {
		return fmt.Errorf("%w: bad part %q", mailproxy.ErrNotFound, part)
	}
	started := false
	rs := s.rowStore()
	err := s.e.do(ctx, s.creds, true, func(c *imapConn) error {
		if started {
			return errNoRetry
		}
		uid, err := c.selectFor(folder, id)
		if err != nil {
			return err
		}
		var plans []bodyPlan
		if plan, ok := rs.cachedPlan(c, uid); ok {
			plans = append(plans, plan) // opened before: BODYSTRUCTURE known
		} else {
			bufs, err := c.fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}})
			if err != nil {
				return err
			}
			for _, b := range bufs {
				if b.UID == uid && b.BodyStructure != nil {
					plans = append(plans, planBody(b.BodyStructure))
				}
			}
		}
		var att *mailproxy.Attachment
		for _, plan := range plans {
			for i := range plan.atts {
				if plan.atts[i].Part == part {
					att = &plan.atts[i]
				}
			}
			if att == nil && plan.body != nil && plan.body.section == part {
				att = &mailproxy.Attachment{Part: part, Type: plan.body.mediaType, Name: fallbackName(part, plan.body.mediaType), Encoding: plan.body.encoding, Size: plan.body.size}
			}
		}
		if att == nil {
			return fmt.Errorf("%w: part %s of %s", mailproxy.ErrNotFound, part, id)
		}
		started = true
		w.Begin(*att)
		item := &imap.FetchItemBodySection{Part: path, Peek: true}
		var copyErr error
		err = c.fetchStream(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{item}}, func(msg *imapclient.FetchMessageData) error {
			for it := msg.Next(); it != nil; it = msg.Next() {
				sec, ok := it.(imapclient.FetchItemDataBodySection)
				if !ok || sec.Literal == nil {
					continue
				}
				dst := &extendingWriter{w: w, conn: c}
				if _, err := io.Copy(dst, decodeReader(sec.Literal, att.Encoding)); err != nil {
					copyErr = err
					return err
				}
			}
			return nil
		})
		if copyErr != nil {
			err = copyErr
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errNoRetry, err)
		}
		return nil
	})
	return err
}

// extendingWriter pushes the connection deadline forward on every write so
// that a long download is bounded by inactivity, not by total time.
type extendingWriter struct {
	w    io.Writer
	conn *imapConn
}

func (e *extendingWriter) Write(p []byte) (int, error) {
	e.conn.extend()
	return e.w.Write(p)
}

// decodeReader undoes a transfer encoding as a stream.
func decodeReader(r io.Reader, encoding string) io.Reader {
	switch strings.ToLower(encoding) {
	case "base64":
		clean := &base64Cleaner{r: r}
		return &stopAtCorrupt{r: base64.NewDecoder(base64.StdEncoding, clean), src: clean}
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// stopAtCorrupt ends a base64 stream cleanly where the data turns to
// garbage that even base64Cleaner cannot save (padding in the middle, a
// cut last quantum): the download gets what decodes, not a connection
// torn down half way.
// A cut last quantum (io.ErrUnexpectedEOF) counts only when the source
// really ended: a connection lost mid-download stays an error.
type stopAtCorrupt struct {
	r   io.Reader
	src *base64Cleaner
}

func (s *stopAtCorrupt) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if _, ok := err.(base64.CorruptInputError); ok || (err == io.ErrUnexpectedEOF && s.src.eof) {
		return n, io.EOF
	}
	return n, err
}

// base64Cleaner drops everything that is not base64 alphabet (line breaks,
// stray spaces), so that decoding goes on where strict decoders stop.
type base64Cleaner struct {
	r   io.Reader
	eof bool // the source ended normally
}

func (b *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := b.r.Read(p)
		b.eof = b.eof || err == io.EOF
		j := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
