package handlers

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/templates"
)

// TestNoCommandInjection sends folder names, message ids and part numbers
// holding CR, LF, NUL and quotes through the real router, and reads what
// reached the IMAP server: no injected command (tagged X1..X9) may appear
// as a line of its own, nothing is deleted, and every answer is a 404.
func TestNoCommandInjection(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	msg := messageLinks(e.get(c, "/f/INBOX").body)[0]
	folders := []string{
		"INBOX\r\nX1 DELETE Archive",
		"INBOX\nX2 DELETE Archive",
		"INBOX\rX3 DELETE Archive",
		"INBOX\x00X4 DELETE Archive",
		`INBOX" X5 DELETE "Archive`,
		"INBOX {5}\r\nX6 DELETE Archive",
		"INBOX\\\" X7 DELETE Archive",
	}
	var paths []string
	for _, f := range folders {
		enc := templates.EncodeFolder(f)
		paths = append(paths, "/f/"+enc, "/f/"+enc+"/1-1", "/f/"+enc+"/1-1/part/1")
	}
	for _, tail := range []string{"%0D%0AX8%20DELETE%20Archive", "%0AX8%20DELETE%20Archive", "%00X8", "%22%20X8%20DELETE"} {
		paths = append(paths, msg+tail, msg+"/part/1"+tail, "/f/INBOX"+tail)
	}
	paths = append(paths, msg+"/part/1.%0D%0AX9%20DELETE%20Archive", "/f/INBOX?page=1%0D%0AX9%20DELETE%20Archive&top=2%0AX9")
	for _, p := range paths {
		r := e.get(c, p)
		if r.status != http.StatusNotFound && !(strings.HasPrefix(p, "/f/INBOX?") && r.status == http.StatusOK) {
			t.Errorf("GET %q = %d, want 404", p, r.status)
		}
	}
	// A quote in a real folder name is fine: it is quoted on the wire.
	if r := e.get(c, "/f/"+templates.EncodeFolder(`We "quote"`)); r.status != http.StatusNotFound {
		t.Errorf("missing folder with quotes = %d, want 404", r.status)
	}
	wire := e.proxy.upstream()
	if m := regexp.MustCompile(`(?m)^X\d [A-Z]+`).FindString(wire); m != "" {
		t.Errorf("an injected command reached the IMAP server as a line: %q", m)
	}
	// Names with quotes arrive as one quoted string ("INBOX\" X5 ...");
	// a command of its own would start a line.
	if m := regexp.MustCompile(`(?m)^\S+ (DELETE|LOGOUT|EXPUNGE|RENAME)`).FindString(wire); m != "" {
		t.Errorf("the IMAP server received the command line %q", m)
	}
	if strings.Contains(wire, "\x00") {
		t.Errorf("the IMAP server received a NUL byte")
	}
	if _, err := e.demo.User().Status("Archive", &imap.StatusOptions{NumMessages: true}); err != nil {
		t.Errorf("Archive is gone: %v", err)
	}
	if r := e.get(c, "/folders"); r.status != http.StatusOK {
		t.Errorf("session broken after the attempts: %d", r.status)
	}
	// Sign-in fields never reach LOGIN with line breaks either.
	for _, user := range []string{"demo\r\nX9 DELETE Archive", "demo\x00", "demo\nX9"} {
		r := e.do(e.client(), "POST", "/login", url.Values{"username": {user}, "password": {"demo"}})
		if r.status != http.StatusUnauthorized {
			t.Errorf("login as %q = %d, want 401", user, r.status)
		}
	}
	if strings.Contains(e.proxy.upstream(), "X9") {
		t.Errorf("a sign-in field with a line break reached the server")
	}
}
