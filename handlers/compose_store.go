package handlers

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// composeStore keeps, per session and per compose form (its token), the
// files attached so far and whether the form was already sent, so a
// failed send loses no attachment and a double tap on Send sends once.
// It also remembers each session's display name. It lives in memory,
// bounded in bytes; entries are forgotten after ttl without use.
type composeStore struct {
	mu       sync.Mutex
	maxBytes int64 // all attachments of all sessions
	used     int64
	ttl      time.Duration
	now      func() time.Time
	forms    map[string]*composeForm // session id + "/" + token
	names    map[string]identity     // session id → display name, signature
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
}

// upload is one attached file.
type upload struct {
	name  string
	ctype string
	data  []byte
}

// errStoreFull means the attachment store is out of room.
var errStoreFull = errors.New("attachment store full")

func newComposeStore(maxBytes int64, ttl time.Duration, now func() time.Time) *composeStore {
	return &composeStore{maxBytes: maxBytes, ttl: ttl, now: now, forms: map[string]*composeForm{}, names: map[string]identity{}}
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
		f = &composeForm{}
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
			for _, u := range f.files {
				s.used -= int64(len(u.data))
			}
			delete(s.forms, k)
		}
	}
	for k, n := range s.names {
		if n.touched.Before(cut) {
			delete(s.names, k)
		}
	}
}

// attach adds a file to f if the form stays within perForm bytes and the
// store within its bound.
func (s *composeStore) attach(f *composeForm, u upload, perForm int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	for _, x := range f.files {
		total += int64(len(x.data))
	}
	if total+int64(len(u.data)) > perForm {
		return errTooBig
	}
	if s.used+int64(len(u.data)) > s.maxBytes {
		return errStoreFull
	}
	s.used += int64(len(u.data))
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
	s.used -= int64(len(f.files[i].data))
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
	for _, u := range f.files {
		s.used -= int64(len(u.data))
	}
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

// limitBody bounds every request body to the upload limit (plus room for
// the form's text) before the CSRF check parses it, and answers a body
// announced as larger with a page that says so.
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := h.cfg.MaxUpload + 1<<20
		if r.ContentLength > limit {
			p := templates.ErrorPage{Status: http.StatusRequestEntityTooLarge, Heading: "Attachments too big",
				Message: "What you tried to send is larger than " + templates.FormatSize(h.cfg.MaxUpload) + ", the limit here. Nothing was sent. Go back and attach fewer or smaller files."}
			w.Header().Set("Connection", "close")
			web.Render(w, r, p.Status, templates.Error(h.base(r, p.Heading), p))
			return
		}
		if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				// Uploads from a phone may take longer than the server's
				// ReadTimeout: allow a slow 64 KB/s for the limit.
				http.NewResponseController(w).SetReadDeadline(time.Now().Add(2*time.Minute + time.Duration(limit/(64<<10))*time.Second))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// keepText answers a compose or quick reply POST whose session has ended
// with a page that shows what was typed, so it is not lost; with a
// session it goes on to next.
func (h *Handler) keepText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.cfg.Sessions.Load(r); err == nil {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			web.Redirect(w, r, h.url(r, "/login"))
			return
		}
		v := r.PostFormValue
		var text strings.Builder
		for _, f := range []struct{ label, key string }{{"To", "to"}, {"Cc", "cc"}, {"Bcc", "bcc"}, {"Subject", "subject"}} {
			if s := v(f.key); s != "" {
				text.WriteString(f.label + ": " + s + "\n")
			}
		}
		if text.Len() > 0 {
			text.WriteString("\n")
		}
		body := v("body")
		if body == "" {
			body = v("canned")
		}
		if body == "" {
			body = v("text")
		}
		text.WriteString(body)
		web.Render(w, r, http.StatusUnauthorized, templates.ComposeExpired(h.base(r, "Session ended"), text.String()))
	})
}
