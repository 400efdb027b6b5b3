package message

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Header fields, RFC 2047 encoded-words, addresses, dates and MIME
// parameters, all read tolerantly: real mail breaks every rule, and a
// header that cannot be read perfectly must still be shown as well as
// possible.

// Limits that keep a hostile header from costing much.
const (
	maxHeaderLine   = 64 << 10 // bytes kept of one header line
	maxHeaderBytes  = 1 << 20  // bytes kept of one header section
	maxHeaderFields = 1000     // fields kept of one header section
)

// headerField is one header field, unfolded, value not yet decoded.
type headerField struct {
	key   string // lower case
	value string // raw, unfolded (RFC 5322 §2.2.3), leading blanks trimmed
}

// Header is a tolerantly read Header section.
type Header struct {
	fields    []headerField
	malformed int // lines skipped because they could not be read
}

// get returns the raw value of the first field named key (lower case).
func (h *Header) Get(key string) string {
	for _, f := range h.fields {
		if f.key == key {
			return f.value
		}
	}
	return ""
}

// has reports whether a field named key (lower case) is present.
func (h *Header) has(key string) bool {
	for _, f := range h.fields {
		if f.key == key {
			return true
		}
	}
	return false
}

// readLine reads one line and returns it without its line break (nl says
// which break it had: "\r\n", "\n" or "" at the end of the input). Bytes
// beyond max are read and dropped.
func readLine(br *bufio.Reader, max int) (line []byte, nl string, err error) {
	for {
		frag, e := br.ReadSlice('\n')
		if len(line)+len(frag) <= max {
			line = append(line, frag...)
		} else if len(line) < max {
			line = append(line, frag[:max-len(line)]...)
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if bytes.HasSuffix(frag, []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\n"))
			nl = "\n"
			if bytes.HasSuffix(line, []byte("\r")) {
				line = line[:len(line)-1]
				nl = "\r\n"
			}
		}
		return line, nl, e
	}
}

// headerKey returns the lower-cased field name of a header line, or ""
// when the line is not a header field. A name is printable US-ASCII
// without ":" (RFC 5322 §2.2); blanks before the colon are tolerated.
func headerKey(line []byte) (key string, value []byte) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", nil
	}
	k := bytes.TrimRight(line[:i], " \t")
	if len(k) == 0 {
		return "", nil
	}
	for _, c := range k {
		if c < 33 || c > 126 {
			return "", nil
		}
	}
	return strings.ToLower(string(k)), bytes.TrimLeft(line[i+1:], " \t")
}

// readHeader reads a header section up to the blank line that ends it.
// Lines that are not header fields are skipped and counted in malformed.
// When the section does not start with a header field, or when two
// non-field lines follow each other, the body evidently started without
// the blank line: those lines are returned in body, to be read before the
// rest of br. An mbox "From " line at the very start is skipped.
func ReadHeader(br *bufio.Reader) (h Header, body []byte) {
	var pending []byte // a non-field line: junk in the header, or the body
	first := true
	size := 0
	for {
		line, nl, err := readLine(br, maxHeaderLine)
		if len(line) == 0 && nl == "" {
			break // end of input
		}
		if len(bytes.TrimRight(line, " \t\r")) == 0 {
			if pending != nil {
				h.malformed++
			}
			break // the blank line that ends the header
		}
		size += len(line)
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if blank := len(bytes.TrimSpace(line)) == 0; pending == nil && len(h.fields) > 0 {
				f := &h.fields[len(h.fields)-1]
				if !blank && len(f.value) < maxHeaderLine && size < maxHeaderBytes {
					f.value += string(line)
				}
			} else if !blank {
				h.malformed++
			}
		default:
			if key, value := headerKey(line); key != "" {
				if pending != nil {
					h.malformed++
					pending = nil
				}
				if len(h.fields) < maxHeaderFields && size < maxHeaderBytes {
					h.fields = append(h.fields, headerField{key: key, value: string(value)})
				}
				first = false
				break
			}
			if first && len(h.fields) == 0 && bytes.HasPrefix(line, []byte("From ")) {
				first = false
				break
			}
			if len(h.fields) == 0 || pending != nil {
				// The body began without a blank line.
				body = append(append(pending, line...), nl...)
				return h, body
			}
			pending = append(append([]byte(nil), line...), nl...)
		}
		if err != nil {
			break
		}
	}
	if pending != nil {
		// A last non-field line just before the end of the input: keep
		// it as the body rather than lose it.
		body = pending
	}
	return h, body
}

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

// Time zone abbreviations seen in Date fields. RFC 5322 §4.3 defines the
// North American ones; the rest are common in the wild.
var zoneOffsets = map[string]string{
	"UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000", "WET": "+0000",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
	"AKST": "-0900", "AKDT": "-0800", "HST": "-1000", "AST": "-0400", "ADT": "-0300",
	"NST": "-0330", "NDT": "-0230",
	"BST": "+0100", "IST": "+0530", "CET": "+0100", "CEST": "+0200", "MET": "+0100", "MEST": "+0200",
	"WEST": "+0100", "EET": "+0200", "EEST": "+0300", "MSK": "+0300",
	"JST": "+0900", "KST": "+0900", "HKT": "+0800", "SGT": "+0800", "AWST": "+0800",
	"ACST": "+0930", "AEST": "+1000", "AEDT": "+1100", "NZST": "+1200", "NZDT": "+1300",
}

var (
	dateCommentRe = regexp.MustCompile(`\([^()]*\)`)
	dateWeekdayRe = regexp.MustCompile(`(?i)\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*`)
	dateZoneRe    = regexp.MustCompile(`\b([A-Za-z]{1,5})\s*$`)
	dateGMTOffRe  = regexp.MustCompile(`(?i)^(?:gmt|utc|ut)?([+-])(\d{1,2}):?(\d{2})?$`)
)

// Layouts tried, in order, after the Date field was cleaned up.
var dateLayouts = []string{
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04 -0700",
	"2 January 2006 15:04:05 -0700",
	"2-Jan-2006 15:04:05 -0700",
	"Jan 2 15:04:05 2006 -0700",
	"Jan 2 15:04:05 -0700 2006",
	"Jan 2 2006 15:04:05 -0700",
	"January 2, 2006 15:04:05 -0700",
	"January 2, 2006 3:04 PM -0700",
	"January 2, 2006 3:04 PM",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
	"Jan 2 15:04:05 2006",
	"2006/01/02 15:04:05",
	"02/01/2006 15:04:05",
	"2 Jan 2006",
	"2006-01-02",
}

// parseDate reads a Date field in RFC 5322 form or in one of many forms
// seen in real mail. It returns the zero time when nothing fits.
func parseDate(s string) time.Time {
	s = cleanHeaderText(bytesToUTF8([]byte(unfold(s))))
	if s == "" {
		return time.Time{}
	}
	if t, err := mail.ParseDate(s); err == nil && !hasZoneAbbrev(s) {
		return t
	}
	s = dateCommentRe.ReplaceAllString(s, " ")
	s = dateWeekdayRe.ReplaceAllString(s, "")
	// Zones: "CEST", "GMT+2", "UTC+05:30", "+02:00", "GMT +0200".
	tokens := strings.Fields(s)
	var out []string
	for i, tok := range tokens {
		t := strings.Trim(tok, ",")
		if off, ok := zoneOffsets[strings.ToUpper(t)]; ok && i > 0 {
			if i+1 < len(tokens) && dateGMTOffRe.MatchString(tokens[i+1]) && strings.ContainsAny(tokens[i+1], "+-") {
				continue // "GMT +0200": the offset follows
			}
			out = append(out, off)
			continue
		}
		if m := dateGMTOffRe.FindStringSubmatch(t); m != nil && i > 0 {
			h, _ := strconv.Atoi(m[2])
			mm := m[3]
			if mm == "" {
				mm = "00"
			}
			out = append(out, m[1]+twoDigits(h)+mm)
			continue
		}
		out = append(out, tok)
	}
	s = strings.Join(out, " ")
	if t, err := mail.ParseDate(s); err == nil {
		return t
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 2200 {
				continue
			}
			return t
		}
	}
	return time.Time{}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// hasZoneAbbrev reports whether a date ends with a zone abbreviation
// other than UT/GMT/Z, which net/mail reads as +0000.
func hasZoneAbbrev(s string) bool {
	m := dateZoneRe.FindStringSubmatch(dateCommentRe.ReplaceAllString(s, " "))
	if m == nil {
		return false
	}
	switch strings.ToUpper(m[1]) {
	case "UT", "UTC", "GMT", "Z":
		return false
	}
	return true
}

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
