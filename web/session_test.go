package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLocalPath(t *testing.T) {
	tests := map[string]bool{
		"/":                   true,
		"/f/INBOX":            true,
		"/f/INBOX?page=2":     true,
		"":                    false,
		"//evil.example":      false,
		"/\\evil.example":     false,
		"https://evil":        false,
		"javascript:alert(1)": false,
		"f/INBOX":             false,
		"/a\r\nSet-Cookie: x": false,
		"/a\\b":               false,
		"/%2F/evil.example":   false,
		"/%2f%2fevil.example": false,
		"/%5Cevil.example":    false,
		"/%5c/evil.example":   false,
		"/%252F/evil.example": false,
		"/a%0D%0ALocation:x":  false,
		"/a%00":               false,
		"/\t/evil.example":    false,
		"/\x00/evil":          false,
		"/\u2028x":            false,
		"/f/~SU5CT1g?page=2":  true,
		"/f/INBOX/1-2?p=3":    true,
	}
	for in, want := range tests {
		if got := LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %v, want %v", in, got, want)
		}
	}
}

func newManager(t *testing.T, secrets []string, store Store, now *time.Time) *SessionManager {
	t.Helper()
	m, err := NewSessionManager(SessionOptions{Secrets: secrets, Store: store, Idle: time.Hour, Max: 4 * time.Hour, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// roundTrip starts a session and returns a request carrying its cookie.
func roundTrip(t *testing.T, m *SessionManager, payload string) (*http.Request, string) {
	w := httptest.NewRecorder()
	id := NewSessionID()
	if err := m.Start(w, httptest.NewRequest("POST", "/login", nil), id, []byte(payload), false); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return r, id
}

func TestSessionSplitKey(t *testing.T) {
	now := time.Now()
	store := NewMemoryStore()
	m := newManager(t, []string{strings.Repeat("a", 32)}, store, &now)
	r, id := roundTrip(t, m, "secret-password")
	s, err := m.Load(r)
	if err != nil || string(s.Payload) != "secret-password" || s.ID != id {
		t.Fatalf("Load() = %v, %v", s, err)
	}
	// The store alone does not reveal the payload.
	for k, rec := range store.records {
		if strings.Contains(string(rec.rec.Sealed), "secret-password") || k == id {
			t.Errorf("store holds the payload or the raw id in clear")
		}
	}
	// The cookie alone neither: it is encrypted.
	for _, c := range r.Cookies() {
		if strings.Contains(c.Value, id) {
			t.Errorf("cookie carries the session id in clear")
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	now := time.Now()
	m := newManager(t, []string{strings.Repeat("a", 32)}, NewMemoryStore(), &now)
	r, _ := roundTrip(t, m, "p")
	now = now.Add(59 * time.Minute)
	if _, err := m.Load(r); err != nil {
		t.Fatalf("Load() within idle = %v", err)
	}
	now = now.Add(61 * time.Minute)
	if _, err := m.Load(r); err != ErrNoSession {
		t.Errorf("Load() after idle = %v, want ErrNoSession", err)
	}
	// Absolute: stay active, but 4h after start it ends.
	r, _ = roundTrip(t, m, "p")
	for i := 0; i < 7; i++ {
		now = now.Add(30 * time.Minute)
		if _, err := m.Load(r); err != nil {
			t.Fatalf("Load() at %d×30m = %v", i+1, err)
		}
	}
	now = now.Add(31 * time.Minute)
	if _, err := m.Load(r); err != ErrNoSession {
		t.Errorf("Load() after max lifetime = %v, want ErrNoSession", err)
	}
}

func TestSessionKeyRotation(t *testing.T) {
	now := time.Now()
	store := NewMemoryStore()
	oldKey, newKey := strings.Repeat("o", 32), strings.Repeat("n", 32)
	old := newManager(t, []string{oldKey}, store, &now)
	r, _ := roundTrip(t, old, "p")
	rotated := newManager(t, []string{newKey, oldKey}, store, &now)
	if _, err := rotated.Load(r); err != nil {
		t.Errorf("cookie signed with the old key rejected after rotation: %v", err)
	}
	dropped := newManager(t, []string{newKey}, store, &now)
	if _, err := dropped.Load(r); err != ErrNoSession {
		t.Errorf("cookie signed with a removed key accepted: %v", err)
	}
	if _, err := NewSessionManager(SessionOptions{Secrets: []string{"short"}, Store: store}); err == nil {
		t.Errorf("a short secret was accepted")
	}
}

func TestSessionEnd(t *testing.T) {
	now := time.Now()
	store := NewMemoryStore()
	m := newManager(t, []string{strings.Repeat("a", 32)}, store, &now)
	r, _ := roundTrip(t, m, "p")
	w := httptest.NewRecorder()
	if err := m.End(w, r); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 {
		t.Errorf("End() left the record")
	}
	if _, err := m.Load(r); err != ErrNoSession {
		t.Errorf("Load() after End() = %v", err)
	}
	if sc := w.Header().Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("End() did not expire the cookie: %q", sc)
	}
}
