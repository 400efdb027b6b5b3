package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"net/http"
)

// CSRFField is the name of the hidden form field that carries the token.
const CSRFField = "csrf"

// csrfCookieName is the cookie that binds the token to the browser.
func (m *SessionManager) csrfCookieName() string { return m.opts.Name + "_csrf" }

type csrfCtxKey struct{}

// multipartMemory is how much of a multipart form is kept in memory
// while checking its token; the rest spills to temporary files that
// net/http removes after the request.
const multipartMemory = 1 << 20

// CSRF protects every state-changing request with a token, in addition to
// cross-origin protection by Sec-Fetch-Site/Origin (CrossOrigin), for
// browsers that send neither header. The token is an HMAC, under a key
// derived from the operator's secrets, of a per-browser cookie (the
// nonce) and of the session id the browser's session cookie names (a
// signed double-submit cookie bound to the session): someone who can
// plant a cookie they got from us still cannot compute a token for the
// victim's session, whose id only the victim's encrypted cookie holds.
// The cookie is set on the first request that lacks it, so every
// rendered form can carry the token (CSRFToken).
//
// The nonce itself is signed too (random half, HMAC half): a cookie we
// did not issue is worth nothing, and POST, PUT, PATCH and DELETE that
// bring none are refused (deny answers) before a byte of their body is
// read. Only then do the before middlewares run, in order (bound the
// body there: the token is read from it next), and then the token in
// the form field CSRFField is checked; a form without a valid one gets
// deny too. Multipart forms are parsed for it here.
func (m *SessionManager) CSRF(deny http.Handler, before ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		var check http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if unsafeMethod(r.Method) {
				st, _ := r.Context().Value(csrfCtxKey{}).(*csrfState)
				if st == nil || !m.validCSRF(st.nonce, m.csrfSession(r), formToken(r)) {
					deny.ServeHTTP(w, r)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
		for i := len(before) - 1; i >= 0; i-- {
			check = before[i](check)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nonce := m.csrfNonce(r)
			if nonce == "" {
				if unsafeMethod(r.Method) {
					deny.ServeHTTP(w, r)
					return
				}
				nonce = m.newNonce()
				http.SetCookie(w, &http.Cookie{
					Name: m.csrfCookieName(), Value: nonce, Path: m.cookiePath(r),
					HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: IsHTTPS(r),
				})
			}
			st := &csrfState{nonce: nonce, token: m.csrfToken(m.csrfKeys[0], nonce, m.csrfSession(r))}
			check.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), csrfCtxKey{}, st)))
		})
	}
}

// csrfState is what CSRF keeps in a request's context.
type csrfState struct {
	nonce string // the browser's (signed) nonce
	token string // the token this request's forms carry
}

func unsafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// nonceRandom and nonceMACLen are the halves of a nonce: random bytes,
// then the first bytes of their HMAC. Encoded it is 43 characters.
const (
	nonceRandom = 16
	nonceMACLen = 16
)

// newNonce makes a browser's nonce, signed under the first secret.
func (m *SessionManager) newNonce() string {
	b := make([]byte, nonceRandom, nonceRandom+nonceMACLen)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(append(b, nonceMAC(m.nonceKeys[0], b)...))
}

func nonceMAC(key, random []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("thumbmail csrf nonce v1\x00"))
	mac.Write(random)
	return mac.Sum(nil)[:nonceMACLen]
}

// csrfNonce is the request's nonce cookie when we issued it (under any
// of the operator's secrets), else "".
func (m *SessionManager) csrfNonce(r *http.Request) string {
	c, err := r.Cookie(m.csrfCookieName())
	if err != nil || len(c.Value) != base64.RawURLEncoding.EncodedLen(nonceRandom+nonceMACLen) {
		return ""
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c.Value)
	if err != nil || len(b) != nonceRandom+nonceMACLen {
		return ""
	}
	for _, k := range m.nonceKeys {
		if hmac.Equal(nonceMAC(k, b[:nonceRandom]), b[nonceRandom:]) {
			return c.Value
		}
	}
	return ""
}

// formToken reads the token field from a urlencoded or multipart body.
func formToken(r *http.Request) string {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(multipartMemory); err != nil {
			return ""
		}
	}
	return r.PostFormValue(CSRFField)
}

// CSRFToken is the token forms of this request's page must carry in the
// hidden field CSRFField ("" outside the CSRF middleware).
func CSRFToken(r *http.Request) string {
	if st, ok := r.Context().Value(csrfCtxKey{}).(*csrfState); ok {
		return st.token
	}
	return ""
}

// csrfSession is the session id the request's cookie names ("" when
// none): tokens are bound to it, so a form rendered for one session is
// refused in another (signing in again makes forms from before stale).
func (m *SessionManager) csrfSession(r *http.Request) string {
	id, _ := m.ID(r)
	return id
}

func (m *SessionManager) csrfToken(key []byte, nonce, session string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("thumbmail csrf v2\x00"))
	mac.Write([]byte(nonce))
	mac.Write([]byte{0})
	mac.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// validCSRF accepts a token made under any of the operator's secrets, so
// rotating keys does not break forms already on screen.
func (m *SessionManager) validCSRF(nonce, session, token string) bool {
	if token == "" {
		return false
	}
	for _, k := range m.csrfKeys {
		if hmac.Equal([]byte(m.csrfToken(k, nonce, session)), []byte(token)) {
			return true
		}
	}
	return false
}
