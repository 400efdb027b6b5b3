package dovecottest

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"testing"
)

func TestRealWorldMessages(t *testing.T) {
	shapes := RealWorldShapes()
	if len(shapes) < 50 {
		t.Errorf("%d shapes, want at least 50", len(shapes))
	}
	if len(slices.Compact(slices.Sorted(slices.Values(shapes)))) != len(shapes) {
		t.Errorf("shape names are not unique: %v", shapes)
	}

	a, b := RealWorld(1), RealWorld(1)
	if len(a) != len(shapes) {
		t.Fatalf("RealWorld(1) has %d messages, want one per shape (%d)", len(a), len(shapes))
	}
	var names []string
	for i, m := range a {
		names = append(names, m.Name)
		if m.Name != b[i].Name || !bytes.Equal(m.Raw, b[i].Raw) {
			t.Errorf("message %d (%s) differs between two calls with the same seed", i, m.Name)
		}
		for j, c := range m.Raw {
			if c == '\n' && (j == 0 || m.Raw[j-1] != '\r') {
				t.Errorf("%s: bare LF at byte %d", m.Name, j)
				break
			}
			if c == '\r' && (j+1 == len(m.Raw) || m.Raw[j+1] != '\n') {
				t.Errorf("%s: bare CR at byte %d", m.Name, j)
				break
			}
		}
		if len(m.Raw) == 0 {
			t.Errorf("%s is empty", m.Name)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(shapes))) {
		t.Errorf("RealWorld(1) shapes %v, want %v", names, shapes)
	}
	if raw := RealWorldMessages(1); len(raw) != len(a) || !bytes.Equal(raw[3], a[3].Raw) {
		t.Errorf("RealWorldMessages(1) does not match RealWorld(1)")
	}

	// Another seed: another order, other bytes, the same shapes.
	c := RealWorld(2)
	var cNames []string
	for _, m := range c {
		cNames = append(cNames, m.Name)
	}
	if slices.Equal(names, cNames) {
		t.Errorf("seeds 1 and 2 give the same order")
	}
	if !slices.Equal(slices.Sorted(slices.Values(cNames)), slices.Sorted(slices.Values(shapes))) {
		t.Errorf("RealWorld(2) has other shapes")
	}

	byName := map[string][]byte{}
	for _, m := range a {
		byName[m.Name] = m.Raw
	}
	for _, m := range c {
		if bytes.Equal(m.Raw, byName[m.Name]) {
			t.Errorf("%s is the same for seeds 1 and 2", m.Name)
		}
	}

	// The shapes are what they say.
	header := func(name string) string {
		raw := byName[name]
		i := bytes.Index(raw, []byte("\r\n\r\n"))
		if i < 0 {
			return string(raw)
		}
		return string(raw[:i])
	}
	if n := len(header("huge-header")); n < 1<<20 {
		t.Errorf("huge-header has a %d-byte header, want 1 MB", n)
	}
	if n := len(byName["html-long-line"]); n < 100<<10 {
		t.Errorf("html-long-line is %d bytes, want 100 KB", n)
	}
	if n := bytes.Count(byName["many-attachments"], []byte("Content-Disposition: attachment")); n != 40 {
		t.Errorf("many-attachments has %d attachments, want 40", n)
	}
	if n := len(header("giant-references")); n < 300<<10 {
		t.Errorf("giant-references has a %d-byte header, want 300 KB", n)
	}
	long := byName["long-line"]
	if i := bytes.LastIndex(long, []byte("\r\n")); len(long)-i < 200<<10 {
		t.Errorf("long-line's last line is %d bytes, want 200 KB", len(long)-i)
	}
	if n := strings.Count(header("huge-to"), "@example.com>"); n < 499 {
		t.Errorf("huge-to has %d addresses", n)
	}
	if n := bytes.Count(byName["deep-nesting"], []byte("Content-Type: multipart/mixed")); n != 40 {
		t.Errorf("deep-nesting has %d multipart levels, want 40", n)
	}
	if !bytes.Contains(byName["nul-bytes"], []byte{0}) {
		t.Errorf("nul-bytes has no NUL")
	}
	if bytes.Contains(byName["header-only"], []byte("\r\n\r\n")) {
		t.Errorf("header-only has a body")
	}
	if !bytes.HasSuffix(byName["empty-body"], []byte("\r\n\r\n")) {
		t.Errorf("empty-body has a body")
	}
	if !bytes.HasPrefix(byName["header-leading-space"], []byte(" ")) {
		t.Errorf("header-leading-space does not start with white space")
	}
	if bytes.Contains(byName["no-mime-version"], []byte("MIME-Version")) {
		t.Errorf("no-mime-version has one")
	}
	for name, want := range map[string]string{
		"html-newsletter":            "Content-Type: text/html",
		"bounce-dsn":                 "message/delivery-status",
		"bounce-headers":             "text/rfc822-headers",
		"smime-signed":               "application/pkcs7-signature",
		"pgp-signed":                 "application/pgp-signature",
		"pgp-encrypted":              "multipart/encrypted",
		"smime-encrypted":            "application/pkcs7-mime",
		"tnef":                       "application/ms-tnef",
		"calendar-invite":            "method=REQUEST",
		"charset-unknown":            "x-unknown-foo",
		"iso-2022-jp":                "\x1b$B",
		"gb2312":                     "charset=\"gb2312\"",
		"koi8-r":                     "charset=koi8-r",
		"windows-1252":               "\x93Smart quotes\x94",
		"related-cid":                "cid:logo.png@01DA1234",
		"related-html-only":          `type="text/html"`,
		"html-deep-quotes":           "<blockquote",
		"forward-of-forward":         "--middle-fwd",
		"attachment-rfc2231":         "filename*0*=",
		"attachment-path-separators": "../../../etc/passwd",
		"rfc2047-split":              "=?UTF-8?B?IOKC?= =?UTF-8?B?rA==?=",
	} {
		if !bytes.Contains(byName[name], []byte(want)) {
			t.Errorf("%s lacks %q", name, want)
		}
	}

	// Apart from the deliberately broken headers, Go's parser reads them.
	broken := map[string]bool{"header-leading-space": true, "header-no-colon": true, "header-only": true}
	for _, m := range a {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if broken[m.Name] {
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", m.Name, err)
			continue
		}
		if msg.Header.Get("Subject") == "" && m.Name != "no-subject" && m.Name != "empty-subject" {
			t.Errorf("%s has no Subject", m.Name)
		}
	}
}
