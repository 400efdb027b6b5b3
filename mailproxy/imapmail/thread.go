package imapmail

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// threadIDs are the Message-IDs that tie m to its conversation: its own,
// its parent's, and its References (the root first, then the nearest
// ancestors), without angle brackets, bounded.
func threadIDs(m *mailproxy.Message) []string {
	var ids []string
	add := func(id string) {
		id = strings.Trim(CleanQuery(id), "<> ")
		// Very short ids would match inside unrelated References.
		if len(id) >= 6 && !strings.ContainsAny(id, " ") && !slices.Contains(ids, id) && len(ids) < maxThreadIDs {
			ids = append(ids, id)
		}
	}
	add(m.MessageID)
	add(m.InReplyTo)
	if len(m.References) > 0 {
		add(m.References[0])
		for i := len(m.References) - 1; i > 0; i-- {
			add(m.References[i])
		}
	}
	return ids
}

// thread finds the conversation of message uid (sequence number seq) in
// the selected folder, on servers that offer THREAD=REFERENCES (RFC 5256).
// It does not send THREAD itself: Dovecot's THREAD builds a thread index
// of the whole mailbox whatever the search says (4 s the first time on
// 100,000 messages, 350 ms on every new connection). Instead one UID
// SEARCH finds the messages that carry one of m's ids in Message-ID or
// References (its ancestors and replies) among the threadSpan messages
// before and after it (about 5 ms), and one FETCH of their envelopes
// gives the tree: each message hangs under the one its In-Reply-To names
// (RFC 5322 §3.6.4), siblings by date. Failures leave the thread out: it
// is a nicety.
func (c *imapConn) thread(m *mailproxy.Message, uid imap.UID, seq uint32) {
	if !c.caps.Has(imap.Cap("THREAD=" + string(imap.ThreadReferences))) {
		return
	}
	ids := threadIDs(m)
	if len(ids) == 0 {
		return
	}
	var keys []imap.SearchCriteria
	for _, id := range ids {
		for _, h := range []string{"Message-ID", "References"} {
			keys = append(keys, imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: h, Value: id}}})
		}
	}
	crit := orOf(keys)
	if n := c.numMessages(); n > 2*threadSpan && seq > 0 {
		lo := uint32(max(int(seq)-threadSpan, 1))
		hi := min(seq+threadSpan, n)
		crit.SeqNum = []imap.SeqSet{{imap.SeqRange{Start: lo, Stop: hi}}}
	}
	data, err := c.c.UIDSearch(&crit, nil).Wait()
	if err != nil {
		return
	}
	uids := data.AllUIDs()
	if len(uids) < 2 {
		return
	}
	if len(uids) > 2*maxThreadItems {
		slices.Sort(uids)
		at, _ := slices.BinarySearch(uids, uid)
		start := min(max(at-maxThreadItems, 0), len(uids)-2*maxThreadItems)
		uids = uids[start : start+2*maxThreadItems]
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(u)
	}
	bufs, err := c.fetch(set, &imap.FetchOptions{UID: true, Envelope: true, InternalDate: true})
	if err != nil {
		return
	}
	items := threadTree(c.uidValidity, bufs, uid)
	if len(items) > maxThreadItems {
		at := slices.IndexFunc(items, func(it mailproxy.ThreadItem) bool { return it.Current })
		start := min(max(at-maxThreadItems/2, 0), len(items)-maxThreadItems)
		items = items[start : start+maxThreadItems]
	}
	if len(items) >= 2 {
		m.Thread = items
	}
}

// threadTree orders fetched messages as a conversation: depth first from
// the roots, each message under the one its In-Reply-To names, siblings
// oldest first. current marks the message shown.
func threadTree(validity uint32, bufs []*imapclient.FetchMessageBuffer, current imap.UID) []mailproxy.ThreadItem {
	type node struct {
		item     mailproxy.ThreadItem
		mid      string
		parent   string
		children []*node
	}
	var nodes []*node
	byMID := map[string]*node{}
	for _, b := range bufs {
		if b.Envelope == nil {
			continue
		}
		s := summaryOf(validity, b)
		n := &node{item: mailproxy.ThreadItem{ID: s.ID, From: s.From, Subject: s.Subject, Date: s.Date, Current: b.UID == current}, mid: strings.Trim(b.Envelope.MessageID, "<>")}
		if len(b.Envelope.InReplyTo) > 0 {
			n.parent = strings.Trim(b.Envelope.InReplyTo[0], "<>")
		}
		nodes = append(nodes, n)
		if n.mid != "" && byMID[n.mid] == nil {
			byMID[n.mid] = n
		}
	}
	slices.SortStableFunc(nodes, func(a, b *node) int { return a.item.Date.Compare(b.item.Date) })
	var roots []*node
	for _, n := range nodes {
		if p := byMID[n.parent]; p != nil && p != n {
			p.children = append(p.children, n)
		} else {
			roots = append(roots, n)
		}
	}
	var out []mailproxy.ThreadItem
	seen := map[*node]bool{}
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		if seen[n] {
			return // a loop of In-Reply-To headers
		}
		seen[n] = true
		n.item.Depth = depth
		out = append(out, n.item)
		for _, ch := range n.children {
			walk(ch, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	for _, n := range nodes { // In-Reply-To loops have no root: start anywhere
		walk(n, 0)
	}
	return out
}

// maxThreadIDs bounds the Message-IDs a thread search looks for, and
// maxThreadItems the messages a conversation shows.
const (
	maxThreadIDs   = 10
	maxThreadItems = 50
	// threadSpan bounds the thread search to the messages around the one
	// shown (by sequence number, both ways): a header search costs about
	// 10 µs a message on Dovecot, 1 s for a whole 100,000-message folder.
	threadSpan = 1500
)
