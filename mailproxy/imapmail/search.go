package imapmail

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Search bounds.
const (
	maxQueryRunes    = 200 // characters of a query kept
	maxQueryTerms    = 8   // words of a query searched (AND)
	maxSearchFolders = 50  // folders an all-folders search visits
	maxMergedRows    = 500 // results an all-folders search can page through
	minFragment      = 2   // shortest ASCII fragment kept after BADCHARSET

	// Folders of up to fullSearchMax messages are searched whole (exact
	// count, SORT by date when offered). Bigger ones are searched newest
	// first in windows of messages, starting with firstWindow and growing
	// to fit the time left, until the requested page is full or
	// searchBudget is spent: without a full-text index Dovecot reads every
	// body, about 40 µs a message (4 s for 100,000).
)

// Windowed search settings (variables so tests can make them small).
var (
	fullSearchMax = 10000
	firstWindow   = 2000
	searchBudget  = 1500 * time.Millisecond
)

// CleanQuery makes what a user typed safe and bounded for a search:
// invalid UTF-8 is replaced, control characters (CR, LF, NUL, tabs...) and
// runs of spaces become one space, and at most 200 characters are kept.
// Quotes and backslashes stay: they are data, and the IMAP encoder quotes
// or sends them as a literal.
func CleanQuery(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			space = true
			continue
		}
		if n >= maxQueryRunes {
			break
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// queryTerms splits a cleaned query into the words that must all match,
// without duplicates, at most maxQueryTerms of them.
func queryTerms(q string) []string {
	var out []string
	for _, w := range strings.Fields(q) {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, w) }) {
			out = append(out, w)
		}
		if len(out) == maxQueryTerms {
			break
		}
	}
	return out
}

// asciiTerms is the fallback for servers that refuse CHARSET UTF-8 (RFC
// 3501 §6.4.4 requires only US-ASCII): each word is cut at its non-ASCII
// letters and the ASCII fragments of at least two characters are searched
// instead. approx reports that something was dropped.
func asciiTerms(terms []string) (out []string, approx bool) {
	for _, t := range terms {
		frags := strings.FieldsFunc(t, func(r rune) bool { return r > unicode.MaxASCII })
		if len(frags) != 1 || frags[0] != t {
			approx = true
		}
		for _, f := range frags {
			if len(f) >= minFragment && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out, approx
}

// orOf joins search keys with nested ORs (RFC 3501 §6.4.4: OR takes two
// keys).
func orOf(keys []imap.SearchCriteria) imap.SearchCriteria {
	c := keys[len(keys)-1]
	for i := len(keys) - 2; i >= 0; i-- {
		c = imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{keys[i], c}}}
	}
	return c
}

// searchCriteria matches messages where every term is in the sender,
// a recipient (To, Cc), the subject or the body: per term
// OR FROM t (OR TO t (OR CC t (OR SUBJECT t BODY t))), the terms ANDed.
// FROM/TO/CC/SUBJECT match decoded header text and BODY the decoded body
// (RFC 3501 §6.4.4); TEXT would also match every other header (Received,
// Message-ID...), which finds far too much. anchor > 0 limits to UIDs up
// to it.
func searchCriteria(terms []string, anchor uint32) *imap.SearchCriteria {
	crit := &imap.SearchCriteria{}
	if anchor > 0 {
		crit.UID = []imap.UIDSet{{imap.UIDRange{Start: 1, Stop: imap.UID(anchor)}}}
	}
	for _, t := range terms {
		var keys []imap.SearchCriteria
		for _, h := range []string{"From", "To", "Cc", "Subject"} {
			keys = append(keys, imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: h, Value: t}}})
		}
		keys = append(keys, imap.SearchCriteria{Body: []string{t}})
		crit.Or = append(crit.Or, orOf(keys).Or[0])
	}
	return crit
}

// isBadCharset tells whether the server refused the search's charset.
func isBadCharset(err error) bool {
	var ierr *imap.Error
	return errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeBadCharset
}

// searchUIDs runs one search in the selected folder and returns the
// matching UIDs newest first: UID SORT (REVERSE DATE) when sortOK and the
// server offers SORT (RFC 5256; go-imap does not check the capability,
// so we do), else UID SEARCH RETURN (ALL) when it offers ESEARCH (RFC
// 4731: the matches come back as compact ranges), else plain UID SEARCH;
// the last two are sorted by UID, newest (highest) first. go-imap adds
// CHARSET UTF-8 only when a term is not ASCII and the server is not
// IMAP4rev2.
func (c *imapConn) searchUIDs(crit *imap.SearchCriteria, sortOK bool) ([]imap.UID, error) {
	if sortOK && c.caps.Has(imap.CapSort) {
		nums, err := c.c.UIDSort(&imapclient.SortOptions{
			SearchCriteria: crit,
			SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeyDate, Reverse: true}},
		}).Wait()
		if err != nil {
			return nil, err
		}
		uids := make([]imap.UID, len(nums))
		for i, n := range nums {
			uids[i] = imap.UID(n)
		}
		return uids, nil
	}
	var opts *imap.SearchOptions
	if c.caps.Has(imap.CapESearch) {
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	data, err := c.c.UIDSearch(crit, opts).Wait()
	if err != nil {
		return nil, err
	}
	uids := data.AllUIDs()
	slices.SortFunc(uids, func(a, b imap.UID) int { return int(int64(b) - int64(a)) })
	return uids, nil
}

// matching runs the search for terms (within the sequence window seq
// when set, and UIDs up to limit when set) in the selected folder. A
// server that answers NO [BADCHARSET] to CHARSET UTF-8 (some
// Exchange-style servers) is asked again without a charset, for the
// ASCII parts of the words (approx).
func (c *imapConn) matching(terms []string, limit uint32, seq imap.SeqSet, sortOK bool) (uids []imap.UID, approx bool, err error) {
	crit := func(terms []string) *imap.SearchCriteria {
		cr := searchCriteria(terms, limit)
		if seq != nil {
			cr.SeqNum = []imap.SeqSet{seq}
		}
		return cr
	}
	uids, err = c.searchUIDs(crit(terms), sortOK)
	if err == nil || !isBadCharset(err) {
		return uids, false, err
	}
	ascii, _ := asciiTerms(terms)
	if len(ascii) == 0 {
		return nil, true, nil
	}
	// UID SORT always names a charset (RFC 5256 §3), so plain SEARCH.
	uids, err = c.searchUIDs(crit(ascii), false)
	return uids, true, err
}

// scanResult is what scan found in one folder.
type scanResult struct {
	uids     []imap.UID // newest first
	approx   bool
	more     bool     // stopped before the oldest message
	searched int      // messages searched
	rest     imap.UID // when more: the lowest UID searched
}

// countUpTo counts the selected folder's messages with UIDs up to limit:
// they are sequence numbers 1 to that count.
func (c *imapConn) countUpTo(limit uint32) (int, error) {
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: 1, Stop: imap.UID(limit)}}}}
	if c.caps.Has(imap.CapESearch) {
		data, err := c.c.UIDSearch(crit, &imap.SearchOptions{ReturnCount: true}).Wait()
		if err != nil {
			return 0, err
		}
		return int(data.Count), nil
	}
	data, err := c.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return 0, err
	}
	return len(data.AllUIDs()), nil
}

// scan searches the selected folder for terms, newest first, among the
// messages with UIDs up to limit (0: all). A folder of up to
// fullSearchMax such messages is searched whole. A bigger one is searched
// in windows of sequence numbers from the newest down, until need
// matches are found, the oldest message is reached, or budget is spent;
// each window is one SEARCH, sized from the time the last one took.
func (c *imapConn) scan(terms []string, limit uint32, need int, budget time.Duration) (scanResult, error) {
	var r scanResult
	hi := int(c.numMessages())
	if limit > 0 && hi > 0 {
		n, err := c.countUpTo(limit)
		if err != nil {
			return r, err
		}
		hi = n
	}
	if hi == 0 {
		return r, nil
	}
	if hi <= fullSearchMax {
		var err error
		r.uids, r.approx, err = c.matching(terms, limit, nil, true)
		r.searched = hi
		return r, err
	}
	start := time.Now()
	w := firstWindow
	for hi >= 1 {
		lo := max(hi-w+1, 1)
		t0 := time.Now()
		uids, approx, err := c.matching(terms, limit, imap.SeqSet{imap.SeqRange{Start: uint32(lo), Stop: uint32(hi)}}, false)
		if err != nil {
			return r, err
		}
		perMsg := time.Since(t0) / time.Duration(hi-lo+1)
		r.uids = append(r.uids, uids...) // windows go down: still newest first
		r.approx = r.approx || approx
		r.searched += hi - lo + 1
		hi = lo - 1
		left := budget - time.Since(start)
		if hi < 1 || len(r.uids) >= need || left < 50*time.Millisecond {
			break
		}
		w = max(min(2*w, int(left/max(perMsg, time.Microsecond))), 500)
	}
	if hi >= 1 {
		r.more = true
		bufs, err := c.fetch(imap.SeqSetNum(uint32(hi+1)), &imap.FetchOptions{UID: true})
		if err != nil {
			return r, err
		}
		if len(bufs) > 0 {
			r.rest = bufs[0].UID
		}
		if r.rest == 0 {
			r.more = false // expunged meanwhile; what we have is what we show
		}
	}
	return r, nil
}

// paginate fills the paging fields of p for total results.
func paginate(p *mailproxy.MessagePage, total, page, pages int) {
	p.Total = total
	p.Pages = max(pages, 1)
	p.Page = min(max(page, 1), p.Pages)
	if total > 0 {
		p.First = (p.Page-1)*p.PageSize + 1
		p.Last = min(p.Page*p.PageSize, total)
		if p.First > p.Last {
			p.First, p.Last = 0, 0
		}
	}
}

// Search finds messages by sender, recipient, subject or body, in one
// folder or (q.AllFolders) in every selectable one, newest first and
// paged like a folder. The query is cleaned (CleanQuery) and split into
// words that must all match. One folder costs one SELECT (skipped when
// it is still selected), one SEARCH or SORT, and the page's rows fetched
// as the list does; q.Anchor keeps later pages stable while mail arrives.
func (s *imapSession) Search(ctx context.Context, folder string, q mailproxy.SearchQuery) (*mailproxy.MessagePage, error) {
	if q.PageSize <= 0 {
		q.PageSize = 50
	}
	q.Text = CleanQuery(q.Text)
	terms := queryTerms(q.Text)
	var page *mailproxy.MessagePage
	rows := s.rowStore()
	err := s.do(ctx, func(c *imapConn) error {
		var err error
		switch {
		case len(terms) == 0:
			page = &mailproxy.MessagePage{Folder: folder, FolderDisplay: c.display(folder), Page: 1, Pages: 1, PageSize: q.PageSize, AllFolders: q.AllFolders}
		case q.AllFolders:
			page, err = c.searchAll(folder, q, terms, rows)
		default:
			page, err = c.search(folder, q, terms, rows)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// search is Search in one folder.
func (c *imapConn) search(folder string, q mailproxy.SearchQuery, terms []string, rows rowStore) (*mailproxy.MessagePage, error) {
	if err := c.sel(folder); err != nil {
		return nil, err
	}
	limit := q.Anchor
	if q.Below > 0 {
		limit = q.Below - 1
	}
	p := &mailproxy.MessagePage{Folder: folder, FolderDisplay: c.display(folder), PageSize: q.PageSize, Query: q.Text, Anchor: q.Anchor, Below: q.Below}
	need := max(q.Page, 1) * q.PageSize
	var r scanResult
	if q.Below != 1 { // below 1: nothing is left
		var err error
		if r, err = c.scan(terms, limit, need, searchBudget); err != nil {
			return nil, err
		}
	}
	p.Approx, p.More, p.Searched, p.Rest = r.approx, r.more, r.searched, uint32(r.rest)
	if p.Anchor == 0 && q.Below == 0 {
		for _, u := range r.uids {
			p.Anchor = max(p.Anchor, uint32(u))
		}
	}
	pages := (len(r.uids) + q.PageSize - 1) / q.PageSize
	if r.more && len(r.uids) >= need {
		pages++ // the next page searches further
	}
	paginate(p, len(r.uids), q.Page, pages)
	if p.First == 0 {
		return p, nil
	}
	var err error
	p.Messages, err = c.rowsByUID(folder, r.uids[p.First-1:p.Last], rows)
	return p, err
}

// rowsByUID fetches the list rows of uids in the selected folder, in the
// order given, through the row cache (see cachedRows): UIDs and flags,
// then in full only what is not cached. Messages expunged meanwhile are
// left out.
func (c *imapConn) rowsByUID(folder string, uids []imap.UID, rows rowStore) ([]mailproxy.Summary, error) {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(u)
	}
	items := flagItems
	if rows.ok() {
		rows.rc.checkValidity(rows.u, c.selected, c.uidValidity)
	}
	if !rows.ok() || rows.rc.cold(rows.u, c.selected, c.uidValidity) {
		items = rowItems(false)
	}
	bufs, err := c.fetch(set, items)
	if err != nil {
		return nil, err
	}
	byUID := make(map[imap.UID]*imapclient.FetchMessageBuffer, len(bufs))
	for _, b := range bufs {
		byUID[b.UID] = b
	}
	msgs := make([]*imapclient.FetchMessageBuffer, 0, len(uids))
	for _, u := range uids {
		if b := byUID[u]; b != nil {
			msgs = append(msgs, b)
		}
	}
	out, err := c.cachedRows(msgs, false, rows)
	for i := range out {
		out[i].Folder = folder
	}
	return out, err
}

// hit is one result of an all-folders search, before its row is fetched.
type hit struct {
	folder string
	rank   int // the folder's place in the folder list
	uid    imap.UID
	date   time.Time
}

// searchAll is Search in every selectable folder (at most
// maxSearchFolders, in folder-list order): one SEARCH per folder, then the
// dates of each folder's newest matches up to the requested page (one
// small FETCH per folder) to merge them newest first, then the page's rows
// fetched folder by folder. Paging reaches the first maxMergedRows
// results; Total still counts them all.
func (c *imapConn) searchAll(current string, q mailproxy.SearchQuery, terms []string, store rowStore) (*mailproxy.MessagePage, error) {
	list, err := c.c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	var folders []mailproxy.Folder
	for _, l := range list {
		if f := folderFromList(l, false); !f.NoSelect {
			folders = append(folders, f)
		}
	}
	sortFolders(folders)
	p := &mailproxy.MessagePage{Folder: current, FolderDisplay: c.display(current), PageSize: q.PageSize, Query: q.Text, AllFolders: true}
	if len(folders) > maxSearchFolders {
		folders, p.Capped = folders[:maxSearchFolders], true
	}
	need := min(max(q.Page, 1)*q.PageSize, maxMergedRows)
	var hits []hit
	total := 0
	start := time.Now()
	for rank, f := range folders {
		left := 2*searchBudget - time.Since(start)
		if left < 100*time.Millisecond {
			p.Capped = true // out of time: the rest of the folders are not searched
			break
		}
		if err := c.sel(f.Name); err != nil {
			if errors.Is(err, mailproxy.ErrNotFound) {
				continue // vanished or not selectable after all
			}
			return nil, err
		}
		r, err := c.scan(terms, 0, need, min(left, searchBudget))
		if err != nil {
			var ierr *imap.Error
			if errors.As(err, &ierr) {
				continue // this folder refuses the search; the others still count
			}
			return nil, err
		}
		uids := r.uids
		p.Approx = p.Approx || r.approx
		p.More = p.More || r.more
		total += len(uids)
		top := uids[:min(len(uids), need)]
		if len(top) == 0 {
			continue
		}
		var set imap.UIDSet
		for _, u := range top {
			set.AddNum(u)
		}
		bufs, err := c.fetch(set, &imap.FetchOptions{UID: true, Envelope: true, InternalDate: true})
		if err != nil {
			return nil, err
		}
		for _, b := range bufs {
			hits = append(hits, hit{folder: f.Name, rank: rank, uid: b.UID, date: summaryOf(0, b).Date})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if c := b.date.Compare(a.date); c != 0 {
			return c
		}
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return int(int64(b.uid) - int64(a.uid))
	})
	pageable := min(total, maxMergedRows)
	if total > maxMergedRows {
		p.Capped = true
	}
	paginate(p, total, q.Page, (pageable+q.PageSize-1)/q.PageSize)
	if p.First == 0 || p.First > len(hits) {
		p.First, p.Last = 0, 0
		return p, nil
	}
	shown := hits[p.First-1 : min(p.Last, len(hits))]
	// Fetch the rows folder by folder, then put them in merged order.
	byFolder := map[string][]imap.UID{}
	var order []string
	for _, h := range shown {
		if _, ok := byFolder[h.folder]; !ok {
			order = append(order, h.folder)
		}
		byFolder[h.folder] = append(byFolder[h.folder], h.uid)
	}
	type key struct {
		folder string
		uid    imap.UID
	}
	rows := map[key]mailproxy.Summary{}
	for _, f := range order {
		if err := c.sel(f); err != nil {
			return nil, err
		}
		rs, err := c.rowsByUID(f, byFolder[f], store)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			_, uid, _ := parseMsgID(r.ID)
			rows[key{f, uid}] = r
		}
	}
	for _, h := range shown {
		if r, ok := rows[key{h.folder, h.uid}]; ok {
			p.Messages = append(p.Messages, r)
		}
	}
	p.Last = p.First + len(p.Messages) - 1
	return p, nil
}
