package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The shipped Caddyfile's site address and upstreams: the only things a
// user changes, and the only things the Caddy tests replace.
const (
	caddySite      = "mail.example.org {"
	caddyUpstreams = "reverse_proxy 127.0.0.1:8080 127.0.0.1:8081 {"
)

// startCaddy runs `caddy run` on a free loopback port in front of
// backends with contrib/caddy/Caddyfile, changed only in its site address
// (http:// on loopback) and upstream list, after a global block that keeps
// Caddy offline and local: no automatic HTTPS, no admin endpoint, bound
// to loopback, storage and autosave in a temp dir. It returns Caddy's URL.
func startCaddy(t *testing.T, backends []string) string {
	t.Helper()
	bin := findProgram(t, "caddy")
	dir := t.TempDir()
	b, err := os.ReadFile("../../contrib/caddy/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	shipped := string(b)
	for _, s := range []string{caddySite, caddyUpstreams} {
		if strings.Count(shipped, s) != 1 {
			t.Fatalf("contrib/caddy/Caddyfile does not hold %q exactly once", s)
		}
	}
	port := freePort(t)
	site := strings.Replace(shipped, caddySite, fmt.Sprintf("http://127.0.0.1:%d {", port), 1)
	site = strings.Replace(site, caddyUpstreams, "reverse_proxy "+strings.Join(backends, " ")+" {", 1)
	// A site address names a host to match, not an address to bind:
	// default_bind keeps Caddy on loopback, and without HTTP/3 it opens no
	// UDP port.
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
	default_bind 127.0.0.1
	storage file_system %s
	servers {
		protocols h1 h2
	}
}

%s`, filepath.Join(dir, "data"), site)
	confFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", confFile, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg-config"))
	logFile := filepath.Join(dir, "caddy.log")
	// Registered first, so it runs after Caddy has stopped.
	t.Cleanup(func() {
		log, _ := os.ReadFile(logFile)
		if strings.Contains(strings.ToLower(string(log)), "acme") || !strings.Contains(string(log), "automatic HTTPS is completely disabled") {
			t.Errorf("Caddy did not stay offline (automatic HTTPS); log:\n%s", log)
		}
	})
	startProcess(t, cmd, logFile)
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), logFile)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// TestCaddyTwoInstancesRedis: Caddy with the shipped Caddyfile on
// loopback in front of two thumbmail instances under /mail/, sharing a
// real Redis: sign in, read the inbox through both and a message, a
// restarted instance knows the session, sign out (both posts pass the
// anti-forgery and cross-origin checks through Caddy), and the old
// cookie then works nowhere. Caddy does not pass on the browser's own
// X-Forwarded-For, so the logged client IP is the real peer's.
func TestCaddyTwoInstancesRedis(t *testing.T) {
	redisURL := startRedis(t)
	findProgram(t, "caddy")
	d := startDemo(t)
	args := []string{"-imap", d.URL(), "-base-path", "/mail", "-trusted-proxies", "127.0.0.1,::1", "-session-store", redisURL}
	a, b := startInstance(t, args...), startInstance(t, args...)
	caddy := startCaddy(t, []string{a.hostPort(), b.hostPort()})
	testThroughProxy(t, proxy{"Caddy", caddy, "127.0.0.1"}, []*instance{a, b}, func() *instance { return startInstance(t, args...) })
}

// TestCaddyOneInstanceMemory: the same with the in-memory store and one
// instance.
func TestCaddyOneInstanceMemory(t *testing.T) {
	findProgram(t, "caddy")
	d := startDemo(t)
	a := startInstance(t, "-imap", d.URL(), "-base-path", "/mail", "-trusted-proxies", "127.0.0.1,::1")
	caddy := startCaddy(t, []string{a.hostPort()})
	testThroughProxy(t, proxy{"Caddy", caddy, "127.0.0.1"}, []*instance{a}, nil)
}
