package pop3mail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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
var pop3Caps = mailproxy.Caps{Collect: true, Delete: true}

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
