package main

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// failRegexps reads the failregex lines of the shipped fail2ban filter
// and turns them into Go regexps (<HOST> becomes an address group).
func failRegexps(t *testing.T) []*regexp.Regexp {
	t.Helper()
	b, err := os.ReadFile("../../contrib/fail2ban/filter.d/thumbmail.conf")
	if err != nil {
		t.Fatal(err)
	}
	var out []*regexp.Regexp
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "failregex =") {
			in, line = true, strings.TrimPrefix(line, "failregex =")
		} else if in && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			in = false
		}
		if line = strings.TrimSpace(line); in && line != "" {
			re := strings.ReplaceAll(line, "<HOST>", `(?P<host>[0-9A-Fa-f.:]+)`)
			out = append(out, regexp.MustCompile(re))
		}
	}
	if len(out) != 2 {
		t.Fatalf("found %d failregex lines, want 2 (text and JSON)", len(out))
	}
	return out
}

// banned returns the addresses the filter finds in a log.
func banned(res []*regexp.Regexp, logs string) []string {
	var hosts []string
	for _, line := range strings.Split(logs, "\n") {
		for _, re := range res {
			if m := re.FindStringSubmatch(line); m != nil {
				hosts = append(hosts, m[re.SubexpIndex("host")])
			}
		}
	}
	return hosts
}

// TestFail2banFilter signs in wrongly (once with a user name that tries
// to smuggle an address into the line) and rightly, in text and JSON
// logs, and runs the shipped filter over the real log.
func TestFail2banFilter(t *testing.T) {
	res := failRegexps(t)
	for _, format := range []string{"text", "json"} {
		d := startDemo(t)
		in := startInstance(t, "-imap", d.URL(), "-log-format", format, "-trusted-proxies", "127.0.0.1")
		for _, user := range []string{"demo", `x" ip=192.0.2.55 "`, `y","ip":"192.0.2.56`} {
			br := newBrowser(t, in.srv.URL)
			p := br.post("/login", "/login", url.Values{"username": {user}, "password": {"wrong"}}, map[string]string{"X-Forwarded-For": "203.0.113.5"})
			if p.status != http.StatusUnauthorized {
				t.Fatalf("%s: wrong password = %d, want 401", format, p.status)
			}
		}
		br := newBrowser(t, in.srv.URL)
		if p := br.post("/login", "/login", url.Values{"username": {"demo"}, "password": {testPassword}}, nil); p.status != http.StatusSeeOther {
			t.Fatalf("%s: right password = %d", format, p.status)
		}
		got := banned(res, in.logText())
		if len(got) != 3 || got[0] != "203.0.113.5" || got[1] != "203.0.113.5" || got[2] != "203.0.113.5" {
			t.Errorf("%s: filter found %q, want 203.0.113.5 three times; log:\n%s", format, got, in.logText())
		}
	}
}
