package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiscoverSetup: -discover needs an allowlist; bad patterns and
// table files are refused at start; a discovering instance starts
// without any pinned server and offers the Advanced choices.
func TestDiscoverSetup(t *testing.T) {
	dir := t.TempDir()
	badTable := filepath.Join(dir, "bad")
	os.WriteFile(badTable, []byte("example.org imap+insecure://imap.example.org\n"), 0o644)
	goodTable := filepath.Join(dir, "good")
	os.WriteFile(goodTable, []byte("# test\nexample.org imaps://imap.example.org smtps://smtp.example.org\n"), 0o644)
	for name, args := range map[string][]string{
		"no allowlist":     {"-discover"},
		"bad pattern":      {"-discover", "-allow-domains", "exa mple..org"},
		"plain-text table": {"-domain-table", badTable},
		"missing table":    {"-domain-table", filepath.Join(dir, "none")},
	} {
		if err := run(context.Background(), append([]string{"-listen", "127.0.0.1:0"}, args...), &bytes.Buffer{}, nil); err == nil {
			t.Errorf("%s: run(%q) = nil, want an error", name, args)
		}
	}

	t.Setenv("THUMBMAIL_ALLOW_DOMAINS", "example.org,*.example.net")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-discover", "-user-servers", "-domain-table", goodTable}, io.Discard, func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run = %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("thumbmail did not start")
	}
	resp, err := http.Get("http://" + addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"<summary>Advanced</summary>", `name="proto" value="pop3"`, `name="host"`, `name="security" value="starttls"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}
