package web

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// AccessLog writes one line per request: client IP, method, path (never
// the query, which can hold search text), status, bytes and duration.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("ip", ClientIP(r)),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}

// Recover turns a panic into a plain 500 page and logs the stack.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.Error("panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
					http.Error(w, "Internal error. Please try again.", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// DefaultCSP is the Content-Security-Policy of every page: no script at
// all, styles only from us (style attributes allowed for sanitized mail),
// images only from us, no framing.
const DefaultCSP = "default-src 'none'; script-src 'none'; style-src 'self' 'unsafe-inline'; " +
	"style-src-elem 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; font-src 'none'; manifest-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders sets the headers every response carries. Pages hold
// private mail, so every response starts as "Cache-Control: no-store",
// whatever its path (a mail folder may well be called "static"); only the
// handler of the content-hashed assets replaces it with its long cache
// header, and only for a file it actually serves. No path test here: one
// would either let private pages be cached or depend on the base path.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", DefaultCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if IsHTTPS(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// AllowRemoteImages loosens the page's CSP so that a message's remote
// images load, after the user asked for them.
func AllowRemoteImages(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", strings.Replace(DefaultCSP, "img-src 'self'", "img-src 'self' https: http:", 1))
}

// CrossOrigin rejects cross-origin state-changing requests, using the
// browser's Sec-Fetch-Site and Origin headers (http.CrossOriginProtection).
func CrossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "This request came from another site and was refused.", http.StatusForbidden)
	}))
	return cop.Handler(next)
}

// HeadAsGet answers HEAD wherever GET is served (RFC 9110 §9.3.2: load
// balancers, uptime checkers and link previews use it): the request is
// routed and handled as a GET, and net/http, which still knows the
// request was a HEAD, sends the headers and drops the body. Handlers that
// must not act on a HEAD (marking a message read) can tell by IsHead.
func HeadAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.WithContext(context.WithValue(r.Context(), headKey{}, true))
			r.Method = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

type headKey struct{}

// IsHead tells whether r came in as a HEAD turned into a GET by HeadAsGet.
func IsHead(r *http.Request) bool {
	v, _ := r.Context().Value(headKey{}).(bool)
	return v
}
