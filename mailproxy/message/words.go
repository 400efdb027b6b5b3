package message

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
)

// DecodeHeaderText decodes a header field value for display: RFC 2047
// encoded-words are decoded whatever their charset (unknown or misspelt
// charsets are decoded as best we can, encoded-words inside a word too),
// whitespace between adjacent encoded-words is dropped (RFC 2047 §6.2),
// malformed encoded-words are left as text, raw 8-bit bytes are kept when
// they are valid UTF-8 and read as Windows-1252 otherwise, folding is
// undone and control characters other than tab become spaces. It never
// fails.
func DecodeHeaderText(s string) string {
	s = unfold(s)
	if !strings.Contains(s, "=?") {
		return cleanHeaderText(bytesToUTF8([]byte(s)))
	}
	type segment struct {
		encoded bool
		charset string
		data    []byte
	}
	var segs []segment
	for len(s) > 0 {
		i := strings.Index(s, "=?")
		if i < 0 {
			segs = append(segs, segment{data: []byte(s)})
			break
		}
		cs, data, n, ok := parseEncodedWord(s[i:])
		if !ok {
			segs = append(segs, segment{data: []byte(s[:i+2])})
			s = s[i+2:]
			continue
		}
		if i > 0 {
			segs = append(segs, segment{data: []byte(s[:i])})
		}
		segs = append(segs, segment{encoded: true, charset: normalizeCharset(cs), data: data})
		s = s[i+n:]
	}
	// Drop blanks between encoded-words, then join neighbours of one
	// charset before decoding it, so a character split across two
	// encoded-words survives.
	var sb strings.Builder
	for i := 0; i < len(segs); i++ {
		sg := segs[i]
		if !sg.encoded {
			if i > 0 && i+1 < len(segs) && segs[i-1].encoded && segs[i+1].encoded && len(bytes.Trim(sg.data, " \t")) == 0 {
				continue
			}
			sb.WriteString(bytesToUTF8(sg.data))
			continue
		}
		data := append([]byte(nil), sg.data...)
		for i+1 < len(segs) {
			j := i + 1
			if !segs[j].encoded && j+1 < len(segs) && segs[j+1].encoded && len(bytes.Trim(segs[j].data, " \t")) == 0 {
				j++
			}
			if !segs[j].encoded || segs[j].charset != sg.charset {
				break
			}
			data = append(data, segs[j].data...)
			i = j
		}
		text, _ := decodeCharset(data, sg.charset)
		sb.WriteString(text)
	}
	return cleanHeaderText(sb.String())
}

// parseEncodedWord parses an RFC 2047 encoded-word at the start of s:
// "=?" charset "?" B|Q "?" text "?=". It returns the raw decoded bytes
// and the length consumed. Blanks inside the encoded text are tolerated;
// line breaks and nested "=?" are not.
func parseEncodedWord(s string) (charset string, data []byte, n int, ok bool) {
	if !strings.HasPrefix(s, "=?") {
		return "", nil, 0, false
	}
	rest := s[2:]
	q := strings.IndexByte(rest, '?')
	if q <= 0 || q > 75 || strings.ContainsAny(rest[:q], " \t\r\n=") {
		return "", nil, 0, false
	}
	charset = rest[:q]
	rest = rest[q+1:]
	if len(rest) < 2 || rest[1] != '?' {
		return "", nil, 0, false
	}
	enc := rest[0] | 0x20
	if enc != 'b' && enc != 'q' {
		return "", nil, 0, false
	}
	rest = rest[2:]
	end := strings.Index(rest, "?=")
	if end < 0 {
		return "", nil, 0, false
	}
	text := rest[:end]
	if strings.ContainsAny(text, "\r\n") || strings.Contains(text, "=?") {
		return "", nil, 0, false
	}
	if enc == 'b' {
		var st transferStatus
		data, _ = io.ReadAll(&base64Reader{r: strings.NewReader(text), st: &st})
		junk := strings.ContainsFunc(text, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/= \t", r))
		})
		if junk && normalizeCharset(charset) == "utf-8" && !utf8.Valid(data) {
			// Not base64 that went through a careless relay but no
			// base64 at all: leave the word as written.
			return "", nil, 0, false
		}
	} else {
		data = decodeQWord(text)
	}
	return charset, data, 2 + q + 1 + 2 + end + 2, true
}

// decodeQWord decodes the Q encoding of RFC 2047 §4.2; invalid escapes are
// kept literally.
func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s):
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				i += 2
			} else {
				out = append(out, c)
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

// unfold undoes header folding (RFC 5322 §2.2.3): a line break followed by
// a blank is removed, the blank kept.
func unfold(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' && i+1 < len(s) && s[i+1] == '\n' && i+2 < len(s) && (s[i+2] == ' ' || s[i+2] == '\t') {
			i++
			continue
		}
		if c == '\n' && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// cleanHeaderText replaces control characters other than tab (C0, DEL,
// C1, and the line and paragraph separators) with spaces, removes the
// bidirectional controls (a right-to-left override turns "fdp.exe" into
// "exe.pdf" on screen), repairs invalid UTF-8 and trims the result.
func cleanHeaderText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, isControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if isControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	return strings.TrimSpace(stripBidi(s))
}

// isControl reports C0 controls other than tab, DEL, C1 controls (U+0085
// is a line break) and the Unicode line and paragraph separators.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// tolerantWordDecoder decodes encoded-words for net/mail whatever the
// charset.
var tolerantWordDecoder = &mime.WordDecoder{
	CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		b, err := io.ReadAll(io.LimitReader(input, maxHeaderLine))
		if err != nil {
			return nil, err
		}
		s, _ := decodeCharset(b, charset)
		return strings.NewReader(s), nil
	},
}
