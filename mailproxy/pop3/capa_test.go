package pop3

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestCapabilities(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf(`+OK Capability list follows
TOP
USER
SASL PLAIN login
SASL xoauth2 PLAIN
RESP-CODES
AUTH-RESP-CODE
LOGIN-DELAY 900
PIPELINING
EXPIRE 60
UIDL
IMPLEMENTATION Shlemazle-Plotz-v302
STLS
UTF8 USER
X-UNKNOWN 1 2 3
..DOTTED

.
`))
	})
	got, err := c.Capabilities()
	if err != nil {
		t.Fatalf("Capabilities() = %v", err)
	}
	want := Caps{
		Top:            true,
		User:           true,
		SASL:           []string{"PLAIN", "LOGIN", "XOAUTH2"},
		RespCodes:      true,
		AuthRespCode:   true,
		LoginDelay:     &LoginDelay{Delay: 900 * time.Second},
		Pipelining:     true,
		Expire:         &Expire{Days: 60},
		UIDL:           true,
		Implementation: "Shlemazle-Plotz-v302",
		STLS:           true,
		UTF8:           true,
		Lines: []string{"TOP", "USER", "SASL PLAIN login", "SASL xoauth2 PLAIN",
			"RESP-CODES", "AUTH-RESP-CODE", "LOGIN-DELAY 900", "PIPELINING",
			"EXPIRE 60", "UIDL", "IMPLEMENTATION Shlemazle-Plotz-v302", "STLS",
			"UTF8 USER", "X-UNKNOWN 1 2 3", ".DOTTED", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Capabilities() =\n%+v\nwant\n%+v", got, want)
	}
	for name, want := range map[string]bool{"x-unknown": true, ".dotted": true, "top": true, "LANG": false, "": false} {
		if got := got.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
	if !got.HasSASL("xoauth2") || got.HasSASL("CRAM-MD5") {
		t.Errorf("HasSASL() wrong for %v", got.SASL)
	}
}

func TestParseCaps(t *testing.T) {
	tests := map[string]struct {
		lines []string
		check func(c Caps) bool
	}{
		"empty":              {nil, func(c Caps) bool { return !c.Top && c.SASL == nil && c.Expire == nil }},
		"lower case":         {[]string{"top", "uidl", "stls"}, func(c Caps) bool { return c.Top && c.UIDL && c.STLS }},
		"login-delay user":   {[]string{"LOGIN-DELAY 900 USER"}, func(c Caps) bool { return *c.LoginDelay == LoginDelay{900 * time.Second, true} }},
		"login-delay junk":   {[]string{"LOGIN-DELAY soon"}, func(c Caps) bool { return c.LoginDelay == nil }},
		"login-delay no arg": {[]string{"LOGIN-DELAY"}, func(c Caps) bool { return c.LoginDelay == nil }},
		"login-delay huge":   {[]string{"LOGIN-DELAY 99999999999999999999"}, func(c Caps) bool { return c.LoginDelay == nil }},
		"expire never":       {[]string{"EXPIRE NEVER"}, func(c Caps) bool { return *c.Expire == Expire{Never: true} }},
		"expire 0":           {[]string{"EXPIRE 0"}, func(c Caps) bool { return *c.Expire == Expire{Days: 0} }},
		"expire user":        {[]string{"EXPIRE 30 USER"}, func(c Caps) bool { return *c.Expire == Expire{Days: 30, PerUser: true} }},
		"expire junk":        {[]string{"EXPIRE -3"}, func(c Caps) bool { return c.Expire == nil }},
		"sasl none":          {[]string{"SASL"}, func(c Caps) bool { return len(c.SASL) == 0 }},
		"sasl dedup":         {[]string{"SASL PLAIN", "SASL plain"}, func(c Caps) bool { return len(c.SASL) == 1 }},
		"implementation":     {[]string{"IMPLEMENTATION  Dovecot  2.3 "}, func(c Caps) bool { return c.Implementation == "Dovecot  2.3" }},
		"tabs":               {[]string{"SASL\tPLAIN"}, func(c Caps) bool { return c.HasSASL("PLAIN") }},
		"blank":              {[]string{"", "   "}, func(c Caps) bool { return !c.Top }},
	}
	for name, tt := range tests {
		if got := parseCaps(tt.lines); !tt.check(got) {
			t.Errorf("%s: parseCaps(%q) = %+v", name, tt.lines, got)
		}
	}
}

func TestCapabilitiesUnsupported(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.writeline("-ERR unknown command")
		s.readline("NOOP")
		s.writeline("+OK")
	})
	_, err := c.Capabilities()
	if e, ok := errors.AsType[*Error](err); !ok || e.Cmd != "CAPA" {
		t.Fatalf("Capabilities() = %v, want an *Error for CAPA", err)
	}
	if err := c.Noop(); err != nil {
		t.Errorf("Noop() after a refused CAPA = %v", err)
	}
}
