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

// fail is the one place errors become responses: the real error is
// logged, the page says in plain words what happened and what to do.
// Upstream text never reaches the page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := templates.ErrorPage{Status: http.StatusInternalServerError, Heading: "Something went wrong", Message: "Please try again in a moment."}
	switch {
	case errors.Is(err, mailproxy.ErrAuth), errors.Is(err, mailproxy.ErrSessionExpired):
		// The server no longer accepts the stored password.
		h.cfg.Logger.Info("upstream refused stored credentials", "ip", web.ClientIP(r), "err", err)
		if us, ok := r.Context().Value(sessionKey).(*userSession); ok {
			h.cfg.Mail.Logout(us.id)
		}
		h.cfg.Sessions.End(w, r)
		web.Redirect(w, r, h.url(r, "/login?n=expired"))
		return
	case errors.Is(err, mailproxy.ErrFolderReset):
		// The page's or the form's ids are of an earlier UIDVALIDITY:
		// the folder's newest messages, with a notice.
		web.LogError(r.Context(), r, "stale ids", err)
		web.Redirect(w, r, withNotice(h.base(r, "").FolderURL(folderOr(r), 1, 0), "folderreset"))
		return
	case errors.Is(err, errSessionStore):
		p = templates.ErrorPage{Status: http.StatusServiceUnavailable, Heading: "Temporarily unavailable",
			Message: "We could not check your sign-in just now. Please try again in a moment."}
		if r.Method == http.MethodGet {
			p.Retry = h.localURI(r)
		}
	case errors.Is(err, mailproxy.ErrNotFound):
		p = templates.ErrorPage{Status: http.StatusNotFound, Heading: "Not found", Message: "This folder or message does not exist (any more). It may have been moved or deleted by another mail program."}
	case errors.Is(err, mailproxy.ErrTooManyConnections):
		p = templates.ErrorPage{Status: http.StatusServiceUnavailable, Heading: "Too many connections", Message: "Your mail server connections are all busy (other tabs or devices). Please try again in a moment.", Retry: h.localURI(r)}
	case errors.Is(err, mailproxy.ErrBusy):
		p = templates.ErrorPage{Status: http.StatusServiceUnavailable, Heading: "Mailbox busy", Message: "Your mailbox is busy (another mail program is collecting). Try again in a moment.", Retry: h.localURI(r)}
	case errors.Is(err, mailproxy.ErrUnavailable):
		p = templates.ErrorPage{Status: http.StatusServiceUnavailable, Heading: "Mail server unreachable", Message: "We could not reach your mail server or it did not answer in time. Please try again in a moment.", Retry: h.localURI(r)}
	case errors.Is(err, mailproxy.ErrUnsupported):
		p = templates.ErrorPage{Status: http.StatusNotImplemented, Heading: "Not supported", Message: "Your mail server does not support this."}
	}
	if p.Retry != "" && !web.LocalPath(p.Retry) {
		p.Retry = ""
	} else if p.Retry != "" {
		p.Retry = h.url(r, p.Retry)
	}
	web.LogError(r.Context(), r, "request failed", err)
	web.Render(w, r, p.Status, templates.Error(h.base(r, p.Heading), p))
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
