package handlers

import (
	"errors"
	"sync"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/web"
)

// composeStore keeps, per session and per compose form (its token), the
// files attached so far and whether the form was already sent, so a
// failed send loses no attachment and a double tap on Send sends once.
// It also remembers each session's display name. It lives in memory,
// bounded in bytes; entries are forgotten after ttl without use.
//
// Every user has their own share of it (userShare of the upload limit),
// counted per session and per user name (in lower case) over all their
// sessions, so one user cannot fill it for everybody.
type composeStore struct {
	mu       sync.Mutex
	maxBytes int64 // all attachments of all sessions
	used     int64
	usedBy   map[string]int64 // per owner: "s/" + session id, "u/" + user name
	ttl      time.Duration
	now      func() time.Time
	forms    map[string]*composeForm // session id + "/" + token
	names    map[string]identity     // session id → display name, signature
	users    map[string]sessionUser  // session id → its user (setUser)
}

// sessionUser is the user a session belongs to, in lower case.
type sessionUser struct {
	name    string
	touched time.Time
}

// identity is what a user set for their own messages, for the session.
type identity struct {
	name      string
	signature string
	sigSet    bool // signature was set (even to nothing): it replaces the operator's
	touched   time.Time
}

// composeForm is the server-side state of one compose form.
type composeForm struct {
	send sync.Mutex // held while sending, so a second tap waits and then sees sent
	sent bool
	// savedURL is where "Save draft" of this form went (the saved
	// draft's page): a second tap goes there too instead of saving twice.
	savedURL string
	// lastEnd and lastProblem are when the last failed send of this form
	// ended and why: a tap that was waiting for it gets its answer
	// instead of sending again (the failure may be "unconfirmed").
	lastEnd     time.Time
	lastProblem string
	files       []upload
	touched     time.Time
	// sid and user (lower case, "" when unknown) are charged for the
	// files; user is fixed while there are files.
	sid, user string
}

// upload is one attached file.
type upload struct {
	name  string
	ctype string
	data  []byte
}

// errStoreFull means the attachment store is out of room.
var errStoreFull = errors.New("attachment store full")

// errShareFull means the user (or session) has used their share of the
// attachment store.
var errShareFull = errors.New("attachment share used up")

// userShare is the most one user (and one session) may keep attached
// over all their forms, given the upload limit of one form: the limit
// and a quarter more, so a second form can be started while one is full.
func userShare(perForm int64) int64 { return perForm + perForm/4 }

func newComposeStore(maxBytes int64, ttl time.Duration, now func() time.Time) *composeStore {
	return &composeStore{maxBytes: maxBytes, ttl: ttl, now: now, forms: map[string]*composeForm{}, names: map[string]identity{},
		usedBy: map[string]int64{}, users: map[string]sessionUser{}}
}

// maxUsers bounds the sessions whose user is remembered; past it, new
// sessions are counted per session only until the sweep makes room.
const maxUsers = 100000

// setUser records that session sid belongs to user (compared in lower
// case), so its attachments count against that user's share too.
func (s *composeStore) setUser(sid, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[sid]; !ok && len(s.users) >= maxUsers {
		return
	}
	s.users[sid] = sessionUser{name: mailproxy.UserKey(user), touched: s.now()}
}

// endSession forgets what session sid kept (signing out): its forms and
// their attachments, freeing its share and the user's at once.
func (s *composeStore) endSession(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, f := range s.forms {
		if f.sid == sid {
			s.chargeLocked(f, -f.sizeLocked())
			delete(s.forms, k)
		}
	}
	delete(s.names, sid)
	delete(s.users, sid)
}

// chargeLocked adds n bytes (or frees, n < 0) to the store and to f's
// owners.
func (s *composeStore) chargeLocked(f *composeForm, n int64) {
	s.used += n
	for _, k := range f.owners() {
		if s.usedBy[k] += n; s.usedBy[k] <= 0 {
			delete(s.usedBy, k)
		}
	}
}

// owners are the usedBy keys f is charged to.
func (f *composeForm) owners() []string {
	if f.user == "" {
		return []string{"s/" + f.sid}
	}
	return []string{"s/" + f.sid, "u/" + f.user}
}

// newComposeToken makes the token of a new compose form.
func newComposeToken() string { return web.NewSessionID()[:22] }

// validToken accepts what newComposeToken makes.
func validToken(t string) bool {
	if len(t) != 22 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// form returns (making it) the state of session sid's form token.
func (s *composeStore) form(sid, token string) *composeForm {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	k := sid + "/" + token
	f := s.forms[k]
	if f == nil {
		if len(s.forms) >= maxForms {
			s.dropEmptyLocked()
		}
		f = &composeForm{sid: sid}
		s.forms[k] = f
	}
	f.touched = s.now()
	return f
}

// maxForms bounds the forms remembered, for all sessions.
const maxForms = 20000

// dropEmptyLocked forgets the forms without attachments (a sent form
// then may be sent again by a very late second tap: better than growing
// without bound).
func (s *composeStore) dropEmptyLocked() {
	for k, f := range s.forms {
		if len(f.files) == 0 {
			delete(s.forms, k)
		}
	}
}

// sweepLocked forgets forms and names not used within ttl.
func (s *composeStore) sweepLocked() {
	cut := s.now().Add(-s.ttl)
	for k, f := range s.forms {
		if f.touched.Before(cut) {
			s.chargeLocked(f, -f.sizeLocked())
			delete(s.forms, k)
		}
	}
	for k, n := range s.names {
		if n.touched.Before(cut) {
			delete(s.names, k)
		}
	}
	for k, u := range s.users {
		if u.touched.Before(cut) {
			delete(s.users, k)
		}
	}
}

// sizeLocked is the size of f's files.
func (f *composeForm) sizeLocked() int64 {
	var n int64
	for _, u := range f.files {
		n += int64(len(u.data))
	}
	return n
}

// attach adds a file to f if the form stays within perForm bytes, its
// session and user within their share (userShare) and the store within
// its bound.
func (s *composeStore) attach(f *composeForm, u upload, perForm int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int64(len(u.data))
	if f.sizeLocked()+n > perForm {
		return errTooBig
	}
	if len(f.files) == 0 {
		f.user = s.users[f.sid].name
	}
	for _, k := range f.owners() {
		if s.usedBy[k]+n > userShare(perForm) {
			return errShareFull
		}
	}
	if s.used+n > s.maxBytes {
		return errStoreFull
	}
	s.chargeLocked(f, n)
	f.files = append(f.files, u)
	return nil
}

// errTooBig means the form's attachments would pass the upload limit.
var errTooBig = errors.New("attachments too big")

// remove drops file i of f.
func (s *composeStore) remove(f *composeForm, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(f.files) {
		return
	}
	s.chargeLocked(f, -int64(len(f.files[i].data)))
	f.files = append(f.files[:i:i], f.files[i+1:]...)
}

// files returns a copy of f's file list.
func (s *composeStore) files(f *composeForm) []upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]upload(nil), f.files...)
}

// done marks f sent and frees its files.
func (s *composeStore) done(f *composeForm) {
	s.saved(f, "")
	f.sent = true
}

// saved frees f's files once saved as a draft at url (its page).
func (s *composeStore) saved(f *composeForm, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chargeLocked(f, -f.sizeLocked())
	f.files = nil
	f.savedURL = url
}

// identity is the session's display name and signature (zero when not
// set).
func (s *composeStore) identity(sid string) identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.names[sid]
	if !ok {
		return identity{}
	}
	n.touched = s.now()
	s.names[sid] = n
	return n
}

// setIdentity remembers the session's display name and signature.
func (s *composeStore) setIdentity(sid string, id identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id.touched = s.now()
	s.names[sid] = id
}
