package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/web"
)

// Sign-in guessing limits: attempts are counted per client IP (and an
// IPv6 client's /64, see web.DefaultIPPolicy) and per user name as the
// mail server compares names (mailproxy.UserKey: "ALICE" is "alice"),
// whether or not the account exists, so the answer tells nothing about
// accounts. An attempt is reserved before the mail server is asked: it is
// counted as a failure up front (and given back only if the server could
// not judge it) and is the only one in flight for its name (for its
// client, one of at most 4 while the client's failures are free, the only
// one after), so a burst of simultaneous guesses cannot slip past the
// check. Past the free failures each key must wait, doubling with every
// failure up to a cap; an attempt made too early, or while too many for
// the same name or client are in flight, is refused without asking the
// mail server and without counting.

// loginAttempt is a sign-in reserved with both limiters.
type loginAttempt struct {
	ip, user web.Reservation
}

// loginReserve reserves the attempt of user from this client. When it
// must wait, it answers the request (429) and returns false. A limiter
// that fails (Redis down) lets the attempt through: the mail server's own
// limits still apply, and nobody is locked out.
func (h *Handler) loginReserve(w http.ResponseWriter, r *http.Request, user string) (loginAttempt, bool) {
	var a loginAttempt
	var err error
	if a.ip, err = h.cfg.LimitIP.Reserve(r.Context(), web.ClientIP(r)); err != nil {
		web.LogError(r.Context(), r, "login limiter", err)
	}
	if a.ip.OK() {
		if a.user, err = h.cfg.LimitUser.Reserve(r.Context(), mailproxy.UserKey(user)); err != nil {
			web.LogError(r.Context(), r, "login limiter", err)
		}
	}
	if refused := a.refusal(); refused.Wait > 0 {
		// The other key's reservation proved nothing: take it back.
		h.loginEnd(r, a, web.Void, web.Void)
		h.loginThrottled(w, r, refused)
		return a, false
	}
	return a, true
}

// refusal is the reservation that refused the attempt, if any.
func (a loginAttempt) refusal() web.Reservation {
	if !a.ip.OK() {
		return a.ip
	}
	return a.user
}

// loginOutcome is what the mail server's answer to a sign-in means for
// the limiters: the client address and the user name.
func loginOutcome(err error) (ip, user web.Outcome) {
	switch {
	case err == nil:
		// The name's failures are forgotten; the address's are kept, so
		// an attacker with one valid account cannot wipe them between
		// guesses.
		return web.Void, web.Forgive
	case errors.Is(err, mailproxy.ErrAuth), errors.Is(err, mailproxy.ErrLoginStalled), errors.Is(err, mailproxy.ErrNoServer):
		// ErrNoServer too: an address whose servers cannot be found or
		// reached, or that names a forbidden one, must cost as much as a
		// wrong password, or discovery becomes a free scanner.
		// A wrong password, or one the server sat on (a slow refusal, or
		// the browser left while the server had it: the backends say
		// ErrLoginStalled for both), counts.
		return web.Failed, web.Failed
	}
	// Busy maildrop, too many connections (the password may well be
	// right), mail server unreachable, the browser gone before the
	// password was sent: the attempt proved nothing.
	return web.Void, web.Void
}

// loginFinish ends a reserved attempt with what the mail server
// answered (see loginOutcome).
func (h *Handler) loginFinish(r *http.Request, a loginAttempt, err error) {
	ip, user := loginOutcome(err)
	h.loginEnd(r, a, ip, user)
}

// loginEnd tells the limiters how the attempt ended. The request may have
// been cancelled (the browser left): they are told anyway, or the attempt
// would stay in flight until it expires.
func (h *Handler) loginEnd(r *http.Request, a loginAttempt, ip, user web.Outcome) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := h.cfg.LimitIP.Finish(ctx, a.ip, ip); err != nil {
		web.LogError(r.Context(), r, "login limiter", err)
	}
	if err := h.cfg.LimitUser.Finish(ctx, a.user, user); err != nil {
		web.LogError(r.Context(), r, "login limiter", err)
	}
}

// loginThrottled answers an attempt that came too early, or while another
// for the same name or client is in flight: 429 with Retry-After and the
// same form, whatever the user name.
func (h *Handler) loginThrottled(w http.ResponseWriter, r *http.Request, res web.Reservation) {
	wait := res.Wait
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := "Too many failed sign-ins. Please wait " + waitText(wait) + " and try again."
	if res.Busy {
		msg = "Another sign-in is in progress. Please wait " + waitText(wait) + " and try again."
	}
	h.loginForm(w, r, http.StatusTooManyRequests, msg)
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
