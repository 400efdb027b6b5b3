package message

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MediaParams is a parsed Content-Type or Content-Disposition value.
type MediaParams struct {
	Value  string            // lower-case media type or disposition
	Params map[string]string // lower-case names; values decoded (RFC 2231)
}

// parseMediaHeader parses a Content-Type or Content-Disposition value
// tolerantly: unquoted blanks, missing quotes, stray semicolons, RFC 2231
// continuations and charsets (any charset, not only UTF-8).
func ParseMediaHeader(v string) MediaParams {
	v = unfold(v)
	parts := splitParams(v)
	mp := MediaParams{Params: map[string]string{}}
	if len(parts) == 0 {
		return mp
	}
	mp.Value = strings.ToLower(strings.Join(strings.Fields(parts[0]), ""))
	type piece struct {
		ext bool
		val string
	}
	plain := map[string]string{}
	cont := map[string]map[int]piece{} // RFC 2231 §3 and §4
	for _, p := range parts[1:] {
		eq := strings.IndexByte(p, '=')
		if eq <= 0 {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(p[:eq]))
		val := strings.TrimSpace(p[eq+1:])
		if len(val) >= 1 && val[0] == '"' {
			val = unquoteParam(val)
		}
		ext := strings.HasSuffix(name, "*")
		base := strings.TrimSuffix(name, "*")
		idx := 0
		if i := strings.LastIndexByte(base, '*'); i > 0 {
			n, err := strconv.Atoi(base[i+1:])
			if err != nil || n < 0 || n >= 1000 {
				continue
			}
			base, idx = base[:i], n
		} else if !ext {
			if _, ok := plain[base]; !ok {
				plain[base] = val
			}
			continue
		}
		if cont[base] == nil {
			cont[base] = map[int]piece{}
		}
		cont[base][idx] = piece{ext: ext, val: val}
	}
	mp.Params = plain
	for name, pieces := range cont {
		charset := ""
		var buf []byte
		damaged := false
		for i := 0; i < len(pieces); i++ {
			pc, ok := pieces[i]
			if !ok {
				break
			}
			if !pc.ext {
				buf = append(buf, pc.val...)
				continue
			}
			val := pc.val
			if i == 0 {
				// RFC 2231 §4: charset'language'value.
				if f := strings.SplitN(val, "'", 3); len(f) == 3 {
					charset, val = f[0], f[2]
				}
			}
			dec, clean := percentDecodeLoose(val)
			buf = append(buf, dec...)
			damaged = damaged || !clean
		}
		if len(buf) == 0 {
			continue
		}
		v, _ := decodeCharset(buf, charset)
		if _, ok := plain[name]; ok && (damaged || strings.ContainsRune(v, utf8.RuneError)) {
			// A damaged extended value (bad escapes, bytes not in its
			// charset) loses to the plain one given beside it for
			// older readers (RFC 2231 §4.1's advice to senders).
			continue
		}
		mp.Params[name] = v
	}
	return mp
}

// percentDecodeLoose decodes %XX escapes and keeps anything else as is;
// clean is false when a "%" starts no valid escape.
func percentDecodeLoose(s string) (out []byte, clean bool) {
	out = make([]byte, 0, len(s))
	clean = true
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 < len(s) {
				h, ok1 := unhex(s[i+1])
				l, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					out = append(out, h<<4|l)
					i += 2
					continue
				}
			}
			clean = false
		}
		out = append(out, s[i])
	}
	return out, clean
}

// splitParams splits a header value on semicolons outside quotes.
func splitParams(v string) []string {
	var parts []string
	quoted := false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				parts = append(parts, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	parts = append(parts, strings.TrimSpace(v[start:]))
	return parts
}

// unquoteParam removes the quotes of a quoted-string; a missing closing
// quote is tolerated.
func unquoteParam(v string) string {
	v = v[1:]
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			sb.WriteByte(v[i])
			continue
		}
		if c == '"' {
			break
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
