package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/a-h/templ"
)

// Render writes a page with status. The page is rendered to a buffer
// first, so a failing template never leaves half a page.
func Render(w http.ResponseWriter, r *http.Request, status int, page templ.Component) {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := page.Render(r.Context(), buf); err != nil {
		slog.ErrorContext(r.Context(), "rendering page", "path", r.URL.Path, "err", err)
		http.Error(w, "Internal error. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderBuffers keep the pages' buffers between requests: a list page
// grew a fresh one through ten sizes to 32 KB each time.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putRenderBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // a huge page (a long message): let it go
	}
	b.Reset()
	renderBuffers.Put(b)
}

// Redirect answers with 303 See Other to a local URL (already carrying the
// base path).
func Redirect(w http.ResponseWriter, r *http.Request, url string) {
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// LocalPath tells whether next is safe to redirect to after sign-in: a
// path on this site ("/..."), never "//host", "/\host" or a scheme, and
// without backslashes, controls or percent-encoded slashes, backslashes
// or controls ("/%2F/host", "/%5Chost", "%0D%0A") that a proxy or browser
// could decode into one of those.
func LocalPath(next string) bool {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return false
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return false
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			return false
		}
	}
	lower := strings.ToLower(next)
	for _, enc := range []string{"%2f", "%5c", "%0", "%1", "%7f", "%25"} {
		if strings.Contains(lower, enc) {
			return false
		}
	}
	return true
}

// LogError records the real cause of a failed request; pages only ever
// show safe text.
func LogError(ctx context.Context, r *http.Request, msg string, err error) {
	slog.ErrorContext(ctx, msg, "path", r.URL.Path, "ip", ClientIP(r), "err", err)
}
