package imapmail

import (
	"context"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy"
)

var _ mailproxy.Filer = (*imapSession)(nil)

// SaveCopy appends raw to the folder with special use use (RFC 3501
// §6.3.11 APPEND; RFC 4315 APPENDUID gives the new UID).
func (s *imapSession) SaveCopy(ctx context.Context, use string, raw []byte) (folder, id string, err error) {
	flags := []imap.Flag{imap.FlagSeen}
	if use == "drafts" {
		flags = append(flags, imap.FlagDraft)
	}
	err = s.do(ctx, func(c *imapConn) error {
		name, err := c.specialFolder(use)
		if err != nil {
			return err
		}
		folder = name
		cmd := c.c.Append(name, int64(len(raw)), &imap.AppendOptions{Flags: flags, Time: time.Now()})
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		data, err := cmd.Wait()
		if err != nil {
			return err
		}
		if data != nil && data.UID != 0 && data.UIDValidity != 0 {
			id = msgID(data.UIDValidity, data.UID)
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("saving to %s: %w", use, err)
	}
	return folder, id, nil
}

// MarkAnswered sets \Answered (RFC 3501 §6.4.6 UID STORE +FLAGS.SILENT).
func (s *imapSession) MarkAnswered(ctx context.Context, folder, id string) error {
	return s.do(ctx, func(c *imapConn) error {
		uid, err := c.selectFor(folder, id)
		if err != nil {
			return err
		}
		return c.store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagAnswered}})
	})
}

// RemoveDraft marks the draft \Deleted and expunges just it (RFC 4315 UID
// EXPUNGE); without UIDPLUS it stays marked \Deleted, so no other
// message marked so by another client is expunged by us.
func (s *imapSession) RemoveDraft(ctx context.Context, folder, id string) error {
	return s.do(ctx, func(c *imapConn) error {
		uid, err := c.selectFor(folder, id)
		if err != nil {
			return err
		}
		if err := c.markDeleted(imap.UIDSetNum(uid)); err != nil {
			return err
		}
		if c.caps.Has(imap.CapUIDPlus) || c.caps.Has(imap.CapIMAP4rev2) {
			// The command's own EXPUNGE responses go to it, not to the
			// unilateral handler: count them off here, or the next list
			// of the folder fetches a row that is gone (BAD, a 500).
			gone, err := c.c.UIDExpunge(imap.UIDSetNum(uid)).Collect()
			for range gone {
				for n := c.exists.Load(); n > 0 && !c.exists.CompareAndSwap(n, n-1); n = c.exists.Load() {
				}
			}
			return err
		}
		return nil
	})
}

var _ mailproxy.RawReader = (*imapSession)(nil)

// Raw fetches RFC822.SIZE and then, when it fits in max, BODY.PEEK[]
// (RFC 3501 §6.4.5), leaving \Seen alone.
func (s *imapSession) Raw(ctx context.Context, folder, id string, max int64) ([]byte, error) {
	var raw []byte
	err := s.do(ctx, func(c *imapConn) error {
		uid, err := c.selectFor(folder, id)
		if err != nil {
			return err
		}
		bufs, err := c.fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, RFC822Size: true})
		if err != nil {
			return err
		}
		if len(bufs) == 0 {
			return fmt.Errorf("%w: message %s in %q", mailproxy.ErrNotFound, id, folder)
		}
		if bufs[0].RFC822Size > max {
			return fmt.Errorf("%w: message of %d bytes is over %d", mailproxy.ErrUnsupported, bufs[0].RFC822Size, max)
		}
		item := &imap.FetchItemBodySection{Peek: true}
		bufs, err = c.fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{item}})
		if err != nil {
			return err
		}
		if len(bufs) == 0 {
			return fmt.Errorf("%w: message %s in %q", mailproxy.ErrNotFound, id, folder)
		}
		raw = bufs[0].FindBodySection(item)
		return nil
	})
	return raw, err
}
