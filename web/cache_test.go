package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSecurityHeadersNoStoreEverywhere: every response starts as
// no-store, whatever its path: a folder called "static" holds mail like
// any other. Only a handler that serves an immutable asset replaces it.
func TestSecurityHeadersNoStoreEverywhere(t *testing.T) {
	page := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("mail"))
	}))
	for _, p := range []string{"/", "/f/INBOX", "/f/static", "/f/static/1-2", "/f/static/1-2/part/2",
		"/mail/f/static/1-2", "/f/a%2Fstatic%2Fb/1-2", "/static/", "/static/style.css", "/mail/static/x.css", "/x/static/../static/y"} {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.org"+p, nil))
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p, got)
		}
	}
	asset := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Write([]byte("css"))
	}))
	rec := httptest.NewRecorder()
	asset.ServeHTTP(rec, httptest.NewRequest("GET", "/mail/static/style.0123.css", nil))
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("asset: Cache-Control %q", got)
	}
}
