package message

import (
	"bytes"
	"html"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
)

// Text bodies: decoding, previews for message lists, and plain text to
// HTML for reading.

// DecodeBody decodes a text part for display: the transfer encoding
// (7bit, 8bit, binary, quoted-printable, base64; anything else is shown
// undecoded), then the charset to UTF-8 (an unknown charset keeps valid
// UTF-8 and reads other bytes as Windows-1252). Damaged base64 and
// quoted-printable are decoded as far as possible, invalid UTF-8 is
// replaced with U+FFFD, line breaks become "\n" and control characters
// other than tab and form feed are removed. problems says in plain words
// what had to be worked around; it is empty for a clean part.
func DecodeBody(data []byte, encoding, charset string) (text string, problems []string) {
	var st transferStatus
	dec, _ := io.ReadAll(newTransferDecoder(bytes.NewReader(data), encoding, &st))
	return finishText(dec, charset, &st)
}

// finishText converts transfer-decoded text to clean UTF-8 and describes
// the problems met on the way.
func finishText(dec []byte, charset string, st *transferStatus) (string, []string) {
	s, known := decodeCharset(dec, charset)
	var problems []string
	if st.unknown != "" {
		problems = append(problems, "The text uses the unknown transfer encoding \""+printableLabel(st.unknown)+"\"; it is shown undecoded.")
	}
	if st.badB64 {
		problems = append(problems, "Part of the text was damaged in transit; what could be decoded is shown.")
	}
	if st.badQP {
		problems = append(problems, "Some of the text was damaged in transit; it is shown as it arrived.")
	}
	if !known {
		problems = append(problems, "The text uses the unknown character set \""+printableLabel(charset)+"\"; shown as best we could.")
	}
	return cleanBodyText(s), problems
}

// printableLabel makes a charset or encoding name safe to quote to a user.
func printableLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == '"' {
			return -1
		}
		return r
	}, s)
	return truncateRunes(s, 40)
}

// cleanBodyText turns CRLF and lone CR into LF and removes control
// characters other than tab, LF and form feed.
func cleanBodyText(s string) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	if strings.IndexFunc(s, isBodyControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if isBodyControl(r) {
				return -1
			}
			return r
		}, s)
	}
	return s
}

func isBodyControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\f') || r == 0x7f
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676 §4.2):
// a line ending in a space continues on the next line of the same quote
// depth. Space-stuffing is undone; quote markers are written "> ".
func unflow(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	var out []string
	var cur strings.Builder
	depth, open := 0, false
	flush := func() {
		if open {
			out = append(out, cur.String())
			cur.Reset()
			open = false
		}
	}
	for _, l := range lines {
		d := 0
		for d < len(l) && l[d] == '>' {
			d++
		}
		content := strings.TrimPrefix(l[d:], " ")
		if open && d != depth {
			flush()
		}
		if !open {
			cur.WriteString(strings.Repeat("> ", d))
			depth = d
		}
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		cur.WriteString(content)
		open = true
		if !flowed {
			flush()
		}
	}
	flush()
	return strings.Join(out, "\n")
}

// PreviewText makes the one-line preview of a message list row from the
// first bytes of a text part (an IMAP BODY.PEEK[section]<0.N> fetch): data
// may stop anywhere, in a base64 quad, a quoted-printable escape, a
// multibyte character or an HTML tag. The result has at most n runes,
// whitespace collapsed, and ends with "…" when it was cut. For text/plain,
// quoted lines, the "On … wrote:" line before them and the signature are
// left out when there is other text; for text/html the text is extracted,
// without scripts, styles and quoted blocks.
func PreviewText(data []byte, encoding, charset, mediaType string, n int) string {
	if n <= 0 {
		return ""
	}
	var st transferStatus
	dec, _ := io.ReadAll(newTransferDecoder(bytes.NewReader(data), encoding, &st))
	if enc, _ := lookupCharset(charset); enc == nil || enc == unicode.UTF8 {
		dec = trimPartialUTF8(dec)
	}
	s, _ := decodeCharset(dec, charset)
	s = strings.TrimRight(s, "\uFFFD")
	mt := strings.ToLower(strings.TrimSpace(mediaType))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	if strings.Contains(mt, "html") {
		s = HtmlToText(s, true)
	} else {
		s = plainPreview(cleanBodyText(s))
	}
	return cutLine(strings.Join(strings.Fields(s), " "), n)
}

// trimPartialUTF8 drops an incomplete UTF-8 sequence at the end of b.
func trimPartialUTF8(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return b
		}
		if c >= 0xC0 { // a lead byte
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// cutLine cuts s to at most n runes, the last one "…" when it was cut,
// at a space when there is one in the second half.
func cutLine(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := truncateRunes(s, n-1)
	if rest := s[len(cut):]; !strings.HasPrefix(rest, " ") {
		if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
			cut = cut[:i]
		}
	}
	return strings.TrimRight(cut, " ") + "…"
}

var (
	attributionRe = regexp.MustCompile(`(?i)^(on\s.*|.*\s)wrote:?\s*$`)
	separatorRe   = regexp.MustCompile(`(?i)^\s*(-{3,}\s*(original message|ursprüngliche nachricht|message d'origine|forwarded message)\s*-{3,}|_{10,})\s*$`)
)

// containsWrote is a cheap test that attributionRe may match: the
// regexp backtracks over long lines (a quarter of a list page's preview
// work), and almost no line says "wrote".
func containsWrote(l string) bool {
	for i := 0; i+5 <= len(l); i++ {
		if (l[i]|0x20) == 'w' && strings.EqualFold(l[i:i+5], "wrote") {
			return true
		}
	}
	return false
}

// maybeSeparator is a cheap test that separatorRe may match.
func maybeSeparator(l string) bool {
	return strings.Contains(l, "---") || strings.Contains(l, "__________")
}

// plainPreview leaves out quoted lines, the attribution line before them,
// the signature and a quoted original, when other text remains.
func plainPreview(s string) string {
	lines := strings.Split(s, "\n")
	quoted := func(l string) bool { return strings.HasPrefix(strings.TrimLeft(l, " \t"), ">") }
	// nextQuoted reports whether the next non-blank line is quoted; at the
	// end of the data (a partial fetch) it answers atEnd.
	nextQuoted := func(i int, atEnd bool) bool {
		for j := i + 1; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) != "" {
				return quoted(lines[j])
			}
		}
		return atEnd
	}
	var keep []string
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if (strings.TrimRight(l, " ") == "--" || maybeSeparator(l) && separatorRe.MatchString(l)) && len(keep) > 0 {
			break
		}
		if quoted(l) {
			continue
		}
		wrote := containsWrote(t) && attributionRe.MatchString(t)
		if (wrote || strings.HasSuffix(t, ":")) && nextQuoted(i, wrote) {
			// "On Mon, 1 Jan, Ann <ann@\nexample.com> wrote:" wrapped
			// onto two lines.
			if n := len(keep); n > 0 && !strings.HasPrefix(strings.ToLower(t), "on ") &&
				strings.HasPrefix(strings.ToLower(strings.TrimSpace(keep[n-1])), "on ") {
				keep = keep[:n-1]
			}
			continue
		}
		keep = append(keep, l)
	}
	out := strings.TrimSpace(strings.Join(keep, "\n"))
	if out == "" {
		// Nothing but quotes: show them.
		var all []string
		for _, l := range lines {
			all = append(all, strings.TrimLeft(l, " \t>"))
		}
		out = strings.Join(all, "\n")
	}
	return out
}

// TextToHTML renders a plain text body as HTML: everything is escaped,
// http(s) URLs, www. links and e-mail addresses become links (trailing
// punctuation left out), runs of quoted lines become <blockquote>s (runs of
// more than 10 lines folded into <details>), and a signature after "-- "
// goes into <div class="sig">. Line breaks stay "\n": the page shows the
// text with white-space: pre-wrap.
func TextToHTML(text string) string {
	text = cleanBodyText(text)
	lines := strings.Split(text, "\n")
	sig := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i] == "-- " {
			sig = i
			break
		}
	}
	var b strings.Builder
	b.Grow(len(text) + len(text)/8)
	if sig < 0 {
		renderTextLines(&b, lines, 0)
		return b.String()
	}
	if sig > 0 {
		renderTextLines(&b, lines[:sig], 0)
		if !isQuotedLine(lines[sig-1]) {
			b.WriteByte('\n')
		}
	}
	b.WriteString(`<div class="sig">`)
	renderTextLines(&b, lines[sig:], 0)
	b.WriteString(`</div>`)
	return b.String()
}

// maxQuoteDepth bounds blockquote nesting.
const maxQuoteDepth = 20

func isQuotedLine(l string) bool { return strings.HasPrefix(l, ">") }

// renderTextLines writes lines, each text line followed by "\n" unless it
// is the last; quoted runs become blocks.
func renderTextLines(b *strings.Builder, lines []string, depth int) {
	for i := 0; i < len(lines); {
		if depth < maxQuoteDepth && isQuotedLine(lines[i]) {
			j := i
			for j < len(lines) && isQuotedLine(lines[j]) {
				j++
			}
			inner := make([]string, 0, j-i)
			for _, l := range lines[i:j] {
				l = l[1:]
				if strings.HasPrefix(l, " ") {
					l = l[1:]
				}
				inner = append(inner, l)
			}
			if depth == 0 && j-i > 10 {
				b.WriteString(`<details><summary>Quoted text (` + strconv.Itoa(j-i) + ` lines)</summary><blockquote>`)
				renderTextLines(b, inner, depth+1)
				b.WriteString(`</blockquote></details>`)
			} else {
				b.WriteString(`<blockquote>`)
				renderTextLines(b, inner, depth+1)
				b.WriteString(`</blockquote>`)
			}
			i = j
			continue
		}
		b.WriteString(linkify(lines[i]))
		if i+1 < len(lines) {
			b.WriteByte('\n')
		}
		i++
	}
}

var linkRe = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'\x60\x00-\x1f\x7f]+|[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}\b`)

// linkRel is the rel of every link made from mail content.
const linkRel = "noopener noreferrer nofollow"

// linkify escapes a line of text and turns URLs and addresses into links.
func linkify(line string) string {
	locs := linkRe.FindAllStringIndex(line, -1)
	if locs == nil {
		return html.EscapeString(line)
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		start, end := loc[0], loc[1]
		if start < last {
			continue
		}
		m := line[start:end]
		var href string
		lower := strings.ToLower(m)
		switch {
		case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "www."):
			m = trimURLPunct(m)
			end = start + len(m)
			if strings.HasSuffix(lower[:len(m)], "://") || len(m) <= 4 {
				continue
			}
			href = m
			if strings.HasPrefix(lower, "www.") {
				href = "https://" + m
			}
		default:
			href = "mailto:" + m
		}
		b.WriteString(html.EscapeString(line[last:start]))
		b.WriteString(`<a href="` + html.EscapeString(href) + `" rel="` + linkRel + `"`)
		if !strings.HasPrefix(href, "mailto:") {
			b.WriteString(` target="_blank"`)
		}
		b.WriteString(`>` + html.EscapeString(m) + `</a>`)
		last = end
	}
	b.WriteString(html.EscapeString(line[last:]))
	return b.String()
}

// trimURLPunct drops punctuation that ends a sentence rather than a URL,
// keeping closing brackets that match an opening one in the URL.
func trimURLPunct(u string) string {
	for len(u) > 0 {
		c := u[len(u)-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', '*':
			u = u[:len(u)-1]
			continue
		case ')':
			if strings.Count(u, "(") < strings.Count(u, ")") {
				u = u[:len(u)-1]
				continue
			}
		case ']':
			if strings.Count(u, "[") < strings.Count(u, "]") {
				u = u[:len(u)-1]
				continue
			}
		case '}':
			if strings.Count(u, "{") < strings.Count(u, "}") {
				u = u[:len(u)-1]
				continue
			}
		}
		break
	}
	return u
}
