package message

import (
	"strings"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// bidiControls are every explicit directional formatting character.
var bidiControls = []rune{
	0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
	0x2066, 0x2067, 0x2068, 0x2069,
	0x200E, 0x200F, 0x061C,
}

func hasBidi(s string) bool { return strings.IndexFunc(s, IsBidiControl) >= 0 }

func TestIsBidiControl(t *testing.T) {
	for _, r := range bidiControls {
		if !IsBidiControl(r) {
			t.Errorf("IsBidiControl(%U) = false", r)
		}
	}
	for _, r := range []rune{'a', ' ', 0x2029, 0x200D, 0x2070, 0x05D0, 0x0627, 0x2065} {
		if IsBidiControl(r) {
			t.Errorf("IsBidiControl(%U) = true", r)
		}
	}
}

// TestHeaderTextBidi: subjects and names lose the controls that reorder
// what is shown, whether raw or in an encoded-word; right-to-left
// letters stay.
func TestHeaderTextBidi(t *testing.T) {
	for _, r := range bidiControls {
		raw := "invoice" + string(r) + "fdp.exe"
		if got := DecodeHeaderText(raw); got != "invoicefdp.exe" {
			t.Errorf("DecodeHeaderText(%q) = %q", raw, got)
		}
	}
	tests := map[string]string{
		"=?utf-8?q?Your_invoice_=E2=80=AEfdp.exe?=":     "Your invoice fdp.exe",
		"=?utf-8?b?aW52b2ljZeKArmZkcC5leGU=?=":          "invoicefdp.exe",
		"=?utf-8?q?=E2=81=A7=D7=A9=D7=9C=D7=95=D7=9D?=": "שלום",
		"a\u2028b\u0085c\u2029d":                        "a b c d",
		"\u202e\u202e":                                  "",
	}
	for in, want := range tests {
		if got := DecodeHeaderText(in); got != want {
			t.Errorf("DecodeHeaderText(%q) = %q, want %q", in, got, want)
		}
	}
}

const bidiMail = "From: =?utf-8?q?Bank=E2=80=AE_gnipleh?= <x@example.com>\r\n" +
	"To: ann@example.org\r\n" +
	"Subject: =?utf-8?q?Payment_=E2=80=AEfdp.exe?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n" +
	"\r\n" +
	"--b\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"See attached.\r\n" +
	"--b\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe\r\n" +
	"\r\n" +
	"MZ\r\n" +
	"--b\r\n" +
	"Content-Type: application/octet-stream; name=\"=?utf-8?q?scan=E2=81=A7fdp.scr?=\"\r\n" +
	"\r\n" +
	"MZ\r\n" +
	"--b\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename=\"raw\u202Egpj.js\"\r\n" +
	"\r\n" +
	"x\r\n" +
	"--b\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"Subject: Fwd \u202Elmth.exe\r\n" +
	"\r\n" +
	"inner\r\n" +
	"--b--\r\n"

// TestParseMessageBidi: the parsed message (the POP3 path, and IMAP
// bodies read whole) shows subject, sender and attachment names without
// bidirectional controls, and a download is named the same.
func TestParseMessageBidi(t *testing.T) {
	m := ParseMessage(strings.NewReader(bidiMail), 0, mailproxy.ViewOptions{}, nil)
	if m.Subject != "Payment fdp.exe" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if len(m.From) != 1 || m.From[0].Name != "Bank gnipleh" {
		t.Errorf("From = %+v", m.From)
	}
	want := []string{"invoicefdp.exe", "scanfdp.scr", "rawgpj.js", "Fwd lmth.exe.eml"}
	if len(m.Attachments) != len(want) {
		t.Fatalf("attachments %+v, want %q", m.Attachments, want)
	}
	for i, a := range m.Attachments {
		if a.Name != want[i] || hasBidi(a.Name) {
			t.Errorf("attachment %d named %q, want %q", i, a.Name, want[i])
		}
		b, _, err := ExtractPart(strings.NewReader(bidiMail), a.Part)
		if err != nil || b.Name != a.Name {
			t.Errorf("ExtractPart(%s) = %q, %v; want %q", a.Part, b.Name, err, a.Name)
		}
	}
}
