package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/thumbmail/thumbmail/web"
)

// Sign-in guessing limits: failures are counted per client IP and per user
// name (whether or not the account exists, so the answer tells nothing
// about accounts). Past the free failures each key must wait, doubling
// with every failure up to a cap; an attempt made too early is refused
// without asking the mail server and without counting.

func userLimitKey(user string) string { return strings.ToLower(user) }

// loginWait is how long this attempt must still wait (0: go ahead). A
// limiter that fails (Redis down) lets the attempt through: the mail
// server's own limits still apply, and nobody is locked out.
func (h *Handler) loginWait(r *http.Request, user string) time.Duration {
	var wait time.Duration
	for _, c := range []struct {
		l   web.Limiter
		key string
	}{{h.cfg.LimitIP, web.ClientIP(r)}, {h.cfg.LimitUser, userLimitKey(user)}} {
		d, err := c.l.Wait(r.Context(), c.key)
		if err != nil {
			web.LogError(r.Context(), r, "login limiter", err)
			continue
		}
		wait = max(wait, d)
	}
	return wait
}

// loginFailed counts a wrong password against the IP and the user name.
func (h *Handler) loginFailed(r *http.Request, user string) {
	if _, err := h.cfg.LimitIP.Fail(r.Context(), web.ClientIP(r)); err != nil {
		web.LogError(r.Context(), r, "login limiter", err)
	}
	if _, err := h.cfg.LimitUser.Fail(r.Context(), userLimitKey(user)); err != nil {
		web.LogError(r.Context(), r, "login limiter", err)
	}
}

// loginSucceeded forgets the user name's failures. The IP's are kept, so
// an attacker with one valid account cannot wipe them between guesses.
func (h *Handler) loginSucceeded(r *http.Request, user string) {
	if err := h.cfg.LimitUser.Reset(r.Context(), userLimitKey(user)); err != nil {
		web.LogError(r.Context(), r, "login limiter", err)
	}
}

// loginThrottled answers an attempt that came too early: 429 with
// Retry-After and the same form, whatever the user name.
func (h *Handler) loginThrottled(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	h.loginForm(w, r, http.StatusTooManyRequests, "Too many failed sign-ins. Please wait "+waitText(wait)+" and try again.")
}

// waitText says a wait in rounded-up plain words.
func waitText(d time.Duration) string {
	if d <= time.Minute {
		s := int((d + time.Second - 1) / time.Second)
		if s <= 1 {
			return "a second"
		}
		return strconv.Itoa(s) + " seconds"
	}
	m := int((d + time.Minute - 1) / time.Minute)
	return strconv.Itoa(m) + " minutes"
}
