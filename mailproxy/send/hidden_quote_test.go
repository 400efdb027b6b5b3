package send

import (
	"strings"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

const preheaderMail = "From: Shop <shop@example.com>\r\n" +
	"To: ann@example.org\r\n" +
	"Subject: Offer\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	`<html><body>` +
	`<div style="display:none !important;font-size:1px;max-height:0;overflow:hidden;mso-hide:all">PREHEADER unseen</div>` +
	`<span style="visibility:hidden">HIDDEN-VIS</span><div hidden>HIDDEN-ATTR</div>` +
	`<div style="font-size:0">HIDDEN-FONT<p style="font-size:15px">Dear Ann,</p></div>` +
	`<div style="max-height:0px;overflow:hidden">HIDDEN-CLIP</div><div style="opacity:0">HIDDEN-OPACITY</div>` +
	`<div style="mso-hide:all">HIDDEN-MSO</div>` +
	`<p>Our offer ends today.</p></body></html>` + "\r\n"

// TestHiddenTextNotQuoted: a reply or forward quotes the text the message
// page showed, without the hidden preheader and the other hidden text
// (OriginalText reads the sanitized HTML of the message).
func TestHiddenTextNotQuoted(t *testing.T) {
	m := message.ParseMessage(strings.NewReader(preheaderMail), 0, mailproxy.ViewOptions{}, nil)
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
