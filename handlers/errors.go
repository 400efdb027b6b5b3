package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// errSessionStore marks a failure of the session store (Redis): the user
// may well still be signed in, so it is never a reason to sign in again.
var errSessionStore = errors.New("session store failed")

// errSessionStart marks a sign-in whose password was right but whose
// session could not be stored.
var errSessionStart = errors.New("starting the session failed")

// problem is what the user is told about a failure: a status, a heading,
// one sentence saying what happened and what to do, and whether trying
// the same request again makes sense.
type problem struct {
	status  int
	heading string
	message string
	retry   bool
}

// problemOf is the one table of wording for failures: error pages (fail)
// and the sign-in form (login) both read it, so the same failure is said
// the same way everywhere. Upstream text never reaches it.
func problemOf(err error) problem {
	switch {
	case errors.Is(err, mailproxy.ErrAuth):
		return problem{http.StatusUnauthorized, "Wrong user name or password", "Wrong user name or password.", false}
	case errors.Is(err, mailproxy.ErrNoServer):
		// One sentence for every discovery and dial failure, whatever
		// the cause (no server, not allowed, refused, unreachable).
		return problem{http.StatusServiceUnavailable, "No mail server found", "No mail server that this service may use was found for this address. Check the address and try again, or ask whoever runs this service.", false}
	case errors.Is(err, mailproxy.ErrLoginStalled):
		// The server greeted but sat on the password far longer than any
		// penalty delay: most likely a wrong password refused slowly.
		return problem{http.StatusServiceUnavailable, "Mail server slow", "Your mail server did not answer the sign-in in time. Please check your password and try again in a minute.", false}
	case errors.Is(err, errSessionStore):
		return problem{http.StatusServiceUnavailable, "Temporarily unavailable", "We could not check your sign-in just now. Please try again in a moment.", true}
	case errors.Is(err, errSessionStart):
		return problem{http.StatusServiceUnavailable, "Temporarily unavailable", "Signing in failed on our side. Please try again in a moment.", false}
	case errors.Is(err, mailproxy.ErrNotFound):
		return problem{http.StatusNotFound, "Not found", "This folder or message does not exist (any more). It may have been moved or deleted by another mail program.", false}
	case errors.Is(err, mailproxy.ErrTooManyConnections):
		return problem{http.StatusServiceUnavailable, "Too many connections", "Your mail server connections are all busy (other tabs or devices). Please try again in a moment.", true}
	case errors.Is(err, mailproxy.ErrBusy):
		// A POP3 maildrop locked by another mail program: the password
		// may well be right, so this never says it is wrong.
		return problem{http.StatusServiceUnavailable, "Mailbox busy", "Your mailbox is busy (another mail program is collecting). Please try again in a moment.", true}
	case errors.Is(err, mailproxy.ErrUnavailable):
		return problem{http.StatusServiceUnavailable, "Mail server unreachable", "Your mail server cannot be reached or did not answer in time. Please try again in a moment.", true}
	case errors.Is(err, mailproxy.ErrUnsupported):
		return problem{http.StatusNotImplemented, "Not supported", "Your mail server does not support this.", false}
	}
	return problem{http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", false}
}

// fail is the one place errors become error pages: the real error is
// logged, the page says in plain words (problemOf) what happened and what
// to do. Two failures are not pages but redirects: a password the server
// no longer takes ends the session, and ids of an earlier UIDVALIDITY go
// to the folder's newest messages with a notice.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, mailproxy.ErrAuth), errors.Is(err, mailproxy.ErrSessionExpired):
		h.cfg.Logger.Info("upstream refused stored credentials", "ip", web.ClientIP(r), "err", err)
		if us, ok := r.Context().Value(sessionKey).(*userSession); ok {
			h.cfg.Mail.Logout(us.id)
		}
		h.cfg.Sessions.End(w, r)
		web.Redirect(w, r, h.url(r, "/login?n=expired"))
		return
	case errors.Is(err, mailproxy.ErrFolderReset):
		web.LogError(r.Context(), r, "stale ids", err)
		web.Redirect(w, r, withNotice(h.base(r, "").FolderURL(folderOr(r), 1, 0), "folderreset"))
		return
	}
	pr := problemOf(err)
	p := templates.ErrorPage{Status: pr.status, Heading: pr.heading, Message: pr.message}
	// Retry links only where trying again is safe: a GET of our own page.
	if pr.retry && r.Method == http.MethodGet {
		if u := h.localURI(r); web.LocalPath(u) {
			p.Retry = h.url(r, u)
		}
	}
	web.LogError(r.Context(), r, "request failed", err)
	web.Render(w, r, p.Status, templates.Error(h.base(r, p.Heading), p))
}

// failLogin answers a sign-in that did not succeed: the form again, with
// everything typed but the password, and problemOf's sentence. A refused
// password is logged as a warning with the user and address (for
// fail2ban); everything else as an error.
func (h *Handler) failLogin(w http.ResponseWriter, r *http.Request, user string, err error) {
	if errors.Is(err, mailproxy.ErrAuth) {
		h.cfg.Logger.Warn("login failed", "user", user, "ip", web.ClientIP(r))
	} else {
		web.LogError(r.Context(), r, "login", err)
	}
	pr := problemOf(err)
	h.loginForm(w, r, pr.status, pr.message)
}

// notFound answers a URL that names nothing.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	p := templates.ErrorPage{Status: http.StatusNotFound, Heading: "Not found", Message: "There is no page at this address."}
	web.Render(w, r, http.StatusNotFound, templates.Error(h.base(r, p.Heading), p))
}

// forgedRequest answers a POST without a valid anti-forgery token: most
// often a form left open from before a restart or from another browser.
func (h *Handler) forgedRequest(w http.ResponseWriter, r *http.Request) {
	h.cfg.Logger.Info("refused a form without a valid token", "ip", web.ClientIP(r), "path", r.URL.Path)
	p := templates.ErrorPage{Status: http.StatusForbidden, Heading: "Form expired", Message: "This form has expired or did not come from this site. Go back, reload the page and try again."}
	web.Render(w, r, p.Status, templates.Error(h.base(r, p.Heading), p))
}

// parseForm reads a small action form (ids and a few fields; the body is
// already bounded by limitBody and parsed for the CSRF check). On a bad
// form it answers through fail and returns false.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fmt.Errorf("%w: form: %v", mailproxy.ErrNotFound, err))
		return false
	}
	return true
}
