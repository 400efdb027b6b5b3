package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// summaryRE picks from fail2ban-regex's report the lines whose date it
// understood, the lines read and the lines matched.
var summaryRE = regexp.MustCompile(`(?s)\[(\d+)\] ExYear.*Lines: (\d+) lines, 0 ignored, (\d+) matched`)

const filterFile = "../../contrib/fail2ban/filter.d/thumbmail.conf"

// failRegexps reads the failregex lines of the shipped fail2ban filter
// and turns them into Go regexps (<HOST> becomes an address group).
func failRegexps(t *testing.T) []*regexp.Regexp {
	t.Helper()
	b, err := os.ReadFile(filterFile)
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

// failedLogins is what failedLoginLog does: sign-ins with a wrong
// password, from a client behind a trusted proxy (X-Forwarded-For), most
// with user names that try to smuggle an address into the line or to
// start a forged line of their own.
// A name with a line break is refused before the mail server is asked, so
// it is no failed sign-in to count (logged: false), and it must not forge
// one either.
var failedLogins = []struct {
	user, ip string
	logged   bool
}{
	{"demo", "203.0.113.5", true},
	{`x" ip=192.0.2.55 "`, "203.0.113.5", true},
	{`y","ip":"192.0.2.56`, "203.0.113.5", true},
	{"z ip=192.0.2.57", "2001:db8::7", true},
	{"w\ntime=2026-01-02T03:04:05Z level=WARN msg=\"login failed\" user=a ip=192.0.2.58\n{\"msg\":\"login failed\",\"ip\":\"192.0.2.59\"}", "203.0.113.6", false},
}

// failedLoginLog returns the real log of an instance (log format text or
// json) after the failedLogins and one right sign-in.
func failedLoginLog(t *testing.T, format string) string {
	t.Helper()
	d := startDemo(t)
	in := startInstance(t, "-imap", d.URL(), "-log-format", format, "-trusted-proxies", "127.0.0.1")
	for _, f := range failedLogins {
		br := newBrowser(t, in.srv.URL)
		p := br.post("/login", "/login", url.Values{"username": {f.user}, "password": {"wrong"}}, map[string]string{"X-Forwarded-For": f.ip})
		if p.status != http.StatusUnauthorized {
			t.Fatalf("%s: wrong password for %q = %d, want 401", format, f.user, p.status)
		}
	}
	br := newBrowser(t, in.srv.URL)
	if p := br.post("/login", "/login", url.Values{"username": {"demo"}, "password": {testPassword}}, map[string]string{"X-Forwarded-For": "198.51.100.9"}); p.status != http.StatusSeeOther {
		t.Fatalf("%s: right password = %d", format, p.status)
	}
	return in.logText()
}

// wantBanned is the address of every logged failed sign-in, in order.
func wantBanned() []string {
	var ips []string
	for _, f := range failedLogins {
		if f.logged {
			ips = append(ips, f.ip)
		}
	}
	return ips
}

// TestFail2banFilter runs the shipped filter's expressions (as Go
// regexps) over real text and JSON logs.
func TestFail2banFilter(t *testing.T) {
	res := failRegexps(t)
	for _, format := range []string{"text", "json"} {
		logs := failedLoginLog(t, format)
		if got := banned(res, logs); !slices.Equal(got, wantBanned()) {
			t.Errorf("%s: filter found %q, want %q; log:\n%s", format, got, wantBanned(), logs)
		}
	}
}

// TestFail2banRegex runs the real fail2ban-regex with the shipped filter
// over real text and JSON logs: every failed sign-in matches once, with
// the client's address, and no user name smuggles in another.
func TestFail2banRegex(t *testing.T) {
	bin := findProgram(t, "fail2ban-regex")
	filter, err := filepath.Abs(filterFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		logs := failedLoginLog(t, format)
		logFile := filepath.Join(t.TempDir(), "thumbmail.log")
		if err := os.WriteFile(logFile, []byte(logs), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "--raw", "--out", "ip", logFile, filter).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: fail2ban-regex --out ip: %v\n%s", format, err, out)
		}
		if got := strings.Fields(string(out)); !slices.Equal(got, wantBanned()) {
			t.Errorf("%s: fail2ban-regex found %q, want %q; log:\n%s", format, got, wantBanned(), logs)
		}
		// The summary: every line has a date fail2ban understands, and
		// only the failed sign-ins match.
		out, err = exec.Command(bin, "--raw", logFile, filter).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: fail2ban-regex: %v\n%s", format, err, out)
		}
		m := summaryRE.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("%s: no summary in the output of fail2ban-regex:\n%s", format, out)
		}
		lines := strings.Count(strings.TrimSpace(logs), "\n") + 1
		if dated, read, matched := m[1], m[2], m[3]; dated != fmt.Sprint(lines) || read != fmt.Sprint(lines) || matched != fmt.Sprint(len(wantBanned())) {
			t.Errorf("%s: fail2ban-regex read %s lines, %s with a date, %s matched; want %d, %d, %d:\n%s", format, read, dated, matched, lines, lines, len(wantBanned()), out)
		}
	}
}

// TestFail2banJail loads the shipped jail and filter with the real
// fail2ban-client (-t tests the configuration, -d dumps what the server
// would be told), on a copy of the system's /etc/fail2ban without its own
// jails, logpath pointing at a temp file.
func TestFail2banJail(t *testing.T) {
	bin := findProgram(t, "fail2ban-client")
	dir := t.TempDir()
	conf := filepath.Join(dir, "fail2ban")
	if err := os.CopyFS(conf, os.DirFS("/etc/fail2ban")); err != nil {
		t.Fatalf("copying /etc/fail2ban: %v", err)
	}
	for _, sub := range []string{"jail.d", "fail2ban.d"} {
		os.RemoveAll(filepath.Join(conf, sub))
		if err := os.Mkdir(filepath.Join(conf, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	filter, err := os.ReadFile(filterFile)
	if err != nil {
		t.Fatal(err)
	}
	jail, err := os.ReadFile("../../contrib/fail2ban/jail.d/thumbmail.conf")
	if err != nil {
		t.Fatal(err)
	}
	const shippedLog = "logpath  = /var/log/thumbmail.log\n"
	if !strings.Contains(string(jail), shippedLog) {
		t.Fatalf("the shipped jail has no line %q", shippedLog)
	}
	logFile := filepath.Join(dir, "thumbmail.log")
	if err := os.WriteFile(logFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	jail = []byte(strings.Replace(string(jail), shippedLog, "logpath  = "+logFile+"\n", 1))
	for f, b := range map[string][]byte{"filter.d/thumbmail.conf": filter, "jail.d/thumbmail.conf": jail} {
		if err := os.WriteFile(filepath.Join(conf, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(bin, "-c", conf, "-t").CombinedOutput(); err != nil {
		t.Fatalf("fail2ban-client -t = %v:\n%s", err, out)
	}
	out, err := exec.Command(bin, "-c", conf, "-d").CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-client -d = %v:\n%s", err, out)
	}
	for _, want := range []string{
		`['add', 'thumbmail', `,
		`['multi-set', 'thumbmail', 'addfailregex', [`,
		`['set', 'thumbmail', 'maxretry', 5]`,
		`['set', 'thumbmail', 'addlogpath', '` + logFile + `', `,
		`['start', 'thumbmail']`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("fail2ban-client -d does not say %s:\n%s", want, out)
		}
	}
}
