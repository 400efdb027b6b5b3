package imapmail

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// Preview fetch sizes: enough encoded bytes for one line of text.
const (
	previewPlainBytes = 768
	previewHTMLBytes  = 4096
	previewRunes      = 90
)

// List returns one page of a folder, newest first. Its cost does not grow
// with the folder size: one SELECT (skipped when the folder is still
// selected from the last request), a STATUS pipelined with the page's
// FETCH by sequence range, and a few partial body fetches for the
// previews (under the nicety budget: the page never waits long on them).
// When q.Anchor is set, mail that arrived after it is left out (counted
// in Newer) so pages do not shift under the user.
func (s *imapSession) List(ctx context.Context, folder string, q mailproxy.ListQuery) (*mailproxy.MessagePage, error) {
	if q.PageSize <= 0 {
		q.PageSize = 50
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	var page *mailproxy.MessagePage
	rs := s.rowStore()
	err := s.do(ctx, func(c *imapConn) error {
		var err error
		page, err = c.list(folder, q, false, rs, false)
		return err
	})
	if err != nil && errors.Is(err, mailproxy.ErrUnavailable) && !errors.Is(err, mailproxy.ErrTooManyConnections) && !isTimeout(err) {
		// A server that fails on one message's BODYSTRUCTURE (and closes
		// the connection) must not hide the whole page: list without it.
		s.e.pool.opts.Logger.Warn("imap list failed, retrying without BODYSTRUCTURE", "folder", folder, "err", err)
		err = s.do(ctx, func(c *imapConn) error {
			var err error
			page, err = c.list(folder, q, true, rs, false)
			return err
		})
	}
	return page, err
}

// list builds the page from the row cache (see cachedRows): on a folder
// already selected, the NOOP that picks up other clients' changes and the
// STATUS go out together, then the FETCH of the page's UIDs and flags;
// only rows not seen before are fetched in full. synced is set when list
// calls itself again because a change reported during the FETCH took a
// row's place.
func (c *imapConn) list(folder string, q mailproxy.ListQuery, lean bool, rs rowStore, synced bool) (*mailproxy.MessagePage, error) {
	var noop *imapclient.Command
	var err error
	specials := c.prefetchSpecials(folder)
	if q.Anchor == 0 && q.Before == 0 && q.After == 0 && !synced {
		noop, err = c.syncSelected(folder)
	} else {
		err = c.sel(folder)
	}
	specials()
	if err != nil {
		return nil, err
	}
	if q.Validity != 0 && q.Validity != c.uidValidity {
		if noop != nil {
			noop.Wait()
		}
		return nil, fmt.Errorf("%w: %q (page of %d, now %d)", mailproxy.ErrFolderReset, folder, q.Validity, c.uidValidity)
	}
	if rs.ok() {
		rs.rc.checkValidity(rs.u, folder, c.uidValidity)
	}
	statusCmd := c.c.Status(folder, &imap.StatusOptions{NumUnseen: true, UIDNext: true})
	if noop != nil {
		// Dovecot delays the sync a NOOP asks for until the commands
		// pipelined behind it are done: wait for it (and the STATUS
		// sent with it) before reckoning the page's sequence numbers.
		if err := noop.Wait(); err != nil {
			statusCmd.Wait()
			return nil, err
		}
	}

	newer := 0
	if q.Anchor > 0 {
		// UID anchor+1:* also matches the highest UID when nothing is
		// newer (RFC 3501 §6.4.8), so count only what is really above.
		set := imap.UIDSet{imap.UIDRange{Start: imap.UID(q.Anchor) + 1, Stop: 0}}
		data, err := c.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err != nil {
			statusCmd.Wait()
			return nil, err
		}
		for _, uid := range data.AllUIDs() {
			if uint32(uid) > q.Anchor {
				newer++
			}
		}
	}

	total := max(int(c.numMessages())-newer, 0)
	pages := max((total+q.PageSize-1)/q.PageSize, 1)
	pageNo := min(q.Page, pages)
	last := total - (pageNo-1)*q.PageSize // sequence number of the newest row
	first := max(last-q.PageSize+1, 1)
	cursor := false
	if (q.Before > 0 || q.After > 0) && c.caps.Has(imap.CapESearch) {
		// Find the page by UID, not by position: messages expunged by
		// another client since the last page shift positions, not UIDs.
		// ESEARCH COUNT (RFC 4731 §3.1) of the UIDs below the cursor is
		// the sequence number of the row next to it (RFC 9051 §2.3.1.2:
		// sequence numbers ascend with UIDs).
		var below imap.UIDRange
		if q.Before > 0 {
			below = imap.UIDRange{Start: 1, Stop: imap.UID(max(q.Before-1, 1))}
		} else {
			below = imap.UIDRange{Start: 1, Stop: imap.UID(q.After)}
		}
		data, err := c.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{below}}}, &imap.SearchOptions{ReturnCount: true}).Wait()
		if err != nil {
			statusCmd.Wait()
			return nil, err
		}
		count := int(data.Count)
		if q.Before == 1 {
			count = 0
		}
		cursor = true
		total = max(int(c.numMessages())-newer, 0)
		if q.Before > 0 {
			last = min(count, total)
			first = max(last-q.PageSize+1, 1)
		} else {
			last = min(count+q.PageSize, total)
			first = max(last-q.PageSize+1, 1)
		}
		pages = max((total+q.PageSize-1)/q.PageSize, 1)
		pageNo = min(max((total-last)/q.PageSize+1, 1), pages)
	}

	var msgs []*imapclient.FetchMessageBuffer
	var fetchErr error
	complete := true
	if total > 0 && last >= 1 {
		seq := imap.SeqSet{imap.SeqRange{Start: uint32(first), Stop: uint32(last)}}
		items := flagItems
		if !lean && rs.ok() && rs.rc.cold(rs.u, folder, c.uidValidity) {
			// Nothing cached here yet (a fresh sign-in): the rows
			// in full at once, not UIDs first.
			items = rowItems(false)
		}
		msgs, complete, fetchErr = c.pageRows(seq, items)
	}
	if fetchErr == nil && !complete && !synced {
		// Another client's change reported during the FETCH took a
		// row's place (see pageFlags): ask again.
		statusCmd.Wait()
		return c.list(folder, q, lean, rs, true)
	}
	st, statusErr := statusCmd.Wait()
	if fetchErr != nil {
		return nil, fetchErr
	}
	if cursor {
		// An expunge reported during the search may have shifted the
		// range by a row: never show a row from the other side of the
		// cursor (it was on the previous page).
		kept := msgs[:0]
		for _, m := range msgs {
			if (q.Before == 0 || uint32(m.UID) < q.Before) && (q.After == 0 || uint32(m.UID) > q.After) && (q.Anchor == 0 || uint32(m.UID) <= q.Anchor) {
				kept = append(kept, m)
			}
		}
		msgs = kept
	}

	p := &mailproxy.MessagePage{
		Folder: folder, FolderDisplay: c.display(folder), Page: pageNo, PageSize: q.PageSize, Pages: pages,
		Total: total, Newer: newer, Anchor: q.Anchor,
	}
	if statusErr == nil && st != nil {
		if st.NumUnseen != nil {
			p.Unread = int(*st.NumUnseen)
		}
		if p.Anchor == 0 && st.UIDNext > 0 {
			p.Anchor = uint32(st.UIDNext) - 1
		}
	}
	p.Validity = c.uidValidity

	// Newest first.
	sortBySeqDesc(msgs)
	if p.Anchor == 0 {
		for _, m := range msgs {
			p.Anchor = max(p.Anchor, uint32(m.UID))
		}
	}
	if len(msgs) > 0 {
		p.NewestUID, p.OldestUID = uint32(msgs[0].UID), uint32(msgs[len(msgs)-1].UID)
	}
	if p.Messages, err = c.cachedRows(msgs, lean, rs); err != nil {
		return nil, err
	}
	if len(p.Messages) > 0 {
		p.First = (pageNo-1)*q.PageSize + 1
		if cursor {
			p.First = total - last + 1
		}
		p.Last = p.First + len(p.Messages) - 1
	}
	return p, nil
}

// fetchRows is the one FETCH of list rows for the messages in set
// (sequence numbers or UIDs); lean leaves out BODYSTRUCTURE (no previews
// or attachment marks) for servers that fail on it.
func (c *imapConn) fetchRows(set imap.NumSet, lean bool) ([]*imapclient.FetchMessageBuffer, error) {
	return c.fetch(set, rowItems(lean))
}

// rowItems is what a row needs in full.
func rowItems(lean bool) *imap.FetchOptions {
	opts := &imap.FetchOptions{UID: true, Flags: true, Envelope: true, InternalDate: true, RFC822Size: true}
	if !lean {
		opts.BodyStructure = &imap.FetchItemBodyStructure{Extended: true}
	}
	return opts
}

// fromHeader fetches the raw From header, for servers whose ENVELOPE
// leaves From empty when they cannot decode it (an unknown charset).
var fromHeader = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"From"}, Peek: true}

// senderFromHeader parses a fetched From header tolerantly.
func senderFromHeader(raw []byte) []mailproxy.Address {
	_, v, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil
	}
	return message.ParseAddressList(strings.TrimSpace(v))
}

// fillMissingSenders reads the From header itself for rows whose ENVELOPE
// had no sender; one extra command, and only when needed.
func (c *imapConn) fillMissingSenders(msgs []*imapclient.FetchMessageBuffer, rows []mailproxy.Summary) {
	var uids imap.UIDSet
	for i, m := range msgs {
		if rows[i].From == (mailproxy.Address{}) {
			uids.AddNum(m.UID)
		}
	}
	if len(uids) == 0 {
		return
	}
	bufs, ok := c.niceFetch(uids, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{fromHeader}})
	if !ok {
		return
	}
	from := map[imap.UID]mailproxy.Address{}
	for _, b := range bufs {
		if as := senderFromHeader(b.FindBodySection(fromHeader)); len(as) > 0 {
			from[b.UID] = as[0]
		}
	}
	for i, m := range msgs {
		if a, ok := from[m.UID]; ok && rows[i].From == (mailproxy.Address{}) {
			rows[i].From = a
		}
	}
}

func sortBySeqDesc(msgs []*imapclient.FetchMessageBuffer) {
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	// Servers answer in ascending order; make sure.
	for i := 1; i < len(msgs); i++ {
		for k := i; k > 0 && msgs[k].SeqNum > msgs[k-1].SeqNum; k-- {
			msgs[k], msgs[k-1] = msgs[k-1], msgs[k]
		}
	}
}

func summaryOf(validity uint32, m *imapclient.FetchMessageBuffer) mailproxy.Summary {
	s := mailproxy.Summary{ID: msgID(validity, m.UID), Size: m.RFC822Size, Date: m.InternalDate}
	s.Seen, s.Flagged, s.Answered = systemFlags(m.Flags)
	for _, f := range m.Flags {
		if strings.EqualFold(string(f), string(imap.FlagDeleted)) {
			s.Deleted = true
		}
	}
	if env := m.Envelope; env != nil {
		s.Subject = message.DecodeHeaderText(env.Subject)
		if len(env.From) > 0 {
			s.From = addressOf(env.From[0])
		} else if len(env.Sender) > 0 {
			s.From = addressOf(env.Sender[0])
		}
		if !env.Date.IsZero() && env.Date.Year() > 1970 {
			s.Date = env.Date
		}
	}
	if m.BodyStructure != nil {
		s.Attachment = hasAttachment(m.BodyStructure)
	}
	return s
}

func addressOf(a imap.Address) mailproxy.Address {
	email := ""
	if a.Mailbox != "" {
		email = a.Mailbox
		if a.Host != "" {
			email += "@" + a.Host
		}
	}
	return mailproxy.Address{Name: message.DecodeHeaderText(a.Name), Email: message.DecodeHeaderText(email)}
}

func addressesOf(l []imap.Address) []mailproxy.Address {
	var out []mailproxy.Address
	for _, a := range l {
		if a.IsGroupStart() || a.IsGroupEnd() {
			continue
		}
		out = append(out, addressOf(a))
	}
	return out
}

// hasAttachment tells whether a message has a part a user would call an
// attachment.
func hasAttachment(bs imap.BodyStructure) bool {
	found := false
	bs.Walk(func(path []int, part imap.BodyStructure) bool {
		sp, ok := part.(*imap.BodyStructureSinglePart)
		if !ok {
			return true
		}
		disp := ""
		if d := sp.Disposition(); d != nil {
			disp = strings.ToLower(d.Value)
		}
		switch {
		case disp == "attachment":
			found = true
		case disp == "inline":
		case strings.EqualFold(sp.Type, "application"), strings.EqualFold(sp.Type, "message") && !strings.EqualFold(sp.Subtype, "delivery-status"):
			found = true
		case sp.Filename() != "" && !strings.EqualFold(sp.Type, "image"):
			found = true
		}
		return !found
	})
	return found
}

// previewRef is the section of a message worth previewing.
type previewRef struct {
	section, encoding, charset string
	html                       bool
}

// previewPart finds the first plain text part, else the first HTML part,
// skipping attachments.
func previewPart(bs imap.BodyStructure) (previewRef, bool) {
	var plain, html *previewRef
	bs.Walk(func(path []int, part imap.BodyStructure) bool {
		sp, ok := part.(*imap.BodyStructureSinglePart)
		if !ok || !strings.EqualFold(sp.Type, "text") {
			return true
		}
		if d := sp.Disposition(); d != nil && strings.EqualFold(d.Value, "attachment") {
			return true
		}
		ref := &previewRef{section: sectionString(path), encoding: strings.ToLower(sp.Encoding), charset: sp.Params["charset"]}
		switch strings.ToLower(sp.Subtype) {
		case "plain":
			if plain == nil {
				plain = ref
			}
		case "html":
			if html == nil {
				ref.html = true
				html = ref
			}
		}
		return plain == nil
	})
	switch {
	case plain != nil:
		return *plain, true
	case html != nil:
		return *html, true
	}
	return previewRef{}, false
}

// previewRefs finds the part worth previewing of each message that has a
// BODYSTRUCTURE.
func previewRefs(msgs []*imapclient.FetchMessageBuffer) map[imap.UID]previewRef {
	refs := make(map[imap.UID]previewRef, len(msgs))
	for _, m := range msgs {
		if m.BodyStructure == nil {
			continue
		}
		if ref, ok := previewPart(m.BodyStructure); ok {
			refs[m.UID] = ref
		}
	}
	return refs
}

// fetchPreviews fetches a partial prefix of the given parts and turns each
// into a one-line preview. Messages are grouped by section and size; each
// group is one FETCH, sent only when the one before is read (see fetch),
// all under the request's nicety budget: done tells which messages' groups
// made it (the others show no preview this time).
func (c *imapConn) fetchPreviews(refs map[imap.UID]previewRef) (texts map[imap.UID]string, done map[imap.UID]bool) {
	type group struct {
		item *imap.FetchItemBodySection
		uids imap.UIDSet
		list []imap.UID
	}
	groups := map[string]*group{}
	var order []string
	// In UID order, so that the commands (and tests) are deterministic.
	uids := make([]imap.UID, 0, len(refs))
	for uid := range refs {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	for _, uid := range uids {
		ref := refs[uid]
		size := int64(previewPlainBytes)
		if ref.html {
			size = previewHTMLBytes
		}
		key := ref.section + "/" + strconv.FormatInt(size, 10)
		g := groups[key]
		if g == nil {
			g = &group{item: &imap.FetchItemBodySection{
				Part: sectionPath(ref.section), Peek: true,
				Partial: &imap.SectionPartial{Offset: 0, Size: size},
			}}
			groups[key] = g
			order = append(order, key)
		}
		g.uids.AddNum(uid)
		g.list = append(g.list, uid)
	}
	done = make(map[imap.UID]bool, len(refs))
	var jobs []previewJob
	for _, k := range order {
		g := groups[k]
		bufs, ok := c.niceFetch(g.uids, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{g.item}})
		if !ok {
			continue // late or failed: these rows go without (a spent budget skips the rest at once)
		}
		for _, uid := range g.list {
			done[uid] = true // answered; a message expunged meanwhile has no preview
		}
		for _, b := range bufs {
			if ref, ok := refs[b.UID]; ok {
				jobs = append(jobs, previewJob{uid: b.UID, ref: ref, data: b.FindBodySection(g.item)})
			}
		}
	}
	return decodePreviews(jobs), done
}

// previewJob is one fetched preview prefix to decode.
type previewJob struct {
	uid  imap.UID
	ref  previewRef
	data []byte
	text string
}

// decodePreviews turns fetched prefixes into one-line previews, on all
// cores: HTML to text costs up to a fifth of a millisecond a message,
// which a first page of 50 rows would otherwise wait for in a row.
func decodePreviews(jobs []previewJob) map[imap.UID]string {
	workers := min(runtime.GOMAXPROCS(0), (len(jobs)+7)/8)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
				j := &jobs[i]
				mt := "text/plain"
				if j.ref.html {
					mt = "text/html"
				}
				j.text = message.PreviewText(j.data, j.ref.encoding, j.ref.charset, mt, previewRunes)
			}
		}()
	}
	wg.Wait()
	texts := make(map[imap.UID]string, len(jobs))
	for _, j := range jobs {
		texts[j.uid] = j.text
	}
	return texts
}

// sectionString turns a part path into "1.2"; the empty path (a
// non-multipart message's body) is "1".
func sectionString(path []int) string {
	if len(path) == 0 {
		return "1"
	}
	var b strings.Builder
	for i, n := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

func sectionPath(section string) []int {
	var out []int
	for _, s := range strings.Split(section, ".") {
		n := 0
		for _, r := range s {
			if r < '0' || r > '9' {
				return nil
			}
			n = n*10 + int(r-'0')
			if n > 1<<20 {
				return nil
			}
		}
		if n == 0 {
			return nil
		}
		out = append(out, n)
	}
	return out
}
