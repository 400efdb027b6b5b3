package handlers

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestHead is issue 11's sixth report: HEAD answered 405 everywhere,
// /healthz included. HEAD now answers wherever GET does, with GET's
// status and headers and no body; a HEAD of a message marks nothing read;
// a HEAD of a POST-only URL is still refused.
func TestHead(t *testing.T) {
	e := newEnv(t, nil)
	anon := e.client()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/login": 200, "/f/INBOX": http.StatusSeeOther, "/no-such-page": 404, "/logout": 405} {
		r := e.do(anon, "HEAD", path, nil)
		if r.status != want {
			t.Errorf("HEAD %s = %d, want %d", path, r.status, want)
		}
		if r.body != "" {
			t.Errorf("HEAD %s sent a body of %d bytes", path, len(r.body))
		}
	}
	c := e.login()
	list := e.get(c, "/f/INBOX").body
	row := regexp.MustCompile(`<li class="u">(?:<label.*?</label>\s*)?<a href="(/f/INBOX/[0-9-]+)`).FindStringSubmatch(list)
	if row == nil {
		t.Fatal("no unread message on page 1")
	}
	for _, path := range []string{"/f/INBOX", "/folders", row[1]} {
		r := e.do(c, "HEAD", path, nil)
		if r.status != 200 || r.body != "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("HEAD %s signed in = %d, %q, %d bytes", path, r.status, r.header.Get("Content-Type"), len(r.body))
		}
	}
	if again := e.get(c, "/f/INBOX").body; !strings.Contains(again, `<li class="u">`) || !regexp.MustCompile(`<li class="u">(?:<label.*?</label>\s*)?<a href="`+regexp.QuoteMeta(row[1])).MatchString(again) {
		t.Errorf("a HEAD of %s marked it read", row[1])
	}
}
