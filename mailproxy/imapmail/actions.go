package imapmail

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// parseIDs turns message ids of one folder into a UID set. Every id is
// "UIDVALIDITY-UIDSET", where UIDSET is one UID (as msgID makes) or a
// compact set "5:9,12" (as Move reports). All ids must share one
// UIDVALIDITY.
func parseIDs(ids []string) (validity uint32, set imap.UIDSet, err error) {
	if len(ids) == 0 {
		return 0, nil, fmt.Errorf("%w: no message ids", mailproxy.ErrNotFound)
	}
	for _, id := range ids {
		v, rest, ok := strings.Cut(id, "-")
		vv, verr := strconv.ParseUint(v, 10, 32)
		if !ok || verr != nil {
			return 0, nil, fmt.Errorf("%w: bad message id %q", mailproxy.ErrNotFound, id)
		}
		if validity != 0 && uint32(vv) != validity {
			return 0, nil, fmt.Errorf("%w: ids of two UIDVALIDITY values", mailproxy.ErrFolderReset)
		}
		validity = uint32(vv)
		if err := addUIDSet(&set, rest); err != nil {
			return 0, nil, fmt.Errorf("%w: bad message id %q", mailproxy.ErrNotFound, id)
		}
	}
	return validity, set, nil
}

// addUIDSet parses "5", "5:9" or "5:9,12" (RFC 9051 §9 sequence-set,
// without "*") into set.
func addUIDSet(set *imap.UIDSet, s string) error {
	if s == "" {
		return errors.New("empty")
	}
	for _, r := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(r, ":")
		start, err := strconv.ParseUint(a, 10, 32)
		if err != nil || start == 0 {
			return errors.New("bad uid")
		}
		stop := start
		if isRange {
			if stop, err = strconv.ParseUint(b, 10, 32); err != nil || stop == 0 {
				return errors.New("bad uid")
			}
		}
		set.AddRange(imap.UID(min(start, stop)), imap.UID(max(start, stop)))
	}
	return nil
}

// selectIDs selects folder and checks that the ids belong to its current
// UIDVALIDITY (ErrFolderReset otherwise).
func (c *imapConn) selectIDs(folder string, ids []string) (imap.UIDSet, error) {
	validity, set, err := parseIDs(ids)
	if err != nil {
		return nil, err
	}
	if err := c.sel(folder); err != nil {
		return nil, err
	}
	if validity != c.uidValidity {
		return nil, fmt.Errorf("%w: %q (ids of %d, now %d)", mailproxy.ErrFolderReset, folder, validity, c.uidValidity)
	}
	return set, nil
}

// SetFlags adds or removes flag with one UID STORE ...FLAGS.SILENT (RFC
// 9051 §6.4.6): the server echoes nothing, and UIDs that were expunged
// meanwhile are skipped by the server, not an error.
func (s *imapSession) SetFlags(ctx context.Context, folder string, ids []string, flag mailproxy.Flag, on bool) error {
	if flag != mailproxy.FlagSeen && flag != mailproxy.FlagFlagged {
		return fmt.Errorf("%w: flag %q", mailproxy.ErrUnsupported, flag)
	}
	return s.do(ctx, func(c *imapConn) error {
		set, err := c.selectIDs(folder, ids)
		if err != nil {
			return err
		}
		op := imap.StoreFlagsDel
		if on {
			op = imap.StoreFlagsAdd
		}
		return c.store(set, &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{imap.Flag(flag)}})
	})
}

// SpecialFolder names the trash, archive or junk folder (see
// imapConn.specialFolder).
func (s *imapSession) SpecialFolder(ctx context.Context, use string) (string, error) {
	var name string
	err := s.do(ctx, func(c *imapConn) error {
		var err error
		name, err = c.specialFolder(use)
		return err
	})
	return name, err
}

// Move moves messages to another folder. With MOVE (RFC 6851) it is one
// UID MOVE, whose COPYUID response code (RFC 4315 §3, sent untagged by
// MOVE) names the new UIDs. Without MOVE it is our own sequence, each step
// waited for before the next: UID COPY; only after its OK, UID STORE
// +FLAGS.SILENT \Deleted; then, with UIDPLUS, UID EXPUNGE of exactly those
// UIDs (RFC 4315 §2.1). Without UIDPLUS nothing is expunged (a plain
// EXPUNGE would also remove what other clients flagged \Deleted): the
// originals stay flagged, and KeptDeleted says so. A failed COPY or MOVE
// changes nothing and is ErrNotMoved. (go-imap's own Move fallback
// pipelines all three commands without waiting, so a failed COPY would
// still expunge the originals: never use it.)
func (s *imapSession) Move(ctx context.Context, folder string, ids []string, to string) (*mailproxy.MoveResult, error) {
	if to == folder {
		return nil, fmt.Errorf("%w: source and target are both %q", mailproxy.ErrNotMoved, to)
	}
	var res *mailproxy.MoveResult
	err := s.do(ctx, func(c *imapConn) error {
		var err error
		res, err = c.move(folder, ids, to)
		return err
	})
	return res, err
}

func (c *imapConn) move(folder string, ids []string, to string) (*mailproxy.MoveResult, error) {
	set, err := c.selectIDs(folder, ids)
	if err != nil {
		return nil, err
	}
	// Only what is still there: another client (or an earlier tap of
	// the same Undo) may have moved them already. A MOVE or COPY of
	// nothing gets an OK without COPYUID from some servers and an
	// unparsable empty COPYUID from others; neither is sent.
	data, err := c.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return nil, err
	}
	res := &mailproxy.MoveResult{From: folder, To: to}
	var present imap.UIDSet
	for _, uid := range data.AllUIDs() {
		if set.Contains(uid) {
			present.AddNum(uid)
		}
	}
	if len(present) == 0 {
		return res, nil
	}
	set = present
	// Our own expunges change the selected folder's size: count it
	// afresh next time rather than trust the count kept from EXPUNGE
	// responses (imapmemserver reports a MOVE's expunges twice).
	defer c.recountLater()
	var validity uint32
	var dest imap.UIDSet
	if c.caps.Has(imap.CapMove) {
		data, err := c.c.Move(set, to).Wait() // MOVE is offered: no fallback inside
		if err != nil {
			return nil, notMoved(err)
		}
		if data != nil {
			validity = data.UIDValidity
			dest, _ = data.DestUIDs.(imap.UIDSet)
		}
	} else {
		data, err := c.c.Copy(set, to).Wait()
		if err != nil {
			return nil, notMoved(err)
		}
		validity, dest = data.UIDValidity, data.DestUIDs
		// The copies are safe in the target: only now touch the originals.
		if err := c.markDeleted(set); err != nil {
			// Leave no duplicates: take the copies out again.
			if rerr := c.removeCopies(to, validity, dest); rerr != nil {
				return nil, fmt.Errorf("copied to %q but flagging the originals failed (%v), and removing the copies failed: %w", to, err, rerr)
			}
			return nil, fmt.Errorf("%w: flagging the originals failed, copies removed: %w", mailproxy.ErrNotMoved, err)
		}
		if !c.caps.Has(imap.CapUIDPlus) {
			res.KeptDeleted = true
		} else if err := c.c.UIDExpunge(set).Close(); err != nil {
			// The originals are flagged \Deleted, the copies are in
			// place: the same state as without UIDPLUS, nothing lost.
			c.selected = "" // a failed command: select afresh next time
			res.KeptDeleted = true
		}
	}
	if nums, ok := set.Nums(); ok && !c.caps.Has(imap.CapUIDPlus) {
		res.Moved = len(nums) // at most: without COPYUID we cannot tell
	}
	// COPYUID is UIDPLUS's (RFC 4315 §3). Without UIDPLUS (or when the
	// originals could not be expunged) there is no undo: moving back
	// would leave flagged duplicates in both folders.
	if validity != 0 && len(dest) > 0 && c.caps.Has(imap.CapUIDPlus) && !res.KeptDeleted {
		res.IDs = []string{strconv.FormatUint(uint64(validity), 10) + "-" + dest.String()}
		if nums, ok := dest.Nums(); ok {
			res.Moved = len(nums)
		}
	}
	return res, nil
}

// removeCopies expunges the copies a COPY made in to (known from its
// COPYUID response) when the rest of a move failed. It needs UIDPLUS.
func (c *imapConn) removeCopies(to string, validity uint32, dest imap.UIDSet) error {
	if !c.caps.Has(imap.CapUIDPlus) || validity == 0 || len(dest) == 0 {
		return errors.New("the server did not say where the copies are (no UIDPLUS)")
	}
	if err := c.sel(to); err != nil {
		return err
	}
	if c.uidValidity != validity {
		return fmt.Errorf("%w: %q", mailproxy.ErrFolderReset, to)
	}
	defer c.recountLater()
	if err := c.markDeleted(dest); err != nil {
		return err
	}
	return c.c.UIDExpunge(dest).Close()
}

// notMoved marks a refused COPY or MOVE (a NO: target gone, over quota)
// as ErrNotMoved; a broken connection stays what it is.
func notMoved(err error) error {
	var ierr *imap.Error
	if errors.As(err, &ierr) {
		return fmt.Errorf("%w: %w", mailproxy.ErrNotMoved, err)
	}
	return err
}

// Expunge removes exactly ids for good: UID STORE +FLAGS.SILENT \Deleted,
// then UID EXPUNGE of those UIDs (RFC 4315 §2.1). Without UIDPLUS it
// refuses (ErrUnsupported) rather than send a plain EXPUNGE, which would
// also remove messages other clients flagged \Deleted.
func (s *imapSession) Expunge(ctx context.Context, folder string, ids []string) error {
	return s.do(ctx, func(c *imapConn) error {
		if !c.caps.Has(imap.CapUIDPlus) {
			return fmt.Errorf("%w: UID EXPUNGE needs UIDPLUS", mailproxy.ErrUnsupported)
		}
		set, err := c.selectIDs(folder, ids)
		if err != nil {
			return err
		}
		defer c.recountLater()
		if err := c.markDeleted(set); err != nil {
			return err
		}
		return c.c.UIDExpunge(set).Close()
	})
}

// recountLater makes the next sel of the selected folder count its
// messages afresh.
func (c *imapConn) recountLater() { c.recount = true }

// recountSelected counts the selected folder's messages afresh: a NOOP
// takes in what the server still had to tell, then ESEARCH COUNT (RFC
// 4731 §3.1) of ALL gives the count in this session's view, which
// sequence numbers refer to. Without ESEARCH the folder is selected again
// (slower on big folders).
func (c *imapConn) recountSelected() error {
	c.recount = false
	if !c.caps.Has(imap.CapESearch) {
		mailbox := c.selected
		c.selected = ""
		return c.sel(mailbox)
	}
	if err := c.c.Noop().Wait(); err != nil {
		return err
	}
	data, err := c.c.Search(&imap.SearchCriteria{}, &imap.SearchOptions{ReturnCount: true}).Wait()
	if err != nil {
		return err
	}
	c.exists.Store(data.Count)
	return nil
}
