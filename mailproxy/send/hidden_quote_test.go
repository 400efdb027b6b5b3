package send

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// preheaderMail is an HTML newsletter whose hidden preheader and other
// hidden text must never be shown, quoted or previewed.
func preheaderMail(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hidden", "preheader.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHiddenTextNotQuoted: a reply or forward quotes the text the message
// page showed, without the hidden preheader and the other hidden text
// (OriginalText reads the sanitized HTML of the message).
func TestHiddenTextNotQuoted(t *testing.T) {
	m := message.ParseMessage(strings.NewReader(preheaderMail(t)), 0, mailproxy.ViewOptions{}, nil)
	if m.Body.HTML == "" {
		t.Fatalf("no HTML body: %+v", m.Body)
	}
	for _, f := range []func(*mailproxy.Message) string{OriginalText,
		func(m *mailproxy.Message) string { return QuoteText(m, "today") },
		func(m *mailproxy.Message) string { return ForwardText(m, "today") }} {
		got := f(m)
		if strings.Contains(got, "HIDDEN") || strings.Contains(got, "PREHEADER") {
			t.Errorf("hidden text quoted: %q (sanitized HTML %q)", got, m.Body.HTML)
		}
		if !strings.Contains(got, "Dear Ann,") || !strings.Contains(got, "Our offer ends today.") {
			t.Errorf("visible text missing: %q", got)
		}
	}
}
