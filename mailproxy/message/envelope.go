package message

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Addresses in this package (Address.Email) are held as net/mail, go-imap
// and go-message hold them: the local part as it reads once unquoted,
// "@", the domain. The local part ends at the LAST "@", so
// `"a b"@example.org` is held as `a b@example.org`, and the Reply-To
// `"x@evil.example, \"bob@corp.example> NOTIFY=SUCCESS X\""@evil.example`
// as `x@evil.example, "bob@corp.example> NOTIFY=SUCCESS X"@evil.example`:
// one mailbox, that must never be written out as it is held. Written
// into a form field, a page or the SMTP envelope, an address goes
// through QuoteAddress or EnvelopeAddress, which quote such a local part
// again.

// maxPath is the longest address in a MAIL or RCPT command: RFC 5321
// §4.5.3.1.3 allows 256 octets for the path, angle brackets included.
const maxPath = 254

// AddressError is an address that cannot go into the SMTP envelope (RFC
// 5321 §4.1.2): nothing was sent. Address (in the form QuoteAddress
// writes, control characters blanked) and Reason are plain words, safe
// to show.
type AddressError struct {
	Address string
	Reason  string // "contains < or >", ...
	Sender  bool   // the sender's own address (MAIL FROM)
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("the address %s cannot be used: it %s", e.Address, e.Reason)
}

// Is makes errors.Is(err, ErrBadInput) true.
func (e *AddressError) Is(target error) bool { return target == mailproxy.ErrBadInput }

// EnvelopeAddress is the one gate every address of the SMTP envelope
// (MAIL FROM and each RCPT TO) goes through. It takes an address as
// Address.Email holds it (an already quoted local part is accepted too)
// and returns the RFC 5321 Mailbox to write between the angle brackets:
// the local part as a Dot-string when it is one, else as a Quoted-string
// with '"' and '\' escaped; the domain checked, an internationalized
// domain name in its ASCII form (RFC 5891 A-labels, so no SMTPUTF8 is
// needed for it), or an address literal ([192.0.2.1], [IPv6:2001:db8::1]).
//
// It refuses (*AddressError), rather than repairs, an address that has
// no "@", an empty local part, a local part with "<", ">" or another "@"
// (legal inside quotes, but what envelope and address-splitting attacks
// are made of), control characters or invalid UTF-8 anywhere, a domain
// that is not a domain name or an address literal (spaces, brackets,
// commas...), or a path longer than RFC 5321 allows. The result never
// holds CR, LF, NUL, "<" or ">", never a space outside the quotes, and
// is always exactly one mailbox: an address is never split into several.
//
// A local part with non-ASCII letters (RFC 6531) is returned as it is;
// it can only be sent to a server that offers SMTPUTF8 (Submitter.Send
// checks). EnvelopeAddress(EnvelopeAddress(a)) is EnvelopeAddress(a).
func EnvelopeAddress(email string) (string, error) {
	refuse := func(reason string) (string, error) {
		return "", &AddressError{Address: ShowAddress(email), Reason: reason}
	}
	if email == "" {
		return refuse("is empty")
	}
	if !utf8.ValidString(email) || HasControl(email) {
		return refuse("contains a line break or control character")
	}
	local, domain, ok := SplitAddress(email)
	if !ok || local == "" || domain == "" {
		return refuse("is not a complete address (name@example.org)")
	}
	if strings.ContainsAny(local, "<>") {
		return refuse("contains < or >")
	}
	if strings.Contains(local, "@") {
		return refuse("contains more than one @")
	}
	d, ok := EnvelopeDomain(domain)
	if !ok {
		return refuse("has a domain that is not valid")
	}
	out := quoteLocal(local) + "@" + d
	if len(out) > maxPath {
		return refuse("is too long")
	}
	return out, nil
}

// QuoteAddress writes an address as Address.Email holds it in the form
// a person or a parser reads as that one address: the local part
// quoted (RFC 5322 §3.4.1) when it is not a dot-atom. The domain is left
// as it is, and nothing is checked: an address without "@" comes back
// unchanged. Use it wherever an address is shown or put into a form
// field; EnvelopeAddress for SMTP.
func QuoteAddress(email string) string {
	local, domain, ok := SplitAddress(email)
	if !ok {
		return email
	}
	return quoteLocal(local) + "@" + domain
}

// isASCII reports whether s is all ASCII.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// splitAddress cuts an address at its last "@" (a domain never holds
// one) into the local part, unquoted when it is a whole quoted string,
// and the domain.
func SplitAddress(email string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return "", "", false
	}
	local, domain = email[:at], email[at+1:]
	if u, ok := unquoteLocal(local); ok {
		local = u
	}
	return local, domain, true
}

// unquoteLocal reads s as one RFC 5321 Quoted-string, exactly: an
// opening quote, characters or backslash pairs, a closing quote at the
// very end.
func unquoteLocal(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		switch c := s[i]; c {
		case '\\':
			i++
			if i == len(s)-1 {
				return "", false // the closing quote was escaped
			}
			b.WriteByte(s[i])
		case '"':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// quoteLocal writes a local part as a Dot-string when it is one, else as
// a Quoted-string (RFC 5321 §4.1.2) with '"' and '\' escaped.
func quoteLocal(local string) string {
	if isDotString(local) {
		return local
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"`
}

// isDotString reports whether s is Atom *("." Atom), with RFC 6531's
// UTF-8 atext.
func isDotString(s string) bool {
	if s == "" {
		return false
	}
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for _, r := range atom {
			if !isAtext(r) {
				return false
			}
		}
	}
	return true
}

// isAtext is RFC 5322 atext, with UTF-8 (RFC 6532) letters beyond ASCII.
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r < 0x80:
		return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
	}
	return r != utf8.RuneError && !unicode.IsControl(r) && !unicode.IsSpace(r) && r != '\u2028' && r != '\u2029'
}

// envelopeDomain checks an RFC 5321 Domain or address-literal and gives
// its ASCII form.
func EnvelopeDomain(d string) (string, bool) {
	if strings.HasPrefix(d, "[") {
		lit, ok := strings.CutSuffix(d[1:], "]")
		if !ok {
			return "", false
		}
		if v6, ok := strings.CutPrefix(lit, "IPv6:"); ok {
			a, err := netip.ParseAddr(v6)
			if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
				return "", false
			}
			return "[IPv6:" + a.String() + "]", true
		}
		a, err := netip.ParseAddr(lit)
		if err != nil || !a.Is4() {
			return "", false
		}
		return "[" + a.String() + "]", true
	}
	if !IsASCII(d) {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", false
		}
		d = a
	}
	if d == "" || len(d) > 253 {
		return "", false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "", false
			}
		}
	}
	return d, true
}

// showAddress is an address for a message to the user: quoted as
// QuoteAddress does, control characters blanked, cut when very long.
func ShowAddress(email string) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(QuoteAddress(email), "\uFFFD"))
	if utf8.RuneCountInString(s) > 120 {
		s = string([]rune(s)[:120]) + "…"
	}
	return s
}

// hasControl reports a control character (C0, DEL, C1) or a Unicode line
// or paragraph separator in s.
func HasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return true
		}
	}
	return false
}
