package demo

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the small MIME toolkit the sample messages are built
// with. Everything is written by hand (rather than with go-message's
// writer) so the output is byte-for-byte deterministic and can include the
// odd legacy encodings real mailboxes contain.

// field is one header field; v is already encoded (ASCII) and gets folded
// when written.
type field struct{ k, v string }

// entity is a MIME entity: its header fields and its encoded body.
type entity struct {
	hdr  []field
	body []byte
}

// bytes renders the entity with CRLF line endings.
func (e entity) bytes() []byte {
	var b bytes.Buffer
	for _, f := range e.hdr {
		b.WriteString(fold(f.k + ": " + f.v))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(e.body)
	return b.Bytes()
}

// fold folds a header line at spaces so that lines stay within 78
// characters where possible (RFC 5322 section 2.2.3).
func fold(line string) string {
	if len(line) <= 78 {
		return line
	}
	var b strings.Builder
	cur := 0
	for i, tok := range strings.Split(line, " ") {
		switch {
		case i == 0:
			b.WriteString(tok)
			cur = len(tok)
		case cur+1+len(tok) > 78 && cur > 1:
			b.WriteString("\r\n ")
			b.WriteString(tok)
			cur = 1 + len(tok)
		default:
			b.WriteByte(' ')
			b.WriteString(tok)
			cur += 1 + len(tok)
		}
	}
	return b.String()
}

// crlf normalises line endings to CRLF.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxLineLen returns the length of the longest line of s.
func maxLineLen(s string) int {
	m := 0
	for _, l := range strings.Split(s, "\n") {
		m = max(m, len(l))
	}
	return m
}

// encodeText encodes an unstructured header value (RFC 2047) in UTF-8:
// B encoding for mostly non-Latin text, Q encoding otherwise.
func encodeText(s string) string {
	if isASCII(s) {
		return s
	}
	nonASCII := 0
	for _, r := range s {
		if r >= utf8.RuneSelf {
			nonASCII++
		}
	}
	if nonASCII*3 > utf8.RuneCountInString(s) {
		return mime.BEncoding.Encode("UTF-8", s)
	}
	return mime.QEncoding.Encode("UTF-8", s)
}

// qp quoted-printable-encodes b (text mode: line breaks become CRLF).
func qp(b []byte) []byte {
	var out bytes.Buffer
	w := quotedprintable.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// b64 base64-encodes b in lines of 76 characters.
func b64(b []byte) []byte {
	s := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(s) > 76 {
		out.WriteString(s[:76])
		out.WriteString("\r\n")
		s = s[76:]
	}
	out.WriteString(s)
	out.WriteString("\r\n")
	return out.Bytes()
}

// textEntity is a text/<subtype> part in UTF-8: 7bit when the text is
// plain short-lined ASCII, quoted-printable otherwise. params are extra
// Content-Type parameters as name, value pairs.
func textEntity(subtype, s string, params ...string) entity {
	p := map[string]string{"charset": "utf-8"}
	for i := 0; i+1 < len(params); i += 2 {
		p[params[i]] = params[i+1]
	}
	e := entity{hdr: []field{{"Content-Type", mime.FormatMediaType("text/"+subtype, p)}}}
	if isASCII(s) && maxLineLen(s) <= 76 && !strings.Contains(s, " \n") {
		if p["charset"] == "utf-8" {
			p["charset"] = "us-ascii"
			e.hdr[0].v = mime.FormatMediaType("text/"+subtype, p)
		}
		e.hdr = append(e.hdr, field{"Content-Transfer-Encoding", "7bit"})
		e.body = []byte(crlf(s))
		if !strings.HasSuffix(s, "\n") {
			e.body = append(e.body, "\r\n"...)
		}
		return e
	}
	e.hdr = append(e.hdr, field{"Content-Transfer-Encoding", "quoted-printable"})
	e.body = append(qp([]byte(s)), "\r\n"...)
	return e
}

func plain(s string) entity { return textEntity("plain", s) }
func html(s string) entity  { return textEntity("html", s) }

// legacyText is a text/plain part whose body is already in charset
// (ISO-8859-1, KOI8-R, ISO-2022-JP, ...), sent with the given
// Content-Transfer-Encoding ("quoted-printable", "8bit" or "7bit").
func legacyText(charset, cte string, body []byte) entity {
	e := entity{hdr: []field{
		{"Content-Type", "text/plain; charset=" + charset},
		{"Content-Transfer-Encoding", cte},
	}}
	body = []byte(crlf(string(body)))
	if cte == "quoted-printable" {
		body = append(qp(body), "\r\n"...)
	} else if !bytes.HasSuffix(body, []byte("\r\n")) {
		body = append(body, "\r\n"...)
	}
	e.body = body
	return e
}

// latin1 converts s to ISO-8859-1; s must only contain runes below 256.
func latin1(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			panic(fmt.Sprintf("demo: %q is not Latin-1", r))
		}
		b = append(b, byte(r))
	}
	return b
}

// attachment is a base64 part with a Content-Disposition; filename may be
// non-ASCII (RFC 2231 encoding). disposition is "attachment" or "inline";
// cid, when not empty, becomes the Content-ID.
func attachment(ctype, filename, disposition, cid string, data []byte) entity {
	e := entity{}
	if filename != "" {
		name := filename
		if !isASCII(name) {
			// What most mailers send: an RFC 2047 name= for old clients,
			// the RFC 2231 filename* in Content-Disposition.
			name = mime.QEncoding.Encode("UTF-8", filename)
		}
		e.hdr = append(e.hdr, field{"Content-Type", ctype + "; name=\"" + name + "\""})
		e.hdr = append(e.hdr, field{"Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": filename})})
	} else {
		e.hdr = append(e.hdr, field{"Content-Type", ctype}, field{"Content-Disposition", disposition})
	}
	if cid != "" {
		e.hdr = append(e.hdr, field{"Content-ID", "<" + cid + ">"})
	}
	e.hdr = append(e.hdr, field{"Content-Transfer-Encoding", "base64"})
	e.body = b64(data)
	return e
}

// rfc822 is a message/rfc822 part carrying a whole message.
func rfc822(raw []byte, inline bool) entity {
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	return entity{
		hdr:  []field{{"Content-Type", "message/rfc822"}, {"Content-Disposition", disp}},
		body: raw,
	}
}

// person is a correspondent.
type person struct {
	name  string
	email string
	zone  *time.Location
	// enc, when set, is the display name already RFC 2047-encoded (for
	// legacy charsets).
	enc string
}

// addr formats p for an address header.
func (p person) addr() string {
	if p.enc != "" {
		return p.enc + " <" + p.email + ">"
	}
	return (&mail.Address{Name: p.name, Address: p.email}).String()
}

func addrList(ps []person) string {
	l := make([]string, len(ps))
	for i, p := range ps {
		l[i] = p.addr()
	}
	return strings.Join(l, ", ")
}

// rfc5322Date is the Date header layout.
const rfc5322Date = "Mon, 02 Jan 2006 15:04:05 -0700"

// pngImage draws a small deterministic PNG (a w×h gradient in the given
// hue with a diagonal stripe) and returns its encoding.
func pngImage(w, h int, c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			shade := uint8(255 * (x + y) / (w + h))
			px := color.RGBA{
				R: uint8((int(c.R) + int(shade)) / 2),
				G: uint8((int(c.G) + int(shade)) / 2),
				B: uint8((int(c.B) + int(shade)) / 2),
				A: 255,
			}
			if (x-y+h)%(w/4+1) == 0 {
				px = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, px)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // cannot happen with an in-memory image
	}
	return b.Bytes()
}

// pdfDoc returns a minimal valid one-page PDF 1.4 showing title and lines
// in Helvetica. Text must be ASCII.
func pdfDoc(title string, lines ...string) []byte {
	esc := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	var content strings.Builder
	fmt.Fprintf(&content, "BT /F1 20 Tf 72 770 Td (%s) Tj ET\n", esc.Replace(title))
	for i, l := range lines {
		fmt.Fprintf(&content, "BT /F1 11 Tf 72 %d Td (%s) Tj ET\n", 740-16*i, esc.Replace(l))
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		fmt.Sprintf("<< /Title (%s) /Producer (thumbmail demo) >>", esc.Replace(title)),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
