package imapmail

import (
	"container/list"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// The row cache holds what never changes for a UID in a UIDVALIDITY (RFC
// 9051 §2.3.1.1: a UID is never reused within one UIDVALIDITY, and a
// message's envelope, size, date and body are immutable; only its flags
// change): the immutable part of a list row (sender, subject, date, size,
// attachment mark, preview) and, for the last few messages opened, what
// opening one needs (envelope fields, the plan read from BODYSTRUCTURE and
// the decoded text of the part shown). Flags are never cached: every page
// asks the server for them.
//
// Entries are keyed by server, user, mailbox, UIDVALIDITY and UID, shared
// by all of one user's sessions on this instance, bounded in bytes over
// all users (least recently used out first), dropped for a mailbox when
// its UIDVALIDITY changes and for a user when their last session signs out.
// Message bodies are never held beyond the preview, except the decoded
// text of at most openedPerUser opened messages per user.

// defaultRowCacheBytes bounds the whole cache when PoolOptions says
// nothing: about 80,000 rows.
const defaultRowCacheBytes = 32 << 20

// openedPerUser is how many opened messages' views one user keeps.
const openedPerUser = 8

// maxCachedText bounds the decoded text kept for one opened message;
// longer ones are decoded again on every view.
const maxCachedText = 256 << 10

// cachedRow is the immutable part of a list row.
type cachedRow struct {
	from       mailproxy.Address
	subject    string
	date       time.Time
	size       int64
	attachment bool
	preview    string
	// ref is where the preview comes from; pending is set while the
	// preview is still to be fetched (its fetch ran out of budget).
	ref     previewRef
	hasRef  bool
	pending bool
}

func (r *cachedRow) bytes() int64 {
	return 160 + int64(len(r.from.Name)+len(r.from.Email)+len(r.subject)+len(r.preview)+len(r.ref.section)+len(r.ref.charset)+len(r.ref.encoding))
}

// summary is the row with flags from the server applied.
func (r *cachedRow) summary(validity uint32, uid imap.UID, flags []imap.Flag) mailproxy.Summary {
	s := mailproxy.Summary{ID: msgID(validity, uid), From: r.from, Subject: r.subject, Date: r.date, Size: r.size, Preview: r.preview, Attachment: r.attachment}
	applySummaryFlags(&s, flags)
	return s
}

func applySummaryFlags(s *mailproxy.Summary, flags []imap.Flag) {
	s.Seen, s.Flagged, s.Answered = systemFlags(flags)
	s.Deleted = false
	for _, f := range flags {
		if strings.EqualFold(string(f), string(imap.FlagDeleted)) {
			s.Deleted = true
		}
	}
}

// cachedMessage is what opening a message needs besides its flags: the
// message without flags, the body plan and the decoded text.
type cachedMessage struct {
	m         mailproxy.Message // flags, body, niceties unset
	plan      bodyPlan
	text      string // decoded body text (before HTML sanitizing)
	problems  []string
	truncated bool
	hasText   bool
}

func (m *cachedMessage) bytes() int64 {
	n := int64(512 + len(m.m.Subject) + len(m.m.MessageID) + len(m.m.InReplyTo) + len(m.text))
	for _, l := range [][]mailproxy.Address{m.m.From, m.m.ReplyTo, m.m.To, m.m.Cc, m.m.Bcc} {
		for _, a := range l {
			n += 48 + int64(len(a.Name)+len(a.Email))
		}
	}
	for _, r := range m.m.References {
		n += 16 + int64(len(r))
	}
	for _, a := range m.plan.atts {
		n += 160 + int64(len(a.Name)+len(a.Type)+len(a.CID)+len(a.Part))
	}
	for _, p := range m.problems {
		n += 16 + int64(len(p))
	}
	return n
}

type cacheKey struct {
	mailbox  string
	validity uint32
	uid      imap.UID
	opened   bool // a message view, not a row
}

type cacheItem struct {
	user *userCache
	key  cacheKey
	size int64
	row  *cachedRow
	msg  *cachedMessage
}

// userCache is one user's part of the cache (on one server).
type userCache struct {
	name     string // cache key: server and UserKey
	items    map[cacheKey]*list.Element
	rowsIn   map[string]int    // mailbox → rows held
	validity map[string]uint32 // mailbox → the UIDVALIDITY its entries belong to
	opened   []cacheKey        // message views, oldest first
}

// rowCache is the Pool's cache, safe for concurrent use.
type rowCache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	lru   list.List // of *cacheItem, most recently used first
	users map[string]*userCache
}

func newRowCache(max int64) *rowCache {
	if max <= 0 {
		max = defaultRowCacheBytes
	}
	return &rowCache{max: max, users: make(map[string]*userCache)}
}

// cacheUserKey names a user's part of the cache: the server and the
// user's UserKey, so that two servers' "alice" never share rows.
func cacheUserKey(server, user string) string {
	return mailproxy.UserKey(user) + "\x00" + server
}

// userCache returns the named user's part, made on first use.
func (rc *rowCache) user(name string) *userCache {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	u := rc.users[name]
	if u == nil {
		u = &userCache{name: name, items: make(map[cacheKey]*list.Element), rowsIn: make(map[string]int), validity: make(map[string]uint32)}
		rc.users[name] = u
	}
	return u
}

// checkValidity drops the mailbox's entries when they belong to another
// UIDVALIDITY than validity (RFC 9051 §2.3.1.1: the UIDs were reassigned).
func (rc *rowCache) checkValidity(u *userCache, mailbox string, validity uint32) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	old, ok := u.validity[mailbox]
	if ok && old == validity {
		return
	}
	u.validity[mailbox] = validity
	if !ok {
		return
	}
	for k, el := range u.items {
		if k.mailbox == mailbox && k.validity != validity {
			rc.removeLocked(el)
		}
	}
}

// cold tells whether no row of mailbox (in UIDVALIDITY validity) is
// cached: a page of it is fetched in full at once.
func (rc *rowCache) cold(u *userCache, mailbox string, validity uint32) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	v, ok := u.validity[mailbox]
	return !ok || v != validity || u.rowsIn[mailbox] == 0
}

// rows looks up the rows of uids; the result holds nil where a row is
// not cached.
func (rc *rowCache) rows(u *userCache, mailbox string, validity uint32, uids []imap.UID) []*cachedRow {
	out := make([]*cachedRow, len(uids))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, uid := range uids {
		if el, ok := u.items[cacheKey{mailbox: mailbox, validity: validity, uid: uid}]; ok {
			rc.lru.MoveToFront(el)
			out[i] = el.Value.(*cacheItem).row
		}
	}
	return out
}

// putRow stores a row. Rows are never changed once stored: a row whose
// preview arrives later is stored anew.
func (rc *rowCache) putRow(u *userCache, mailbox string, validity uint32, uid imap.UID, r *cachedRow) {
	rc.put(u, &cacheItem{key: cacheKey{mailbox: mailbox, validity: validity, uid: uid}, size: r.bytes(), row: r})
}

// message looks up an opened message's view.
func (rc *rowCache) message(u *userCache, mailbox string, validity uint32, uid imap.UID) *cachedMessage {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if el, ok := u.items[cacheKey{mailbox: mailbox, validity: validity, uid: uid, opened: true}]; ok {
		rc.lru.MoveToFront(el)
		return el.Value.(*cacheItem).msg
	}
	return nil
}

// putMessage stores an opened message's view, keeping the user's last
// openedPerUser.
func (rc *rowCache) putMessage(u *userCache, mailbox string, validity uint32, uid imap.UID, m *cachedMessage) {
	k := cacheKey{mailbox: mailbox, validity: validity, uid: uid, opened: true}
	rc.put(u, &cacheItem{key: k, size: m.bytes(), msg: m})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for len(u.opened) > openedPerUser {
		if el, ok := u.items[u.opened[0]]; ok {
			rc.removeLocked(el) // also trims u.opened
		} else {
			u.opened = u.opened[1:]
		}
	}
}

func (rc *rowCache) put(u *userCache, it *cacheItem) {
	it.user = u
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.users[u.name] != u {
		return // dropped meanwhile (signed out): keep nothing
	}
	if v, ok := u.validity[it.key.mailbox]; ok && v != it.key.validity {
		return // stale: the mailbox was reset meanwhile
	}
	if it.size > rc.max/4 {
		return
	}
	if el, ok := u.items[it.key]; ok {
		rc.removeLocked(el)
	}
	u.items[it.key] = rc.lru.PushFront(it)
	if it.key.opened {
		u.opened = append(u.opened, it.key)
	} else {
		u.rowsIn[it.key.mailbox]++
	}
	rc.used += it.size
	for rc.used > rc.max {
		rc.removeLocked(rc.lru.Back())
	}
}

func (rc *rowCache) removeLocked(el *list.Element) {
	it := el.Value.(*cacheItem)
	rc.lru.Remove(el)
	rc.used -= it.size
	delete(it.user.items, it.key)
	if !it.key.opened {
		if it.user.rowsIn[it.key.mailbox]--; it.user.rowsIn[it.key.mailbox] <= 0 {
			delete(it.user.rowsIn, it.key.mailbox)
		}
	}
	if it.key.opened {
		for i, k := range it.user.opened {
			if k == it.key {
				it.user.opened = append(it.user.opened[:i:i], it.user.opened[i+1:]...)
				break
			}
		}
	}
}

// dropUser forgets everything of one account (a cacheUserKey: the name on
// its server; the same name on another server is another account).
func (rc *rowCache) dropUser(name string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if u := rc.users[name]; u != nil {
		for _, el := range u.items {
			rc.removeLocked(el)
		}
		delete(rc.users, name)
	}
}

// stats reports the entries and bytes held, for tests.
func (rc *rowCache) stats() (entries int, bytes int64) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.lru.Len(), rc.used
}

// forgetRowsIfLast drops an account's cached rows (rows is its
// cacheUserKey) when none of its sessions is left on this instance (the
// last one signed out or was forgotten).
func (p *Pool) forgetRowsIfLast(rows string) {
	p.mu.Lock()
	for _, e := range p.entries {
		if e.rows == rows {
			p.mu.Unlock()
			return
		}
	}
	p.mu.Unlock()
	p.rows.dropUser(rows)
}

// rowsOfSession is the session's user's part of the row cache.
func (s *imapSession) rowsOfSession() *userCache {
	return s.e.pool.rows.user(s.e.rows)
}
