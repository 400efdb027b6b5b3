package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// ErrNoSession means the request carries no valid, unexpired session.
var ErrNoSession = errors.New("web: no session")

// Record is what the server-side store keeps for a session. Payload is
// sealed with the per-session key that only the browser's cookie holds.
type Record struct {
	Sealed     []byte    `json:"sealed"`
	Created    time.Time `json:"created"`
	LastSeen   time.Time `json:"last_seen"`
	Persistent bool      `json:"persistent"`
}

// Store keeps session records by id. Implementations must be safe for
// concurrent use, must treat a missing or expired record as ErrNoSession,
// and should drop records once their ttl has passed.
type Store interface {
	Get(ctx context.Context, id string) (*Record, error)
	Put(ctx context.Context, id string, rec *Record, ttl time.Duration) error
	Delete(ctx context.Context, id string) error
}

// SessionOptions configure a SessionManager.
type SessionOptions struct {
	// Secrets are the operator's cookie secrets (each at least 32
	// characters). The first signs new cookies; all are accepted.
	Secrets []string
	Store   Store
	Idle    time.Duration // idle timeout (default 30m)
	Max     time.Duration // absolute lifetime (default 7 days)
	// Path fixes the cookie path. Empty (the default) means each
	// request's Prefix (the base path, after a trusted proxy's
	// X-Forwarded-Prefix), or "/" when that is empty.
	Path string
	Name string // cookie name, default "thumbmail"
	Now  func() time.Time
}

// SessionManager ties the browser cookie (session id + per-session key,
// signed and encrypted with the operator's keys) to the server-side record
// (the payload sealed with the per-session key). Neither half alone
// reveals the payload.
type SessionManager struct {
	cookies   *sessions.CookieStore
	opts      SessionOptions
	csrfKeys  [][]byte // per secret, for CSRF tokens
	nonceKeys [][]byte // per secret, for signing CSRF cookies (nonces)
	decoded   cookieCache
}

// Session is a loaded, valid session.
type Session struct {
	ID      string
	Payload []byte
	Created time.Time
}

// MinSecretLen is the shortest accepted cookie secret.
const MinSecretLen = 32

// NewSessionManager checks the secrets and derives the cookie keys.
func NewSessionManager(opts SessionOptions) (*SessionManager, error) {
	if len(opts.Secrets) == 0 {
		return nil, errors.New("no session secret")
	}
	if opts.Store == nil {
		return nil, errors.New("no session store")
	}
	var pairs, csrfKeys, nonceKeys [][]byte
	for i, s := range opts.Secrets {
		if len(s) < MinSecretLen {
			return nil, fmt.Errorf("session key %d is %d characters; at least %d are needed", i+1, len(s), MinSecretLen)
		}
		hashKey, err := hkdf.Key(sha256.New, []byte(s), nil, "thumbmail cookie signing", 64)
		if err != nil {
			return nil, err
		}
		blockKey, err := hkdf.Key(sha256.New, []byte(s), nil, "thumbmail cookie encryption", 32)
		if err != nil {
			return nil, err
		}
		csrfKey, err := hkdf.Key(sha256.New, []byte(s), nil, "thumbmail csrf", 32)
		if err != nil {
			return nil, err
		}
		nonceKey, err := hkdf.Key(sha256.New, []byte(s), nil, "thumbmail csrf nonce", 32)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, hashKey, blockKey)
		csrfKeys = append(csrfKeys, csrfKey)
		nonceKeys = append(nonceKeys, nonceKey)
	}
	if opts.Idle <= 0 {
		opts.Idle = 30 * time.Minute
	}
	if opts.Max <= 0 {
		opts.Max = 7 * 24 * time.Hour
	}
	if opts.Name == "" {
		opts.Name = "thumbmail"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cs := sessions.NewCookieStore(pairs...)
	cs.MaxAge(int(opts.Max / time.Second))
	for _, c := range cs.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxLength(4096)
		}
	}
	return &SessionManager{cookies: cs, opts: opts, csrfKeys: csrfKeys, nonceKeys: nonceKeys}, nil
}

// NewSessionID returns a fresh random session id.
func NewSessionID() string { return randomString(32) }

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// storeKey is the id under which the store keeps a session: a hash, so
// that reading the store does not yield cookie values.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte("thumbmail session " + id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Start creates a session with id (from NewSessionID; a new one at every
// login, never one the browser brought), seals payload into the store and
// sets the cookie. A persistent session's cookie outlives the browser
// ("keep me signed in"); otherwise it is a browser-session cookie.
func (m *SessionManager) Start(w http.ResponseWriter, r *http.Request, id string, payload []byte, persistent bool) error {
	key := make([]byte, 32)
	rand.Read(key)
	sealed, err := seal(key, []byte(id), payload)
	if err != nil {
		return err
	}
	now := m.opts.Now()
	rec := &Record{Sealed: sealed, Created: now, LastSeen: now, Persistent: persistent}
	if err := m.opts.Store.Put(r.Context(), storeKey(id), rec, m.opts.Idle); err != nil {
		return fmt.Errorf("saving session: %w", err)
	}
	s := sessions.NewSession(m.cookies, m.opts.Name)
	s.Values["id"] = id
	s.Values["k"] = key
	s.Options = m.cookieOptions(r, persistent)
	return m.cookies.Save(r, w, s)
}

func (m *SessionManager) cookieOptions(r *http.Request, persistent bool) *sessions.Options {
	o := &sessions.Options{
		Path:     m.cookiePath(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   IsHTTPS(r),
	}
	if persistent {
		o.MaxAge = int(m.opts.Max / time.Second)
	}
	return o
}

// cookiePath is the path of this request's cookies: the fixed Path, or
// the request's Prefix. Both the session and the CSRF cookie use it, so
// they follow -base-path and X-Forwarded-Prefix alike.
func (m *SessionManager) cookiePath(r *http.Request) string {
	if m.opts.Path != "" {
		return m.opts.Path
	}
	if p := Prefix(r); p != "" {
		return p
	}
	return "/"
}

// Load returns the request's session, enforcing idle and absolute expiry
// server-side and refreshing the idle timer. ErrNoSession when there is
// none or it has ended.
func (m *SessionManager) Load(r *http.Request) (*Session, error) {
	id, key, ok := m.cookie(r)
	if !ok {
		return nil, ErrNoSession
	}
	rec, err := m.opts.Store.Get(r.Context(), storeKey(id))
	if err != nil {
		return nil, err
	}
	now := m.opts.Now()
	if now.Sub(rec.LastSeen) > m.opts.Idle || now.Sub(rec.Created) > m.opts.Max {
		m.opts.Store.Delete(r.Context(), storeKey(id))
		return nil, ErrNoSession
	}
	payload, err := open(key, []byte(id), rec.Sealed)
	if err != nil {
		return nil, ErrNoSession
	}
	// Refresh the idle timer, at most every few seconds per session.
	if now.Sub(rec.LastSeen) > 5*time.Second {
		rec.LastSeen = now
		ttl := min(m.opts.Idle, m.opts.Max-now.Sub(rec.Created))
		if err := m.opts.Store.Put(r.Context(), storeKey(id), rec, ttl); err != nil {
			return nil, fmt.Errorf("refreshing session: %w", err)
		}
	}
	return &Session{ID: id, Payload: payload, Created: rec.Created}, nil
}

// ID returns the session id the request's cookie names, valid or not, so
// that logout can clean up after an expired session too.
func (m *SessionManager) ID(r *http.Request) (string, bool) {
	id, _, ok := m.cookie(r)
	return id, ok
}

func (m *SessionManager) cookie(r *http.Request) (id string, key []byte, ok bool) {
	c, err := r.Cookie(m.opts.Name)
	if err != nil {
		return "", nil, false
	}
	now := time.Now()
	if id, key, ok := m.decoded.get(c.Value, now); ok {
		return id, key, true
	}
	values := map[any]any{}
	if err := securecookie.DecodeMulti(m.opts.Name, c.Value, &values, m.cookies.Codecs...); err != nil {
		return "", nil, false
	}
	id, _ = values["id"].(string)
	key, _ = values["k"].([]byte)
	if id == "" || len(key) != 32 {
		return "", nil, false
	}
	m.decoded.put(c.Value, id, key, now)
	return id, key, true
}

// End deletes the server record and expires the cookie.
func (m *SessionManager) End(w http.ResponseWriter, r *http.Request) error {
	var err error
	if id, ok := m.ID(r); ok {
		err = m.opts.Store.Delete(r.Context(), storeKey(id))
	}
	http.SetCookie(w, &http.Cookie{
		Name: m.opts.Name, Value: "", Path: m.cookiePath(r), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: IsHTTPS(r),
	})
	return err
}

// seal encrypts payload with AES-256-GCM under key, bound to ad.
func seal(key, ad, payload []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return gcm.Seal(nonce, nonce, payload, ad), nil
}

func open(key, ad, sealed []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("sealed payload too short")
	}
	return gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], ad)
}
