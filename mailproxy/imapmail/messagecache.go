package imapmail

import (
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// openedMessage returns the cached view of message uid in the selected
// folder, nil when there is none.
func (rs rowStore) openedMessage(c *imapConn, uid imap.UID) *cachedMessage {
	if !rs.ok() {
		return nil
	}
	rs.rc.checkValidity(rs.u, c.selected, c.uidValidity)
	return rs.rc.message(rs.u, c.selected, c.uidValidity, uid)
}

// keepOpened caches what showing message uid needed besides its flags:
// m without flags and niceties, the body plan and the decoded text of the
// part shown (not kept when longer than maxCachedText).
func (rs rowStore) keepOpened(c *imapConn, uid imap.UID, m *mailproxy.Message, plan bodyPlan, text string, problems []string, truncated bool) {
	if !rs.ok() || len(text) > maxCachedText {
		return
	}
	cm := &cachedMessage{m: *m, plan: plan, text: text, problems: problems, truncated: truncated, hasText: plan.body != nil}
	cm.m.Seen, cm.m.Flagged, cm.m.Answered, cm.m.Deleted, cm.m.Keywords = false, false, false, false, nil
	cm.m.Body, cm.m.Problems, cm.m.PrevID, cm.m.NextID, cm.m.Thread = mailproxy.Body{}, nil, "", "", nil
	cm.m.Attachments = nil
	rs.rc.putMessage(rs.u, c.selected, c.uidValidity, uid, cm)
}

// messageFromCache shows a message opened before: one FETCH of its UID
// and flags (after a NOOP) (which also tells that it still exists, and its sequence
// number for the niceties), a silent STORE of \Seen where opening marks
// it read, and the niceties (previous/next, the conversation), which
// depend on the folder's current contents and are never cached.
func (c *imapConn) messageFromCache(cm *cachedMessage, id string, uid imap.UID, opts mailproxy.ViewOptions, po PoolOptions) (*mailproxy.Message, error) {
	// A NOOP first makes the server report another client's expunge (a
	// UID FETCH of it then answers nothing) rather than the last flags it
	// knew. Dovecot delays the sync until pipelined commands are done, so
	// it is a round trip of its own (sel sends it when the connection sat
	// idle for a second).
	if time.Since(c.lastCmd) <= time.Second {
		if err := c.c.Noop().Wait(); err != nil {
			return nil, err
		}
	}
	bufs, err := c.fetch(imap.UIDSetNum(uid), flagItems)
	if err != nil {
		return nil, err
	}
	buf := bufferOf(bufs, uid)
	if buf == nil {
		return nil, fmt.Errorf("%w: message %s in %q", mailproxy.ErrNotFound, id, c.selected)
	}
	m := cm.m // a copy; its slices are shared and never written
	m.ID, m.Folder, m.FolderDisplay = id, c.selected, c.display(c.selected)
	applyFlags(&m, buf.Flags)
	m.Attachments = append([]mailproxy.Attachment(nil), cm.plan.atts...)
	if err := c.markSeen(&m, uid, opts); err != nil {
		return nil, err
	}
	c.nicety(func() { c.fillNeighbours(&m, buf.SeqNum) })
	c.nicety(func() { c.thread(&m, uid, buf.SeqNum) })
	if cm.plan.body == nil {
		if len(m.Attachments) == 0 {
			m.Problems = append(m.Problems, "This message has no text.")
		}
		return &m, nil
	}
	renderText(&m, cm.text, cm.problems, cm.plan.body, cm.plan.cids, opts)
	if cm.truncated {
		m.Problems = append(m.Problems, fmt.Sprintf("This message is long; only the first %d KB are shown.", po.MaxPartBytes>>10))
	}
	return &m, nil
}

// cachedPlan is the body plan of a message opened before, for downloads.
func (rs rowStore) cachedPlan(c *imapConn, uid imap.UID) (bodyPlan, bool) {
	if cm := rs.openedMessage(c, uid); cm != nil {
		return cm.plan, true
	}
	return bodyPlan{}, false
}
