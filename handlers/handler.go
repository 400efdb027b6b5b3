// Package handlers holds one file per page or action and the URL table
// (routes.go). Every handler has one shape: load the session, parse the
// request, call mailproxy, render or redirect; every error branch returns
// through h.fail, which maps errors to safe pages.
package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/static"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// Config wires the handlers to their dependencies.
type Config struct {
	Sessions *web.SessionManager
	// Mail is the IMAP pool, the POP3 backend, or a router between them
	// that also locates each account's servers (mailproxy.Locator).
	Mail   mailproxy.Backend
	Logger *slog.Logger
	// ChooseProtocol offers IMAP or POP3 at sign-in (the instance serves
	// both); UserServers offers a server of the user's own. Both show in
	// the form's Advanced part, only with a Locator.
	ChooseProtocol, UserServers bool
	// BasePath is where the routes are mounted: "" or e.g. "/mail".
	// Links use web.Prefix, which adds a trusted X-Forwarded-Prefix.
	BasePath string
	// TrustedProxies are the peers whose forwarded headers are believed
	// (see web.Proxy); none by default.
	TrustedProxies []netip.Prefix
	// Draining, when set and true, makes /readyz answer 503 (shutdown).
	Draining func() bool
	// Observe, when set, wraps every request inside the router (so
	// chi's route pattern is known when it returns): metrics.
	Observe  func(http.Handler) http.Handler
	PageSize int            // messages per list page (default 50)
	Location *time.Location // time zone dates are shown in (default Local)
	Now      func() time.Time
	// LimitIP and LimitUser count failed sign-ins per client IP and per
	// user name (default: in memory, web.DefaultIPPolicy and
	// web.DefaultUserPolicy).
	LimitIP, LimitUser web.Limiter

	// Submit sends mail (SMTP submission); nil hides Compose and Reply.
	Submit *send.Submitter
	// SavesSent is set when the submission server files a copy in Sent
	// itself, so thumbmail does not APPEND one.
	SavesSent bool
	// MaxUpload bounds the attachments of one message and a compose
	// request's body (default 25 MB).
	MaxUpload int64
	// CannedReplies are the one-tap quick replies.
	CannedReplies []string
	// Signature is appended to new messages and replies ("-- " above it).
	Signature string
	// MailDomain makes a From address for user names without "@"
	// (user@MailDomain).
	MailDomain string
}

// Handler serves every page.
type Handler struct {
	cfg     Config
	compose *composeStore
}

// New checks cfg and returns the handler set.
func New(cfg Config) *Handler {
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LimitIP == nil {
		cfg.LimitIP = web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultIPPolicy})
	}
	if cfg.LimitUser == nil {
		cfg.LimitUser = web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultUserPolicy})
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 25 << 20
	}
	return &Handler{cfg: cfg, compose: newComposeStore(4*cfg.MaxUpload, 2*time.Hour, cfg.Now)}
}

// sessionPayload is what the server-side store keeps, sealed, per session.
type sessionPayload struct {
	Username string `json:"u"`
	Password string `json:"p"`
	// Collect is the POP3 user's "delete messages from the server after
	// I read them" choice, made at sign-in. Off by default.
	Collect bool `json:"c,omitempty"`
	// Servers are the account's own servers (found at sign-in), so any
	// instance can rebuild the session; absent for the pinned upstream.
	Servers *payloadServers `json:"s,omitempty"`
}

// payloadServers is mailproxy.Servers as upstream URLs.
type payloadServers struct {
	Mail   string `json:"m"`
	SMTP   string `json:"o,omitempty"`
	Source string `json:"w,omitempty"`
	Login  string `json:"l,omitempty"`
}

// serversPayload is what the session keeps of s (nil for none).
func serversPayload(s *mailproxy.Servers) *payloadServers {
	if s == nil {
		return nil
	}
	p := &payloadServers{Mail: s.Mail.String(), Source: s.Source, Login: s.Login}
	if s.SMTP.Host != "" {
		p.SMTP = s.SMTP.String()
	}
	return p
}

// servers reads the account's servers back.
func (p *payloadServers) servers() (*mailproxy.Servers, error) {
	if p == nil {
		return nil, nil
	}
	s := &mailproxy.Servers{Source: p.Source, Login: p.Login}
	var err error
	if s.Mail, err = mailproxy.ParseUpstream(p.Mail, ""); err != nil {
		return nil, err
	}
	if p.SMTP != "" {
		if s.SMTP, err = mailproxy.ParseUpstream(p.SMTP, "smtp"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type ctxKey int

const (
	sessionKey ctxKey = iota
	// serversKey carries the servers a sign-in located to the form
	// shown again (a wrong password: "Mail server: ...").
	serversKey
)

// userSession is the signed-in user of a request.
type userSession struct {
	id      string
	creds   mailproxy.Credentials
	mail    mailproxy.Session
	collect bool // POP3 "collect and delete" (sessionPayload.Collect)
}

// requireSession loads the session for protected pages. Without one, a
// GET goes to the login page and comes back afterwards (?next=), anything
// else goes to the login page. When the session store fails, the page
// says so (503) instead: the user is probably still signed in.
func (h *Handler) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.cfg.Sessions.Load(r)
		if err != nil && err != web.ErrNoSession {
			// The session store (Redis) failed: the session may well be
			// alive, so do not send the user to sign in.
			h.fail(w, r, fmt.Errorf("%w: %w", errSessionStore, err))
			return
		}
		if err != nil {
			target := h.url(r, "/login")
			if r.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(h.localURI(r))
				if _, had := h.cfg.Sessions.ID(r); had {
					target += "&expired=1"
				}
			}
			web.Redirect(w, r, target)
			return
		}
		var p sessionPayload
		err = json.Unmarshal(s.Payload, &p)
		var servers *mailproxy.Servers
		if err == nil {
			servers, err = p.Servers.servers()
		}
		if err != nil {
			web.LogError(r.Context(), r, "decoding session", err)
			h.cfg.Sessions.End(w, r)
			web.Redirect(w, r, h.url(r, "/login"))
			return
		}
		creds := mailproxy.Credentials{Username: p.Username, Password: p.Password, Servers: servers}
		us := &userSession{id: s.ID, creds: creds, mail: h.cfg.Mail.Session(s.ID, creds), collect: p.Collect && h.offersCollect()}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey, us)))
	})
}

// session returns the request's signed-in user (requireSession ran).
func session(r *http.Request) *userSession {
	return r.Context().Value(sessionKey).(*userSession)
}

// localURI is the request's path and query without the base path.
func (h *Handler) localURI(r *http.Request) string {
	u := strings.TrimPrefix(r.URL.RequestURI(), h.cfg.BasePath)
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	return u
}

// undoBack is the page that shows an Undo offer, below the base path:
// its path and its own query (the list page, its anchor), without the
// notice and the offer, which are not to be repeated.
func (h *Handler) undoBack(r *http.Request) string {
	u, _, _ := strings.Cut(h.localURI(r), "?")
	q := r.URL.Query()
	for _, k := range []string{"n", "u", "uf", "ut", "us"} {
		q.Del(k)
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// url prefixes a local path with the request's external base path.
func (h *Handler) url(r *http.Request, path string) string { return web.Prefix(r) + path }

// base is the common page data.
func (h *Handler) base(r *http.Request, title string) templates.Base {
	b := templates.Base{
		Title:    title,
		BasePath: web.Prefix(r),
		CSSURL:   h.url(r, "/static/"+static.Path("style.css")),
		IconURL:  h.url(r, "/static/"+static.Path("icon.svg")),
		Notice:   noticeText(r.URL.Query().Get("n")),
		CSRF:     web.CSRFToken(r),
	}
	b.TouchIconURL = h.url(r, "/static/"+static.Path("icon-192.png"))
	if us, ok := r.Context().Value(sessionKey).(*userSession); ok {
		b.User = us.creds.Username
		b.Caps = us.mail.Caps()
		b.CanDelete = b.Caps.Delete
		b.Collect = us.collect
		if r.URL.Query().Get("n") == "via" && us.creds.Servers != nil {
			// Built from the sealed session, never from the URL.
			b.Notice = "Signed in to " + serverText(us.creds.Servers) + "."
		}

		if h.cfg.Submit != nil {
			_, b.CanSend = h.cfg.Submit.For(us.creds)
		}
		if b.Notice != "" && b.Caps.Move {
			if b.Undo = undoFromQuery(r); b.Undo != nil {
				b.Undo.Back = h.undoBack(r)
			}
		}
	}
	return b
}

// offersCollect reports whether the backend offers the "collect and
// delete" choice at sign-in (POP3), said by its Caps.
func (h *Handler) offersCollect() bool { return h.cfg.Mail.Caps().Collect }

func (h *Handler) clock() templates.Clock {
	return templates.Clock{Now: h.cfg.Now(), Loc: h.cfg.Location}
}

// notices are the one-line notices a redirect can ask for by key, so no
// text from the URL is ever shown.
var notices = map[string]string{
	"signedout":    "You are signed out.",
	"deleted":      "Deleted.",
	"noneselected": "Nothing was selected.",
	"expired":      "Your session ended. Please sign in again.",
	"sent":         "Sent.",
	"sentnocopy":   "Sent. A copy could not be saved in your Sent folder.",
	"draftsaved":   "Draft saved.",
	// Acting on mail (message_act.go, message_undo.go, trash_expunge.go).
	"archived":     "Archived.",
	"trashed":      "Moved to Trash.",
	"moved":        "Moved.",
	"junked":       "Moved to Junk.",
	"notjunk":      "Moved to Inbox.",
	"keptdeleted":  "Moved. Your mail server cannot remove single messages, so the originals stay here marked as deleted.",
	"undone":       "Undone: the messages are back.",
	"undonothing":  "Nothing to undo: those messages were moved back already, or moved on elsewhere.",
	"gone":         "Nothing was moved: those messages are no longer in this folder (another mail program may have moved or deleted them).",
	"undoreset":    "Cannot undo: the other folder was reset by the server. Look for the messages there.",
	"markedread":   "Marked as read.",
	"markedunread": "Marked as unread.",
	"starred":      "Starred.",
	"unstarred":    "Star removed.",
	"expunged":     "Deleted for good.",
	"noexpunge":    "Your mail server cannot delete single messages for good (it lacks UIDPLUS); nothing was deleted. Empty Trash from another mail program.",
	"notrash":      "There is no Trash folder on your mail server, so nothing was deleted. Create a folder named Trash and try again.",
	"noarchive":    "There is no Archive folder on your mail server, so nothing was moved. Create a folder named Archive or use Move.",
	"nojunk":       "There is no Junk folder on your mail server, so nothing was moved. Create a folder named Junk or use Move.",
	"notmoved":     "Not moved: your mail server refused (the folder may be gone or full). Nothing was changed.",
	"folderreset":  "This folder was reset by the server; showing the newest messages.",
	"toomany":      "Too many messages selected: at most 500 at a time. Nothing was changed.",
	"samefolder":   "The messages are already in that folder.",
}

// undoable are the notices that come with an Undo button.
var undoable = map[string]bool{"archived": true, "trashed": true, "moved": true, "junked": true, "notjunk": true}

func noticeText(key string) string { return notices[key] }
