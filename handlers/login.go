package handlers

import (
	"encoding/json"
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
	web.Render(w, r, http.StatusOK, templates.Login(b, templates.LoginPage{Next: next, Persistent: false, POP3: h.offersCollect()}))
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
	if err := h.cfg.Mail.Login(r.Context(), id, creds); err != nil {
		h.loginFinish(r, attempt, err)
		h.failLogin(w, r, user, err)
		return
	}
	collect := h.offersCollect() && r.PostForm.Get("collect") == "1"
	payload, _ := json.Marshal(sessionPayload{Username: user, Password: pass, Collect: collect})
	persistent := r.PostForm.Get("keep") == "1"
	if err := h.cfg.Sessions.Start(w, r, id, payload, persistent); err != nil {
		h.loginFinish(r, attempt, nil) // the password was right
		h.cfg.Mail.Logout(id)
		h.failLogin(w, r, user, fmt.Errorf("%w: %w", errSessionStart, err))
		return
	}
	h.loginFinish(r, attempt, nil)
	h.cfg.Logger.Info("login", "user", user, "ip", web.ClientIP(r), "collect", collect)
	web.Redirect(w, r, h.afterLogin(r, r.PostForm.Get("next")))
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
	}))
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
