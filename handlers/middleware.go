package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// The router-wide middleware of the handlers (see routes.go): how much
// of a request body is read, and when (limitBody, run by the CSRF
// middleware once the browser's nonce is known to be ours and before the
// token is read from the body); what a compose posted after its session
// ended shows (keepText); whose attachments a session's are
// (composeOwner).

// smallBody is the most any request may send, except a compose or quick
// reply of a signed-in user: the sign-in form and every action form are
// far smaller. It is read whole, in memory, within smallBodyTime, before
// anything else looks at it.
const smallBody = 64 << 10

// smallBodyTime is how long a small body may take to arrive (a var for
// tests).
var smallBodyTime = 15 * time.Second

// uploadRoutes are the routes (routes.go) where a signed-in user may
// send a large body with the long upload deadline: the compose form,
// which carries attachments, and the quick reply.
var uploadRoutes = func() *chi.Mux {
	m := chi.NewRouter()
	nop := func(http.ResponseWriter, *http.Request) {}
	m.Post("/compose", nop)
	m.Post("/f/{folder}/{id}/quickreply", nop)
	return m
}()

// uploadRoute reports whether r goes to one of uploadRoutes.
func uploadRoute(r *http.Request) bool {
	path := ""
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		path = rctx.RoutePath // below the base path, as chi routes it
	}
	if path == "" {
		if path = r.URL.RawPath; path == "" {
			path = r.URL.Path
		}
	}
	return uploadRoutes.Match(chi.NewRouteContext(), r.Method, path)
}

type bodyCtxKey struct{}

// bodyInfo is what limitBody learnt about a compose or quick reply
// request, for keepText.
type bodyInfo struct {
	signedIn bool // the session was valid when the request came
	// cut: the body was longer than smallBody (or too slow): only its
	// beginning was read, into the request's form, and partial names
	// the field it was cut in (its value is only the beginning).
	cut     bool
	partial string
	files   bool // files were sent (never kept without a session)
}

// limitBody bounds every request body before anything reads it. A
// signed-in user's compose or quick reply may send up to the upload
// limit (plus room for the text) over a long upload deadline; anything
// else, and everything without a valid session, at most smallBody within
// smallBodyTime, read here whole into memory (so no temporary file is
// ever made for it), after which the usual deadline applies again. A
// body announced or found larger gets a page that says so, except a
// compose or quick reply whose session ended: keepText shows what of its
// text fitted.
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		upload := uploadRoute(r)
		if upload {
			if _, err := h.cfg.Sessions.Load(r); err == nil {
				h.largeBody(next, w, r)
				return
			}
		}
		if r.ContentLength > smallBody && !upload {
			h.bodyProblem(w, r, http.StatusRequestEntityTooLarge)
			return
		}
		start := time.Now()
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(start.Add(smallBodyTime))
		var buf bytes.Buffer
		if r.ContentLength > 0 {
			buf.Grow(int(min(r.ContentLength, smallBody)))
		}
		_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, smallBody))
		if err == nil {
			rc.SetReadDeadline(serverReadDeadline(r, start))
			r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
			if upload {
				r = r.WithContext(context.WithValue(r.Context(), bodyCtxKey{}, bodyInfo{}))
			}
			next.ServeHTTP(w, r)
			return
		}
		// The rest of the body is never read: the connection closes
		// after the answer. A read that failed (too slow) ended the
		// request's context; the answer is still due.
		w.Header().Set("Connection", "close")
		r = r.WithContext(context.WithoutCancel(r.Context()))
		if !upload {
			status := http.StatusRequestTimeout
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
			}
			h.bodyProblem(w, r, status)
			return
		}
		// A compose or quick reply whose session ended: keep what came
		// of its text (browsers send the text fields before the files)
		// for keepText, after the token check.
		info := readPartialForm(r, buf.Bytes())
		r.Body = http.NoBody
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyCtxKey{}, info)))
	})
}

// largeBody lets a signed-in user's compose or quick reply send up to the
// upload limit (plus room for the text), and take its time over it.
func (h *Handler) largeBody(next http.Handler, w http.ResponseWriter, r *http.Request) {
	limit := h.cfg.MaxUpload + 1<<20
	if r.ContentLength > limit {
		p := templates.ErrorPage{Status: http.StatusRequestEntityTooLarge, Heading: "Attachments too big",
			Message: "What you tried to send is larger than " + templates.FormatSize(h.cfg.MaxUpload) + ", the limit here. Nothing was sent. Go back and attach fewer or smaller files."}
		w.Header().Set("Connection", "close")
		web.Render(w, r, p.Status, templates.Error(h.base(r, p.Heading), p))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		// Uploads from a phone may take longer than the server's
		// ReadTimeout: allow a slow 64 KB/s for the limit.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(2*time.Minute + time.Duration(limit/(64<<10))*time.Second))
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyCtxKey{}, bodyInfo{signedIn: true})))
}

// bodyProblem answers a body that was too large or too slow for a form
// of this site.
func (h *Handler) bodyProblem(w http.ResponseWriter, r *http.Request, status int) {
	p := templates.ErrorPage{Status: status, Heading: "Too large",
		Message: "What you sent is larger than this page accepts. Nothing was changed. Go back, reload the page and try again."}
	if status == http.StatusRequestTimeout {
		p.Heading, p.Message = "Too slow", "What you sent did not arrive in time. Nothing was changed. Go back, reload the page and try again."
	}
	h.cfg.Logger.Info("refused a request body", "ip", web.ClientIP(r), "path", r.URL.Path, "status", status)
	w.Header().Set("Connection", "close")
	web.Render(w, r, p.Status, templates.Error(h.base(r, p.Heading), p))
}

// serverReadDeadline is the read deadline the server gave a request that
// came at start (its ReadTimeout), or none. It must be restored once a
// body is read: a deadline passing while the handler runs cancels the
// request's context.
func serverReadDeadline(r *http.Request, start time.Time) time.Time {
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 {
		return start.Add(srv.ReadTimeout)
	}
	return time.Time{}
}

// keepPartial are the fields whose beginning is worth showing when the
// body was cut within them: the message text of a compose and of a quick
// reply. Any other field cut is left out.
var keepPartial = map[string]bool{"body": true, "text": true}

// readPartialForm makes the fields in data, the beginning of r's body,
// r's form (skipping files), as ParseMultipartForm or ParseForm would
// have for the whole body, and says what was cut.
func readPartialForm(r *http.Request, data []byte) bodyInfo {
	info := bodyInfo{cut: true}
	vals := url.Values{}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(data), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			name := p.FormName()
			if p.FileName() != "" {
				info.files = true
				continue
			}
			b, err := io.ReadAll(p)
			if err != nil {
				info.partial = name
				if keepPartial[name] && len(b) > 0 {
					vals.Add(name, strings.ToValidUTF8(string(b), ""))
				}
				break
			}
			if name != "" {
				vals.Add(name, string(b))
			}
		}
		r.MultipartForm = &multipart.Form{Value: vals, File: map[string][]*multipart.FileHeader{}}
	case "application/x-www-form-urlencoded":
		s := string(data)
		last := s
		if i := strings.LastIndexByte(s, '&'); i >= 0 {
			vals, _ = url.ParseQuery(s[:i])
			last = s[i+1:]
		}
		// The last pair may be cut, even within an escape.
		if k, v, ok := strings.Cut(last, "="); ok {
			if i := strings.LastIndexByte(v, '%'); i >= 0 && i >= len(v)-2 {
				v = v[:i]
			}
			key, err1 := url.QueryUnescape(k)
			val, err2 := url.QueryUnescape(v)
			if err1 == nil && err2 == nil {
				info.partial = key
				if keepPartial[key] && val != "" {
					vals.Add(key, strings.ToValidUTF8(val, ""))
				}
			}
		}
	}
	r.PostForm = vals
	r.Form = url.Values{}
	for k, v := range vals {
		r.Form[k] = append(r.Form[k], v...)
	}
	for k, v := range r.URL.Query() {
		r.Form[k] = append(r.Form[k], v...)
	}
	return info
}

// keepText answers a compose or quick reply POST whose session has ended
// with a page that shows what was typed, so it is not lost; with a
// session it goes on to next. Without a session only smallBody of the
// form is read (limitBody): text longer than that is shown cut, with a
// line that says so, and when none of the message could be read the page
// says that it could not be recovered.
func (h *Handler) keepText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := r.Context().Value(bodyCtxKey{}).(bodyInfo)
		if !ok { // not behind limitBody
			_, err := h.cfg.Sessions.Load(r)
			info.signedIn = err == nil
		}
		if info.signedIn {
			next.ServeHTTP(w, r)
			return
		}
		if !info.cut {
			if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				web.Redirect(w, r, h.url(r, "/login"))
				return
			}
			if r.MultipartForm != nil {
				for _, fh := range r.MultipartForm.File["files"] {
					info.files = info.files || fh.Filename != ""
				}
			}
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
		b := h.base(r, "Session ended")
		hasText := r.PostForm.Has("body") || r.PostForm.Has("text") || r.PostForm.Has("canned")
		switch {
		case info.cut && !hasText:
			p := templates.ErrorPage{Status: http.StatusUnauthorized, Heading: "Your session ended",
				Message: "Nothing was sent, and your message could not be recovered: without a session only the first " + templates.FormatSize(smallBody) +
					" of a form is read, and your message was not within them. If the form is still open in your browser (Back), copy your text from there, then sign in again."}
			web.Render(w, r, p.Status, templates.Error(h.base(r, p.Heading), p))
			return
		case keepPartial[info.partial]:
			b.Error = "Only the beginning of your message could be recovered: without a session only the first " + templates.FormatSize(smallBody) +
				" of a form is read, and the rest is lost here. If the form is still open in your browser (Back), copy your text from there instead."
		case info.files:
			b.Error = "Your attached files were not kept: attach them again after you sign in."
		}
		web.Render(w, r, http.StatusUnauthorized, templates.ComposeExpired(b, text.String()))
	})
}

// composeOwner tells the attachment store whose session this is (the
// user name), so that attachments count against their user's share
// wherever they come from: uploads, forwards, drafts.
func (h *Handler) composeOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if us, ok := r.Context().Value(sessionKey).(*userSession); ok {
			h.compose.setUser(us.id, us.creds.Username)
		}
		next.ServeHTTP(w, r)
	})
}
