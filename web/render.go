package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/a-h/templ"
)

// Render writes a page with status. The page is rendered to a buffer
// first, so a failing template never leaves half a page.
func Render(w http.ResponseWriter, r *http.Request, status int, page templ.Component) {
	var buf bytes.Buffer
	if err := page.Render(r.Context(), &buf); err != nil {
		slog.ErrorContext(r.Context(), "rendering page", "path", r.URL.Path, "err", err)
		http.Error(w, "Internal error. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Redirect answers with 303 See Other to a local URL (already carrying the
// base path).
func Redirect(w http.ResponseWriter, r *http.Request, url string) {
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// LocalPath tells whether next is safe to redirect to after sign-in: a
// path on this site ("/..."), never "//host", "/\host" or a scheme.
func LocalPath(next string) bool {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return false
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return false
	}
	return !strings.ContainsAny(next, "\\\r\n\t\x00")
}

// LogError records the real cause of a failed request; pages only ever
// show safe text.
func LogError(ctx context.Context, r *http.Request, msg string, err error) {
	slog.ErrorContext(ctx, msg, "path", r.URL.Path, "ip", ClientIP(r), "err", err)
}
