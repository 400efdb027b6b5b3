package web

import (
	"context"
	"crypto/hmac"
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
// derived from the operator's secrets, of a random per-browser cookie and
// of the session id the browser's session cookie names (a signed
// double-submit cookie bound to the session): someone who can plant a
// cookie they got from us still cannot compute a token for the victim's
// session, whose id only the victim's encrypted cookie holds. The cookie is set on the first request that
// lacks it, so every rendered form can carry the token (CSRFToken).
//
// POST, PUT, PATCH and DELETE must carry the token in the form field
// CSRFField; otherwise deny answers. Multipart forms are parsed here (so
// limit the body size before this middleware).
func (m *SessionManager) CSRF(deny http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nonce := ""
			if c, err := r.Cookie(m.csrfCookieName()); err == nil && len(c.Value) == 43 {
				nonce = c.Value
			}
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
			default:
				if nonce == "" || !m.validCSRF(nonce, m.csrfSession(r), formToken(r)) {
					deny.ServeHTTP(w, r)
					return
				}
			}
			if nonce == "" {
				nonce = randomString(32)
				http.SetCookie(w, &http.Cookie{
					Name: m.csrfCookieName(), Value: nonce, Path: m.cookiePath(r),
					HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: IsHTTPS(r),
				})
			}
			ctx := context.WithValue(r.Context(), csrfCtxKey{}, m.csrfToken(m.csrfKeys[0], nonce, m.csrfSession(r)))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
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
	t, _ := r.Context().Value(csrfCtxKey{}).(string)
	return t
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
