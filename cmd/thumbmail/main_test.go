package main

import (
	"bytes"
	"context"
	"flag"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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
	for _, name := range []string{"listen", "imap", "ca-file", "session-keys", "session-idle", "session-max", "page-size", "demo", "demo-pop3", "pop3", "smtp", "smtp-saves-sent", "max-upload", "canned-replies", "signature", "mail-domain"} {
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
