package templates

import (
	"strings"
	"testing"
)

func TestEncodeFolder(t *testing.T) {
	names := []string{"INBOX", "Sent", "Projects/Thumbmail", "Sent Items", `Quote"d`, "A&B", "Café", "Reisen – Fotos", "日本語", "~tilde", ".hidden", "100%", "a.b", "x?y#z", "..", "/"}
	for _, name := range names {
		seg := EncodeFolder(name)
		if strings.ContainsAny(seg, "/?#% \"&") {
			t.Errorf("EncodeFolder(%q) = %q: not a safe path segment", name, seg)
		}
		back, ok := DecodeFolder(seg)
		if !ok || back != name {
			t.Errorf("DecodeFolder(EncodeFolder(%q)) = %q, %v", name, back, ok)
		}
	}
	if EncodeFolder("INBOX") != "INBOX" {
		t.Errorf("plain names should stay readable")
	}
	for _, bad := range []string{"", "~", "~!!", "a b", "~" + "%%"} {
		if name, ok := DecodeFolder(bad); ok {
			t.Errorf("DecodeFolder(%q) = %q, want failure", bad, name)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := map[int64]string{0: "0 B", 999: "999 B", 1500: "1 KB", 30000: "29 KB", 2500000: "2.4 MB", 25 << 20: "25 MB"}
	for in, want := range tests {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatInt(t *testing.T) {
	tests := map[int]string{0: "0", 12: "12", 999: "999", 1000: "1,000", 2001: "2,001", 100000: "100,000", 1234567: "1,234,567"}
	for in, want := range tests {
		if got := formatInt(in); got != want {
			t.Errorf("formatInt(%d) = %q, want %q", in, got, want)
		}
	}
}
