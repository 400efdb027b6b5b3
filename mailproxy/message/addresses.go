package message

import (
	"net/mail"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// ParseAddressList parses an address header (From, To, Cc, Reply-To)
// tolerantly. It tries net/mail first; when that fails it splits the list
// on commas and keeps what it can: names without an address, addresses
// without "@", bare addresses, display names with unquoted commas, and an
// empty group such as "undisclosed-recipients:;" (returned as one
// nameless-address entry named after the group). Names are decoded with
// DecodeHeaderText. It returns nil for an empty list.
func ParseAddressList(s string) []mailproxy.Address {
	s = strings.TrimSpace(bytesToUTF8([]byte(unfold(s))))
	if s == "" {
		return nil
	}
	if len(s) > maxHeaderLine {
		s = s[:maxHeaderLine]
	}
	p := mail.AddressParser{WordDecoder: tolerantWordDecoder}
	if list, err := p.ParseList(s); err == nil && len(list) > 0 {
		out := make([]mailproxy.Address, 0, len(list))
		for _, a := range list {
			out = append(out, mailproxy.Address{Name: DecodeHeaderText(a.Name), Email: cleanHeaderText(a.Address)})
		}
		return out
	}
	return splitAddressList(s)
}

// splitAddressList is the forgiving fallback of ParseAddressList.
func splitAddressList(s string) []mailproxy.Address {
	var parts []string
	depthAngle, depthParen, quoted := 0, 0, false
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depthAngle++
		case c == '>' && depthAngle > 0:
			depthAngle--
		case c == '(':
			depthParen++
		case c == ')' && depthParen > 0:
			depthParen--
		case (c == ',' || c == ';') && depthAngle == 0 && depthParen == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])

	// "Doe, John <jd@example.com>": a piece with neither "@" nor "<"
	// followed by one with an angle address is the first half of a name.
	var merged []string
	for i := 0; i < len(parts); i++ {
		p := strings.TrimSpace(parts[i])
		if p == "" {
			continue
		}
		if !strings.ContainsAny(p, "@<:") && i+1 < len(parts) && strings.Contains(parts[i+1], "<") {
			parts[i+1] = p + "," + parts[i+1]
			continue
		}
		merged = append(merged, p)
	}

	var out []mailproxy.Address
	for _, p := range merged {
		// Group syntax (RFC 5322 §3.4): "name: members;".
		if i := strings.IndexByte(p, ':'); i > 0 && !strings.ContainsAny(p[:i], "<@\"") {
			group := strings.TrimSpace(p[:i])
			p = strings.TrimSpace(p[i+1:])
			if p == "" {
				out = append(out, mailproxy.Address{Name: DecodeHeaderText(group)})
				continue
			}
		}
		if a, ok := looseAddress(p); ok {
			out = append(out, a)
		}
	}
	return out
}

// looseAddress reads one address as best it can. Quoted strings are
// read as such, so a quoted local part (`"a b"@example.org`, even with
// "<", "," or "@" inside) stays one address, held unquoted as net/mail
// holds it.
func looseAddress(p string) (mailproxy.Address, bool) {
	p = strings.TrimSpace(p)
	if p == "" {
		return mailproxy.Address{}, false
	}
	if lt := lastOutsideQuotes(p, '<'); lt >= 0 {
		email := p[lt+1:]
		if gt := firstOutsideQuotes(email, '>'); gt >= 0 {
			email = email[:gt]
		}
		name := unquoteName(p[:lt])
		return mailproxy.Address{Name: DecodeHeaderText(name), Email: cleanHeaderText(heldAddress(email))}, true
	}
	if strings.Contains(p, "@") {
		name := ""
		if i := firstOutsideQuotes(p, '('); i >= 0 {
			name = strings.Trim(p[i:], "() \t")
			p = p[:i]
		}
		email := ""
		var rest []string
		for _, f := range fieldsOutsideQuotes(p) {
			if email == "" && strings.Contains(f, "@") {
				email = heldAddress(f)
			} else {
				rest = append(rest, f)
			}
		}
		if name == "" {
			name = unquoteName(strings.Join(rest, " "))
		}
		return mailproxy.Address{Name: DecodeHeaderText(name), Email: cleanHeaderText(email)}, true
	}
	name := DecodeHeaderText(unquoteName(p))
	if name == "" {
		return mailproxy.Address{}, false
	}
	return mailproxy.Address{Name: name}, true
}

// heldAddress is an addr-spec as Address.Email holds it: a quoted local
// part unquoted (`"a b"@x` is `a b@x`), quotes some mailers put around
// the whole address dropped.
func heldAddress(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		if u := s[1 : len(s)-1]; !strings.ContainsAny(u, "\"'") {
			return strings.TrimSpace(u)
		}
	}
	local, domain, ok := SplitAddress(s)
	if !ok {
		return strings.Trim(s, "\"'")
	}
	return local + "@" + strings.TrimSpace(domain)
}

// firstOutsideQuotes and lastOutsideQuotes are the index of the first
// or last c in s outside quoted strings, or -1.
func firstOutsideQuotes(s string, c byte) int { return outsideQuotes(s, c, false) }

func lastOutsideQuotes(s string, c byte) int { return outsideQuotes(s, c, true) }

func outsideQuotes(s string, c byte, last bool) int {
	at, quoted := -1, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == c && !quoted:
			if !last {
				return i
			}
			at = i
		}
	}
	return at
}

// fieldsOutsideQuotes splits s on blanks outside quoted strings.
func fieldsOutsideQuotes(s string) []string {
	var out []string
	start, quoted := -1, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		blank := (c == ' ' || c == '\t') && !quoted
		if !blank && start < 0 {
			start = i
		}
		switch {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case blank && start >= 0:
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// unquoteName removes the quotes and backslash escapes around a display
// name.
func unquoteName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(s)
	} else {
		s = strings.ReplaceAll(s, `"`, "")
	}
	return strings.TrimSpace(s)
}

// parseMsgIDs returns the message ids in a Message-ID, In-Reply-To or
// References field, without angle brackets. Ids without brackets, as
// some mailers write them, are split on blanks.
func parseMsgIDs(s string) []string {
	s = cleanHeaderText(bytesToUTF8([]byte(unfold(s))))
	var ids []string
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(s[i+1 : i+j]); id != "" {
			ids = append(ids, id)
		}
		s = s[i+j+1:]
	}
	if ids == nil {
		for _, f := range strings.Fields(s) {
			if strings.Contains(f, "@") {
				ids = append(ids, strings.Trim(f, "<>,;\"'"))
			}
		}
	}
	return ids
}
