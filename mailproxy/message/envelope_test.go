package message

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// The Reply-To and the compose input of issue 12, item 3: quoted local
// parts that, written out as net/mail holds them, carry an SMTP parameter
// or a second recipient.
const (
	attackReplyTo = `"x@evil.example, \"bob@corp.example> NOTIFY=SUCCESS,FAILURE X\""@evil.example`
	attackHeld    = `x@evil.example, "bob@corp.example> NOTIFY=SUCCESS,FAILURE X"@evil.example`
	attackTyped   = `"bob@corp.example> ORCPT=rfc822;x"@evil.example`
)

func TestEnvelopeAddress(t *testing.T) {
	long := strings.Repeat("a", 250) + "@example.org"
	tests := []struct {
		in, want string
		reason   string // refused with this reason when set
	}{
		// Dot-strings go as they are (case kept: local parts are case
		// sensitive, and nothing is gained by lowering a domain).
		{in: "ann@example.org", want: "ann@example.org"},
		{in: "Ann.Example+tag@Example.ORG", want: "Ann.Example+tag@Example.ORG"},
		{in: "a!#$%&'*+-/=?^_`{|}~@example.org", want: "a!#$%&'*+-/=?^_`{|}~@example.org"},
		{in: "user%host@relay.example", want: "user%host@relay.example"},
		{in: "a@localhost", want: "a@localhost"},
		{in: "a@127.0.0.1", want: "a@127.0.0.1"}, // all-digit labels are Let-dig
		// Quoted local parts, held unquoted (as net/mail and IMAP
		// ENVELOPE give them) or already quoted: quoted again, once.
		{in: "john smith@example.org", want: `"john smith"@example.org`},
		{in: `"john smith"@example.org`, want: `"john smith"@example.org`},
		{in: `a"b@example.org`, want: `"a\"b"@example.org`},
		{in: `"a\"b"@example.org`, want: `"a\"b"@example.org`},
		{in: `a\b@example.org`, want: `"a\\b"@example.org`},
		{in: `"a\\"@example.org`, want: `"a\\"@example.org`},
		{in: `"a"b"@example.org`, want: `"\"a\"b\""@example.org`},
		{in: ".ann@example.org", want: `".ann"@example.org`},
		{in: "ann.@example.org", want: `"ann."@example.org`},
		{in: "a..b@example.org", want: `"a..b"@example.org`},
		{in: "a,b@example.org", want: `"a,b"@example.org`},
		{in: `"a,b"@example.org`, want: `"a,b"@example.org`},
		{in: "a;b c:d(e)[f]@example.org", want: `"a;b c:d(e)[f]"@example.org`},
		// Address literals.
		{in: "a@[192.0.2.1]", want: "a@[192.0.2.1]"},
		{in: "a@[IPv6:2001:DB8:0::1]", want: "a@[IPv6:2001:db8::1]"},
		{in: "a@[300.1.1.1]", reason: "has a domain that is not valid"},
		{in: "a@[example.org]", reason: "has a domain that is not valid"},
		{in: "a@[IPv6:::ffff:192.0.2.1]", reason: "has a domain that is not valid"},
		{in: "a@[IPv6:fe80::1%eth0]", reason: "has a domain that is not valid"},
		{in: "a@[192.0.2.1", reason: "has a domain that is not valid"},
		// Internationalized domains go in their ASCII form, which every
		// server takes; UTF-8 local parts as they are (SMTPUTF8 only,
		// Submitter.Send checks).
		{in: "ann@bücher.example", want: "ann@xn--bcher-kva.example"},
		{in: "ann@BÜCHER.example", want: "ann@xn--bcher-kva.example"},
		{in: "ann@xn--bcher-kva.example", want: "ann@xn--bcher-kva.example"},
		{in: "jörg@example.org", want: "jörg@example.org"},
		{in: "jörg müller@bücher.example", want: `"jörg müller"@xn--bcher-kva.example`},
		{in: "ann@ＡＢＣ.example", want: "ann@abc.example"}, // UTS 46 mapping
		{in: "ann@a\u200db.example", reason: "has a domain that is not valid"},
		{in: "ann@bücher.example NOTIFY=NEVER", reason: "has a domain that is not valid"},
		// The attacks: refused, never split, never written as they are.
		{in: attackHeld, reason: "contains < or >"},
		{in: attackReplyTo, reason: "contains < or >"},
		{in: `bob@corp.example> ORCPT=rfc822;x@evil.example`, reason: "contains < or >"},
		{in: "a<b@example.org", reason: "contains < or >"},
		{in: "a>b@example.org", reason: "contains < or >"},
		{in: `"a>b"@example.org`, reason: "contains < or >"},
		{in: "a@b@example.org", reason: "contains more than one @"},
		{in: `"a@b"@example.org`, reason: "contains more than one @"},
		{in: "a@b, c@example.org", reason: "contains more than one @"},
		{in: "a\r\nb@example.org", reason: "contains a line break or control character"},
		{in: "ann@example.org\r\nRCPT TO:<x@evil.example>", reason: "contains a line break or control character"},
		{in: "a\nb@example.org", reason: "contains a line break or control character"},
		{in: "a\x00b@example.org", reason: "contains a line break or control character"},
		{in: "\"a\\\x00\"@example.org", reason: "contains a line break or control character"},
		{in: "a\tb@example.org", reason: "contains a line break or control character"},
		{in: "a\u2028b@example.org", reason: "contains a line break or control character"},
		{in: "a\u0085b@example.org", reason: "contains a line break or control character"},
		{in: "a\xffb@example.org", reason: "contains a line break or control character"},
		// Not one complete address.
		{in: "", reason: "is empty"},
		{in: "ann", reason: "is not a complete address (name@example.org)"},
		{in: "@example.org", reason: "is not a complete address (name@example.org)"},
		{in: `""@example.org`, reason: "is not a complete address (name@example.org)"},
		{in: "ann@", reason: "is not a complete address (name@example.org)"},
		{in: "ann@exa mple.org", reason: "has a domain that is not valid"},
		{in: "ann@example.org ", reason: "has a domain that is not valid"},
		{in: "ann@example.org NOTIFY=NEVER", reason: "has a domain that is not valid"},
		{in: "ann@example.org.", reason: "has a domain that is not valid"},
		{in: "ann@.example.org", reason: "has a domain that is not valid"},
		{in: "ann@-x.example", reason: "has a domain that is not valid"},
		{in: "ann@x-.example", reason: "has a domain that is not valid"},
		{in: "ann@x_y.example", reason: "has a domain that is not valid"},
		{in: "ann@x,y.example", reason: "has a domain that is not valid"},
		{in: "ann@" + strings.Repeat("a", 64) + ".example", reason: "has a domain that is not valid"},
		{in: long, reason: "is too long"},
	}
	for _, tc := range tests {
		got, err := EnvelopeAddress(tc.in)
		if tc.reason != "" {
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Reason != tc.reason || !errors.Is(err, mailproxy.ErrBadInput) {
				t.Errorf("EnvelopeAddress(%q) = %q, %v; want refused: %s", tc.in, got, err, tc.reason)
				continue
			}
			if strings.ContainsAny(ae.Address, "\r\n\x00") {
				t.Errorf("EnvelopeAddress(%q): the address shown, %q, has a control character", tc.in, ae.Address)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("EnvelopeAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if again, err := EnvelopeAddress(got); again != got || err != nil {
			t.Errorf("EnvelopeAddress(%q) = %q, %v; want it unchanged", got, again, err)
		}
	}
}

// TestEnvelopeErrorNamesAddress: the refusal shows the address as one
// address, quoted as it must be.
func TestEnvelopeErrorNamesAddress(t *testing.T) {
	_, err := EnvelopeAddress(attackHeld)
	var ae *AddressError
	if !errors.As(err, &ae) || ae.Address != attackReplyTo {
		t.Fatalf("EnvelopeAddress(%q) = %v; want an *AddressError naming %s", attackHeld, err, attackReplyTo)
	}
	if want := "the address " + attackReplyTo + " cannot be used: it contains < or >"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestQuoteAddress(t *testing.T) {
	tests := map[string]string{
		"ann@example.org":          "ann@example.org",
		"john smith@example.org":   `"john smith"@example.org`,
		`"john smith"@example.org`: `"john smith"@example.org`,
		attackHeld:                 attackReplyTo,
		"ann":                      "ann",
		"":                         "",
		"ann@bücher.example":       "ann@bücher.example", // shown as written
	}
	for in, want := range tests {
		if got := QuoteAddress(in); got != want {
			t.Errorf("QuoteAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// parseMailbox reads s as exactly one RFC 5321 Mailbox (§4.1.2, with
// RFC 6531's UTF-8): Dot-string or Quoted-string, "@", Domain or
// address-literal, and nothing else. It is written apart from the code
// under test, from the grammar.
func parseMailbox(s string) bool {
	i := 0
	if strings.HasPrefix(s, `"`) {
		i = 1
		for {
			if i >= len(s) {
				return false
			}
			c := s[i]
			switch {
			case c == '"':
				i++
				goto local
			case c == '\\':
				if i+1 >= len(s) || s[i+1] < 32 || s[i+1] == 127 {
					return false
				}
				i += 2
			case c < 32 || c == 127:
				return false
			default: // qtextSMTP, and UTF-8
				i++
			}
		}
	} else {
		at := strings.IndexByte(s, '@')
		if at <= 0 {
			return false
		}
		for _, atom := range strings.Split(s[:at], ".") {
			if atom == "" {
				return false
			}
			for _, r := range atom {
				if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)) {
					return false
				}
			}
		}
		i = at
	}
local:
	if i >= len(s) || s[i] != '@' {
		return false
	}
	d := s[i+1:]
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		lit := strings.TrimPrefix(d[1:len(d)-1], "IPv6:")
		_, err := netip.ParseAddr(lit)
		return err == nil
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// unquotedPart is s without its quoted strings.
func unquotedPart(s string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestParseMailboxOracle(t *testing.T) {
	for s, want := range map[string]bool{
		"a@b": true, `"a b"@c.d`: true, "a b@c": false, "<a@b>": false, "a@b> X": false,
		`"a@b`: false, "a@b c": false, `"a\"b"@c`: true, "a@[192.0.2.1]": true, "a@[x]": false,
	} {
		if got := parseMailbox(s); got != want {
			t.Errorf("parseMailbox(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzEnvelopeAddress: whatever goes in, what comes out is exactly one
// RFC 5321 mailbox that cannot end the path or the line early: no ">",
// "<", CR, LF or NUL anywhere, no space outside the quotes, at most 254
// octets, valid UTF-8, and unchanged by a second pass.
func FuzzEnvelopeAddress(f *testing.F) {
	for _, s := range []string{
		"ann@example.org", "john smith@example.org", `"john smith"@example.org`, attackHeld, attackReplyTo,
		`bob@corp.example> ORCPT=rfc822;x@evil.example`, "a\r\nb@x", "a@b@c", `a"b\c@d`, "jörg@bücher.example",
		"a@[IPv6:2001:db8::1]", "a@[192.0.2.1]", `"\`, `"a\"@b`, "a\"@b", "a@b>", "x\x00@y", " @ ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := EnvelopeAddress(in)
		if err != nil {
			var ae *AddressError
			if !errors.As(err, &ae) || strings.ContainsAny(ae.Address, "\r\n\x00") {
				t.Fatalf("EnvelopeAddress(%q) = %v: not an *AddressError safe to show", in, err)
			}
			return
		}
		if strings.ContainsAny(out, "<>\r\n\x00") {
			t.Fatalf("EnvelopeAddress(%q) = %q: holds <, >, CR, LF or NUL", in, out)
		}
		if strings.ContainsAny(unquotedPart(out), " \t") {
			t.Fatalf("EnvelopeAddress(%q) = %q: a blank outside the quotes", in, out)
		}
		if !utf8.ValidString(out) || len(out) > 254 {
			t.Fatalf("EnvelopeAddress(%q) = %q: invalid UTF-8 or too long", in, out)
		}
		if !parseMailbox(out) {
			t.Fatalf("EnvelopeAddress(%q) = %q: not exactly one RFC 5321 mailbox", in, out)
		}
		if again, err := EnvelopeAddress(out); again != out || err != nil {
			t.Fatalf("EnvelopeAddress(%q) = %q, %v; want %q unchanged", out, again, err, out)
		}
	})
}

// TestParseAddressListQuotedLocal: a received address list holding quoted
// local parts gives each as one address, held unquoted, through net/mail
// and through the forgiving fallback alike (a "Broken <x>" entry makes
// net/mail give up on the whole list).
func TestParseAddressListQuotedLocal(t *testing.T) {
	tests := map[string][]mailproxy.Address{
		attackReplyTo:                  {{Email: attackHeld}},
		attackReplyTo + ", Broken <x>": {{Email: attackHeld}, {Name: "Broken", Email: "x"}},
		`Ann <"a b"@example.org>, Broken <x>, "c,d"@example.org`: {{Name: "Ann", Email: "a b@example.org"}, {Name: "Broken", Email: "x"}, {Email: "c,d@example.org"}},
		`"x <y>" <"a>b"@example.org>, Broken <x>`:                {{Name: "x <y>", Email: "a>b@example.org"}, {Name: "Broken", Email: "x"}},
		`"john smith"@example.org (John), Broken <x>`:            {{Name: "John", Email: "john smith@example.org"}, {Name: "Broken", Email: "x"}},
		`Bob <bob@corp.example>, Broken <x>, "a@b"@example.org`:  {{Name: "Bob", Email: "bob@corp.example"}, {Name: "Broken", Email: "x"}, {Email: "a@b@example.org"}},
		`Broken <x>, Wrapped <"w@example.org">, 'q@example.org'`: {{Name: "Broken", Email: "x"}, {Name: "Wrapped", Email: "w@example.org"}, {Email: "q@example.org"}},
	}
	for in, want := range tests {
		got := ParseAddressList(in)
		if len(got) != len(want) {
			t.Errorf("ParseAddressList(%q) = %+v, want %+v", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("ParseAddressList(%q)[%d] = %+v, want %+v", in, i, got[i], want[i])
			}
		}
	}
}
