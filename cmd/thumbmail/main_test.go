package main

import (
	"bytes"
	"flag"
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
	for _, name := range []string{"listen", "imap", "ca-file", "session-keys", "session-idle", "session-max", "page-size", "demo", "smtp", "smtp-saves-sent", "max-upload", "canned-replies", "signature", "mail-domain"} {
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
		"pop3 as imap":    {"-listen", "127.0.0.1:0", "-pop3", "imaps://x"},
		"imap as smtp":    {"-listen", "127.0.0.1:0", "-imap", "imaps://x", "-smtp", "imaps://y"},
	}
	for name, args := range tests {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%s: run(%q) = nil, want an error", name, args)
		}
	}
}
