package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// showLogin renders the sign-in form; a signed-in user goes to the inbox.
func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	if _, err := h.cfg.Sessions.Load(r); err == nil {
		web.Redirect(w, r, h.afterLogin(r, r.URL.Query().Get("next")))
		return
	}
	b := h.base(r, "Sign in")
	if r.URL.Query().Get("expired") == "1" {
		b.Notice = notices["expired"]
	}
	next := r.URL.Query().Get("next")
	if !web.LocalPath(next) {
		next = ""
	}
	web.Render(w, r, http.StatusOK, templates.Login(b, templates.LoginPage{Next: next, Persistent: false, POP3: h.offersCollect()}, h.loginServer(r)))
}

// login checks the credentials against the mail server, starts a new
// session (a fresh id: never one the browser brought) and goes on to
// where the user was going.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.loginForm(w, r, http.StatusBadRequest, "The form could not be read. Please try again.")
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("username"))
	pass := r.PostForm.Get("password")
	if user == "" || pass == "" {
		h.loginForm(w, r, http.StatusBadRequest, "Please enter your user name and password.")
		return
	}
	if strings.ContainsAny(user+pass, "\r\n\x00") || len(user) > 256 || len(pass) > 1024 {
		h.loginForm(w, r, http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	attempt, ok := h.loginReserve(w, r, user)
	if !ok {
		return
	}

	// A previous session of this browser ends here.
	if oldID, ok := h.cfg.Sessions.ID(r); ok {
		h.cfg.Mail.Logout(oldID)
		h.cfg.Sessions.End(w, r)
	}
	id := web.NewSessionID()
	creds := mailproxy.Credentials{Username: user, Password: pass}
	if loc, ok := h.cfg.Mail.(mailproxy.Locator); ok {
		// The account's servers: pinned, or found from the address, or
		// the user's own (Advanced). Every failure here is one
		// ErrNoServer, said and timed alike.
		servers, err := loc.Locate(r.Context(), user, h.loginChoice(r))
		if err != nil {
			h.loginFinish(r, attempt, err)
			h.failLogin(w, r, user, err)
			return
		}
		creds.Servers = servers
		r = r.WithContext(context.WithValue(r.Context(), serversKey, servers))
	}
	if err := h.cfg.Mail.Login(r.Context(), id, creds); err != nil {
		if errors.Is(err, mailproxy.ErrNoServer) {
			// Said exactly as a failed discovery: no server named.
			r = r.WithContext(context.WithValue(r.Context(), serversKey, (*mailproxy.Servers)(nil)))
		}
		h.loginFinish(r, attempt, err)
		h.failLogin(w, r, user, err)
		return
	}
	collect := h.offersCollect() && r.PostForm.Get("collect") == "1"
	payload, _ := json.Marshal(sessionPayload{Username: user, Password: pass, Collect: collect, Servers: serversPayload(creds.Servers)})
	persistent := r.PostForm.Get("keep") == "1"
	if err := h.cfg.Sessions.Start(w, r, id, payload, persistent); err != nil {
		h.loginFinish(r, attempt, nil) // the password was right
		h.cfg.Mail.Logout(id)
		h.failLogin(w, r, user, fmt.Errorf("%w: %w", errSessionStart, err))
		return
	}
	h.loginFinish(r, attempt, nil)
	if creds.Servers != nil {
		h.cfg.Logger.Info("login", "user", user, "ip", web.ClientIP(r), "collect", collect, "server", creds.Servers.Mail.String(), "found", creds.Servers.Source)
	} else {
		h.cfg.Logger.Info("login", "user", user, "ip", web.ClientIP(r), "collect", collect)
	}
	target := h.afterLogin(r, r.PostForm.Get("next"))
	if creds.Servers.Discovered() {
		// The first page says which server was found ("via").
		target = withNotice(target, "via")
	}
	web.Redirect(w, r, target)
}

// afterLogin is where to go once signed in: next when it is a local path,
// else the inbox.
func (h *Handler) afterLogin(r *http.Request, next string) string {
	if web.LocalPath(next) && !strings.HasPrefix(next, "/login") {
		return h.url(r, next)
	}
	return h.url(r, "/f/INBOX")
}

// loginForm shows the form again with an error, keeping what was typed
// (except the password).
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request, status int, msg string) {
	b := h.base(r, "Sign in")
	b.Error = msg
	next := r.PostForm.Get("next")
	if !web.LocalPath(next) {
		next = ""
	}
	web.Render(w, r, status, templates.Login(b, templates.LoginPage{
		Username:   r.PostForm.Get("username"),
		Next:       next,
		Persistent: r.PostForm.Get("keep") == "1",
		POP3:       h.offersCollect(),
		Collect:    r.PostForm.Get("collect") == "1",
	}, h.loginServer(r)))
}

// loginChoice reads the form's Advanced part, as far as it is offered.
func (h *Handler) loginChoice(r *http.Request) mailproxy.Choice {
	var c mailproxy.Choice
	if h.cfg.ChooseProtocol || h.cfg.UserServers {
		c.Protocol = r.PostForm.Get("proto")
	}
	if h.cfg.UserServers {
		c.Host = strings.TrimSpace(r.PostForm.Get("host"))
		c.Port = strings.TrimSpace(r.PostForm.Get("port"))
		if r.PostForm.Get("security") == "starttls" {
			c.Security = mailproxy.SecurityStartTLS
		}
	}
	return c
}

// loginServer is the form's server part: the Advanced choices offered
// (and as typed), and which server the sign-in used.
func (h *Handler) loginServer(r *http.Request) templates.LoginServer {
	_, locates := h.cfg.Mail.(mailproxy.Locator)
	s := templates.LoginServer{Protocols: locates && h.cfg.ChooseProtocol, UserServers: locates && h.cfg.UserServers}
	if r.PostForm != nil {
		if s.Protocols || s.UserServers {
			if p := r.PostForm.Get("proto"); p == "imap" || p == "pop3" {
				s.Protocol = p
			}
		}
		if s.UserServers {
			s.Host, s.Port, s.Security = r.PostForm.Get("host"), r.PostForm.Get("port"), r.PostForm.Get("security")
		}
	}
	if sv, ok := r.Context().Value(serversKey).(*mailproxy.Servers); ok && sv != nil {
		s.Used = serverText(sv)
	}
	return s
}

// serverText says which server an account uses, for the sign-in page.
func serverText(s *mailproxy.Servers) string {
	how := map[string]string{
		"pinned": "this service's server", "table": "from this service's list", "autoconfig": "found through your provider's settings file",
		"mx": "found through your domain's mail exchanger", "srv": "found through your domain's DNS", "probe": "found by trying the usual names", "user": "the server you chose",
	}[s.Source]
	text := s.Mail.Host + " (" + strings.ToUpper(s.Mail.Protocol)
	if how != "" {
		text += ", " + how
	}
	return text + ")"
}

// logout deletes the server record, closes the upstream connection and
// expires the cookie. It works even when the session already ended.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if id, ok := h.cfg.Sessions.ID(r); ok {
		h.cfg.Mail.Logout(id)
		h.compose.endSession(id)
	}
	if err := h.cfg.Sessions.End(w, r); err != nil {
		web.LogError(r.Context(), r, "ending session", err)
	}
	web.Redirect(w, r, h.url(r, "/login?n=signedout"))
}
