package main

import (
	"bytes"
	"context"
	"flag"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("THUMBMAIL_LISTEN", "127.0.0.1:9999")
	t.Setenv("THUMBMAIL_IMAP", "imaps://mail.example.org")
	t.Setenv("THUMBMAIL_SESSION_IDLE", "10m")
	t.Setenv("THUMBMAIL_PAGE_SIZE", "25")
	t.Setenv("THUMBMAIL_DEMO", "true")
	c, err := parseConfig([]string{"-listen", "127.0.0.1:7777"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:7777" {
		t.Errorf("listen = %q: the flag must win over the environment", c.listen)
	}
	if c.imap != "imaps://mail.example.org" || c.sessionIdle != 10*time.Minute || c.pageSize != 25 || !c.demo {
		t.Errorf("environment not applied: %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := map[string][]string{
		"bad page size":  {"-page-size", "0"},
		"unknown flag":   {"-nope"},
		"extra argument": {"extra"},
		"negative idle":  {"-session-idle", "-1m"},
		"no upload":      {"-max-upload", "0"},
		"bad base path":  {"-base-path", "mail"},
		"dotted base":    {"-base-path", "/../mail"},
		"bad proxy":      {"-trusted-proxies", "10.0.0.0/99"},
		"zero drain":     {"-drain-timeout", "0s"},
	}
	for name, args := range tests {
		if _, err := parseConfig(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%s: parseConfig(%q) accepted", name, args)
		}
	}
	t.Setenv("THUMBMAIL_PAGE_SIZE", "many")
	if _, err := parseConfig(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "THUMBMAIL_PAGE_SIZE") {
		t.Errorf("a bad environment value should name the variable: %v", err)
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"-h"}, &out)
	if err != flag.ErrHelp {
		t.Fatalf("parseConfig(-h) = %v", err)
	}
	for _, name := range []string{"listen", "imap", "pop3", "ca-file", "session-keys", "session-idle", "session-max", "page-size", "demo", "demo-pop3",
		"log-format", "log-level", "healthcheck", "base-path", "trusted-proxies", "session-store", "metrics-listen", "drain-timeout", "shutdown-delay",
		"smtp", "smtp-saves-sent", "max-upload", "canned-replies", "signature", "mail-domain"} {
		if !strings.Contains(out.String(), "-"+name) || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("-h does not document -%s and %s", name, envName(name))
		}
	}
}

func TestRunRefusesBadSetup(t *testing.T) {
	tests := map[string][]string{
		"no server":       {"-listen", "127.0.0.1:0"},
		"bad scheme":      {"-listen", "127.0.0.1:0", "-imap", "http://x"},
		"short key":       {"-listen", "127.0.0.1:0", "-imap", "imaps://x", "-session-keys", "short"},
		"missing CA file": {"-listen", "127.0.0.1:0", "-imap", "imaps://x", "-ca-file", "/nonexistent.pem"},
		"imap and pop3":   {"-listen", "127.0.0.1:0", "-imap", "imaps://x", "-pop3", "pop3s://x"},
		"both demos":      {"-listen", "127.0.0.1:0", "-demo", "-demo-pop3"},
		"pop3 as imap":    {"-listen", "127.0.0.1:0", "-pop3", "imaps://x"},
		"imap as smtp":    {"-listen", "127.0.0.1:0", "-imap", "imaps://x", "-smtp", "imaps://y"},
	}
	for name, args := range tests {
		if err := run(context.Background(), args, &bytes.Buffer{}, nil); err == nil {
			t.Errorf("%s: run(%q) = nil, want an error", name, args)
		}
	}
}

// TestDemoPOP3 starts thumbmail as "-demo-pop3" would and uses it as a
// browser: sign in as demo/demo, see the Inbox over POP3 (no folder
// controls, the POP3 hint), open a message.
func TestDemoPOP3(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-demo-pop3", "-log-level", "error"}, &stderr, func(a string) { addrc <- a })
	}()
	var base string
	select {
	case base = <-addrc:
	case err := <-done:
		t.Fatalf("run(-demo-pop3) = %v before listening", err)
	case <-time.After(20 * time.Second):
		t.Fatal("run(-demo-pop3) did not start listening")
	}
	base = "http://" + base
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run(-demo-pop3) after shutdown = %v", err)
		}
		if !strings.Contains(stderr.String(), "demo (POP3)") {
			t.Errorf("stderr does not tell how to sign in to the POP3 demo: %q", stderr.String())
		}
	}()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, page := get("/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("login page has no csrf field: %s", page)
	}
	resp, err := c.PostForm(base+"/login", url.Values{"username": {"demo"}, "password": {"demo"}, "csrf": {html.UnescapeString(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/f/INBOX" {
		t.Fatalf("POST /login ended at %d %s, want the Inbox; body %.300s", resp.StatusCode, resp.Request.URL.Path, b)
	}
	list := string(b)
	if !strings.Contains(list, "POP3 account") {
		t.Errorf("Inbox lacks the POP3 hint: the demo is not serving POP3")
	}
	links := regexp.MustCompile(`href="(/f/INBOX/[^"/?]+)"`).FindAllStringSubmatch(list, -1)
	if len(links) == 0 {
		t.Fatalf("demo Inbox over POP3 lists no messages")
	}
	if code, body := get(links[0][1]); code != http.StatusOK || !strings.Contains(body, `class="body`) {
		t.Errorf("GET %s = %d, want the message", links[0][1], code)
	}
}

// TestEveryFlagDocumented: each flag -h lists is in the README's flags
// table, and each can be set from its THUMBMAIL_ variable.
func TestEveryFlagDocumented(t *testing.T) {
	var out bytes.Buffer
	parseConfig([]string{"-h"}, &out)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`(?m)^  -(\S+)`).FindAllStringSubmatch(out.String(), -1)
	if len(names) < 15 {
		t.Fatalf("-h lists %d flags", len(names))
	}
	for _, m := range names {
		if !strings.Contains(string(readme), "| `-"+m[1]+"` |") {
			t.Errorf("README flags table lacks -%s", m[1])
		}
	}
	env := map[string]string{
		"THUMBMAIL_BASE_PATH": "/mail", "THUMBMAIL_TRUSTED_PROXIES": "10.0.0.0/8",
		"THUMBMAIL_SESSION_STORE": "redis://r:6379/1", "THUMBMAIL_METRICS_LISTEN": "127.0.0.1:9090",
		"THUMBMAIL_DRAIN_TIMEOUT": "7s", "THUMBMAIL_SHUTDOWN_DELAY": "3s",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := parseConfig(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.basePath != "/mail" || c.trustedProxies != "10.0.0.0/8" || c.sessionStore != "redis://r:6379/1" ||
		c.metricsListen != "127.0.0.1:9090" || c.drainTimeout != 7*time.Second || c.shutdownDelay != 3*time.Second {
		t.Errorf("environment not applied: %+v", c)
	}
}

// TestREADMEConfigsAsTested: the README shows the nginx and Caddy
// configs exactly as shipped (what TestNginx* and TestCaddy* run).
func TestREADMEConfigsAsTested(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../../contrib/nginx/thumbmail.conf", "../../contrib/caddy/Caddyfile"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "\n"+string(b)+"```") {
			t.Errorf("README does not show %s as it is", f)
		}
	}
}

// TestHealthcheckFollowsBasePath: -healthcheck asks <base path>/healthz.
func TestHealthcheckFollowsBasePath(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /mail/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := healthcheck(addr, "/mail"); err != nil {
		t.Errorf("healthcheck(%s, /mail) = %v", addr, err)
	}
	if err := healthcheck(addr, ""); err == nil {
		t.Errorf("healthcheck(%s, \"\") = nil, want an error (404)", addr)
	}
}
