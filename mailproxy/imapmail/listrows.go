package imapmail

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// rowStore is a session's view of the row cache: the pool's cache and the
// user's part of it. The zero value caches nothing.
type rowStore struct {
	rc *rowCache
	u  *userCache
}

func (s *imapSession) rowStore() rowStore {
	return rowStore{rc: s.e.pool.rows, u: s.rowsOfSession()}
}

func (rs rowStore) ok() bool { return rs.rc != nil && rs.u != nil }

// flagItems is what a warm page asks for each row: the UID (to find the
// cached row) and the flags, which are never cached.
var flagItems = &imap.FetchOptions{UID: true, Flags: true}

// syncSelected prepares folder for a list page. When it is already
// selected it sends NOOP (RFC 9051 §6.1.2: the server reports new mail and
// expunges of other clients in answer), which the caller waits for after
// pipelining what does not depend on sequence numbers (STATUS). Otherwise
// it selects the folder (a sync of its own) and returns nil.
func (c *imapConn) syncSelected(folder string) (*imapclient.Command, error) {
	if c.selected == folder && !c.recount {
		if err := checkMailboxName(folder); err != nil {
			return nil, err
		}
		return c.c.Noop(), nil
	}
	return nil, c.sel(folder)
}

// pageRows fetches items (UID and FLAGS, or whole rows when nothing is
// cached yet) of the rows in seq (sequence numbers), one round trip. Rows are keyed by sequence number: an unsolicited FETCH
// (a flag change another client made meanwhile) may be taken for this command's answer for the same message by
// go-imap; such a row lacks its UID, and complete says so (the caller
// then asks again).
func (c *imapConn) pageRows(seq imap.SeqSet, items *imap.FetchOptions) (msgs []*imapclient.FetchMessageBuffer, complete bool, err error) {
	bufs, err := c.fetch(seq, items)
	if err != nil {
		return nil, false, err
	}
	bySeq := make(map[uint32]*imapclient.FetchMessageBuffer, len(bufs))
	complete = true
	for _, b := range bufs {
		if b.UID == 0 {
			complete = false
			continue
		}
		bySeq[b.SeqNum] = b
	}
	msgs = make([]*imapclient.FetchMessageBuffer, 0, len(bySeq))
	for _, b := range bySeq {
		msgs = append(msgs, b)
	}
	return msgs, complete, nil
}

// cachedRows builds the page's rows, in the order of msgs (which carry
// UID and flags), from the row cache; rows not cached yet are fetched in
// full (one UID FETCH of envelope, size, date and BODYSTRUCTURE, then the
// sender fallback and previews as niceties) and cached. lean leaves out
// BODYSTRUCTURE (see List); such rows are not cached.
func (c *imapConn) cachedRows(msgs []*imapclient.FetchMessageBuffer, lean bool, rs rowStore) ([]mailproxy.Summary, error) {
	uids := make([]imap.UID, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	var cached []*cachedRow
	if rs.ok() {
		cached = rs.rc.rows(rs.u, c.selected, c.uidValidity, uids)
	} else {
		cached = make([]*cachedRow, len(msgs))
	}
	var missing imap.UIDSet
	var full []*imapclient.FetchMessageBuffer
	pending := map[imap.UID]previewRef{}
	for i, r := range cached {
		switch {
		case r == nil && msgs[i].Envelope != nil:
			full = append(full, msgs[i]) // fetched in full already
		case r == nil:
			missing.AddNum(uids[i])
		case r.pending:
			pending[uids[i]] = r.ref
		}
	}
	fresh := map[imap.UID]*cachedRow{}
	if len(missing) > 0 {
		more, err := c.fetchRows(missing, lean)
		if err != nil {
			return nil, err
		}
		full = append(full, more...)
	}
	if len(full) > 0 {
		rows := make([]mailproxy.Summary, len(full))
		for i, b := range full {
			rows[i] = summaryOf(c.uidValidity, b)
		}
		c.fillMissingSenders(full, rows)
		refs := previewRefs(full)
		for uid, ref := range refs {
			pending[uid] = ref
		}
		for i, b := range full {
			ref, hasRef := refs[b.UID]
			fresh[b.UID] = &cachedRow{
				from: rows[i].From, subject: rows[i].Subject, date: rows[i].Date, size: rows[i].Size,
				attachment: rows[i].Attachment, ref: ref, hasRef: hasRef, pending: hasRef,
			}
		}
	}
	if len(pending) > 0 {
		texts, done := c.fetchPreviews(pending)
		for i, uid := range uids {
			if _, ok := pending[uid]; !ok {
				continue
			}
			r := fresh[uid]
			if r == nil && cached[i] != nil {
				cp := *cached[i] // cached rows are never changed: store a new one
				r = &cp
			}
			if r == nil {
				continue
			}
			r.preview, r.pending = texts[uid], !done[uid]
			fresh[uid] = r
		}
	}
	if rs.ok() && !lean {
		for uid, r := range fresh {
			rs.rc.putRow(rs.u, c.selected, c.uidValidity, uid, r)
		}
	}
	out := make([]mailproxy.Summary, 0, len(msgs))
	for i, m := range msgs {
		r := fresh[m.UID]
		if r == nil {
			r = cached[i]
		}
		if r == nil {
			continue // expunged between the two fetches
		}
		out = append(out, r.summary(c.uidValidity, m.UID, m.Flags))
	}
	return out, nil
}

// prefetchSpecials sends, before the first SELECT of a connection, the
// LIST of special-use folders that the list page asks for right after
// (is this Junk?), so that it shares the SELECT's round trip. The
// returned func collects it (call it once the SELECT is answered).
func (c *imapConn) prefetchSpecials(folder string) func() {
	if c.specials != nil || c.selected == folder || checkMailboxName(folder) != nil {
		return func() {}
	}
	hasSpecialUse := c.caps.Has(imap.CapSpecialUse) || c.caps.Has(imap.CapIMAP4rev2)
	cmd := c.c.List("", "*", &imap.ListOptions{ReturnSpecialUse: hasSpecialUse})
	return func() {
		if list, err := cmd.Collect(); err == nil {
			c.specials = specialsOf(list, hasSpecialUse)
		}
	}
}
