package dovecottest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// RealMessage is one message of [RealWorld]: the shape it stands for and
// its raw bytes.
type RealMessage struct {
	Name string // the shape, one of RealWorldShapes
	Raw  []byte
}

// RealWorldMessages returns the raw messages of [RealWorld] for seed.
func RealWorldMessages(seed int64) [][]byte {
	rw := RealWorld(seed)
	out := make([][]byte, len(rw))
	for i, m := range rw {
		out[i] = m.Raw
	}
	return out
}

// RealWorldShapes returns the names of the shapes RealWorld produces, one
// message each, in a fixed order.
func RealWorldShapes() []string {
	names := make([]string, len(realShapes))
	for i, s := range realShapes {
		names[i] = s.name
	}
	return names
}

// RealWorld returns one message of every shape real inboxes hold, well
// formed or not, in an order picked by seed. All line breaks are CRLF
// (messages that end in the middle of a line have no final one); a seed
// always gives the same bytes, and only dates, Message-IDs and a few words
// differ between seeds. The Date of message k of the fixed shape order is
// in March 2026, k hours after the first, so the file order (and UIDs)
// does not follow the dates. Subjects do not depend on the seed.
//
// The shapes (names as in RealWorldShapes):
//
//   - everyday mail: html-newsletter (text/html only, quoted-printable,
//     styles, tables, a script, tracking pixels), plain (UTF-8 8bit,
//     format=flowed, a quote and a signature), alternative, mixed-attachments
//     (PDF, .docx as octet-stream, PNG and JPEG), related-cid (an Outlook
//     style multipart/related around multipart/alternative, with inline
//     cid: images), related-html-only (Apple Mail style: HTML and its cid:
//     images, one of them damaged base64, no text part), calendar-invite
//     (text/calendar method=REQUEST inside multipart/alternative, and an
//     .ics attachment), list-digest (multipart/digest), uuencode (a
//     uuencoded file in a text/plain body), many-attachments (40 images),
//     html-long-line (100 KB of minified HTML on one line),
//     html-deep-quotes (a reply chain of 150 nested blockquotes and tables);
//   - nested messages: forward-rfc822 (message/rfc822 attachment),
//     forward-of-forward (message/rfc822 inside message/rfc822), bounce-dsn
//     (multipart/report with message/delivery-status and the returned
//     message/rfc822), bounce-headers (the same with text/rfc822-headers);
//   - security: smime-signed (multipart/signed,
//     application/pkcs7-signature), pgp-signed (application/pgp-signature),
//     pgp-encrypted (multipart/encrypted), smime-encrypted
//     (application/pkcs7-mime enveloped-data), tnef (application/ms-tnef
//     winmail.dat);
//   - character sets: charset-unknown (x-unknown-foo),
//     charset-mislabelled-utf8 and charset-mislabelled-latin1 (us-ascii
//     labels on 8-bit text), iso-2022-jp, windows-1252, gb2312 (with GBK
//     characters), koi8-r, html-meta-charset (text/html whose charset is
//     only in a <meta>), raw-8bit-headers (UTF-8 and Latin-1 bytes in
//     Subject, From, To and a file name), rfc2047-split (a multi-byte
//     character split across two encoded words, mixed charsets),
//     rfc2047-broken (bad base64, unknown charset, unterminated words);
//   - structure damage: no-mime-version (multipart without MIME-Version),
//     broken-boundary (the declared boundary never appears),
//     missing-boundary-param, missing-closing-boundary, empty-body,
//     header-only (no blank line, no body), deep-nesting (multipart 40
//     levels deep), content-type-garbage (top-level) and
//     part-content-type-garbage (inside a multipart), base64-garbage (junk
//     characters, "=" mid-stream, a truncated attachment),
//     qp-broken (bad escapes and soft breaks), nul-bytes (in a header and
//     the body);
//   - header damage: empty-subject, no-subject, no-from, no-date,
//     garbage-date, header-no-colon (a line without a colon amid the
//     fields), header-leading-space (the first line is a continuation);
//   - size: huge-header (about 1 MB of Received lines), giant-references
//     (a References field of about 300 KB), long-line (a 200 KB line, no
//     line break, ending the message), huge-to (500 addresses);
//   - attachment names: attachment-rfc2231 (RFC 2231 encoded and
//     continued names, a bad percent escape) and attachment-path-separators
//     (../, C:\ and dir/ names, markup in a name).
func RealWorld(seed int64) []RealMessage {
	order := rand.New(rand.NewPCG(uint64(seed), 0x7265616c6d61696c)).Perm(len(realShapes))
	out := make([]RealMessage, len(realShapes))
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i, k := range order {
		s := realShapes[k]
		g := &realGen{
			r:    rand.New(rand.NewPCG(uint64(seed)*0x9e3779b97f4a7c15+uint64(k), 0x7368617065)),
			seed: seed,
			name: s.name,
		}
		g.date = base.Add(time.Duration(k)*time.Hour + time.Duration(g.r.IntN(3600))*time.Second)
		out[i] = RealMessage{Name: s.name, Raw: toCRLF(s.gen(g))}
	}
	return out
}

// realGen carries what one message may vary by.
type realGen struct {
	r    *rand.Rand
	seed int64
	name string
	date time.Time
}

func (g *realGen) dateField() string { return "Date: " + g.date.Format(time.RFC1123Z) }

func (g *realGen) msgID() string {
	return fmt.Sprintf("<%s.%d.%08x@realmail.example>", g.name, g.seed, g.r.Uint32())
}

// head is the usual top of a message: Date, From, To, Subject,
// Message-ID and MIME-Version, then the extra lines.
func (g *realGen) head(from, subject string, extra ...string) string {
	lines := []string{
		"Return-Path: <bounces@realmail.example>",
		"Received: from mx.realmail.example (mx.realmail.example [192.0.2.25])\n\tby imap.example.org with ESMTPS id " + fmt.Sprintf("%08X", g.r.Uint32()) + "\n\tfor <alice@example.org>; " + g.date.Format(time.RFC1123Z),
		g.dateField(),
		"From: " + from,
		"To: Alice Liddell <alice@example.org>",
		"Subject: " + subject,
		"Message-ID: " + g.msgID(),
		"MIME-Version: 1.0",
	}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}

// words returns n words of ordinary text, with "the" among them.
func (g *realGen) words(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = words[g.r.IntN(len(words))]
	}
	if n > 0 {
		ws[0] = "the"
	}
	return strings.Join(ws, " ")
}

// wrap breaks text into lines of at most 72 characters.
func wrap(text string) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(text) {
		if n > 0 && n+1+len(w) > 72 {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

func b64Body(data []byte) string { return strings.Join(base64Lines(data), "\n") }
func qpBody(text string) string  { return strings.Join(qpLines(text), "\n") }

// encodeTo encodes UTF-8 text in a legacy character set.
func encodeTo(e encoding.Encoding, s string) string {
	out, err := e.NewEncoder().String(s)
	if err != nil {
		panic(fmt.Sprintf("dovecottest: encoding %q: %v", s, err))
	}
	return out
}

// toCRLF turns every bare LF into CRLF.
func toCRLF(s string) []byte {
	var b bytes.Buffer
	b.Grow(len(s) + len(s)/40)
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.Bytes()
}

// Small binary payloads.
var (
	fakePDF  = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	fakeDOCX = append([]byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"), []byte("[Content_Types].xml word/document.xml not really a docx")...)
	fakeJPEG = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00C\x00 truncated jpeg \xff\xd9")
	fakeGIF  = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	fakeTNEF = []byte("\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00\x01\x00\x01\x07\x90\x06\x00\x08\x00\x00\x00\xe4\x04\x00\x00\x00\x00\x00\x00\xe8\x00IPM.Microsoft Mail.Note\x00")
	fakeP7S  = []byte("0\x82\x05\x1a\x06\t*\x86H\x86\xf7\r\x01\x07\x02\xa0\x82\x05\x0b0\x82\x05\x07\x02\x01\x011\x0f0\r\x06\t`\x86H\x01e\x03\x04\x02\x01\x05\x00 not a real signature")
	fakeP7M  = []byte("0\x80\x06\t*\x86H\x86\xf7\r\x01\x07\x03\xa0\x800\x80\x02\x01\x001\x82\x01\x8a0\x82\x01\x86\x02\x01\x000n0b1\x0b0\t\x06\x03U\x04\x06\x13\x02DE enveloped data that nobody can open")
)

type realShape struct {
	name string
	gen  func(g *realGen) string
}

// forwardedMail is a small complete message, as found inside a
// message/rfc822 part.
func forwardedMail(g *realGen, from, subject, text string) string {
	return "Date: Fri, 27 Feb 2026 16:20:00 +0100\n" +
		"From: " + from + "\n" +
		"To: Bob Martin <bob@example.com>\n" +
		"Subject: " + subject + "\n" +
		"Message-ID: <orig." + g.name + "@example.com>\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"Content-Transfer-Encoding: 8bit\n\n" +
		wrap(text) + "\n"
}

var realShapes = []realShape{
	{"html-newsletter", func(g *realGen) string {
		html := `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style type="text/css">body{margin:0;background:#eee} .btn{background:#e4002b;color:#fff;padding:12px} @media (max-width:600px){table{width:100%!important}}</style>
<title>Weekly deals</title></head>
<body onload="track()"><script>document.cookie="x=1"</script>
<img src="https://t.shop.example/open.gif?u=alice%40example.org&amp;c=` + fmt.Sprint(g.r.IntN(1e6)) + `" width="1" height="1" alt="">
<table width="600" cellpadding="0" cellspacing="0" border="0" align="center" bgcolor="#ffffff"><tr><td>
<h1 style="font-family:Arial,sans-serif">Up to 70% off – this week only</h1>
<p>Hello Alice, here are the deals we picked for you: ` + g.words(30) + `.</p>
<table><tr><td><img src="https://cdn.shop.example/p/123.jpg" width="180"><br>Kettle €19.99</td>
<td><img src="https://cdn.shop.example/p/456.jpg" width="180"><br>Toaster €24.99</td></tr></table>
<p><a class="btn" href="https://shop.example/deals?utm_source=newsletter&amp;utm_medium=email">Shop now &rarr;</a></p>
<p style="font-size:10px;color:#999">You receive this because you signed up at shop.example. <a href="https://shop.example/unsubscribe?u=alice">Unsubscribe</a> · <a href="javascript:alert(1)">Preferences</a></p>
</td></tr></table></body></html>`
		return g.head(`"Weekly Deals" <news@shop.example>`, "Your weekly deals – up to 70% off",
			"List-Unsubscribe: <https://shop.example/unsubscribe?u=alice>, <mailto:unsubscribe@shop.example>",
			"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
			"Precedence: bulk",
			`Content-Type: text/html; charset="utf-8"`,
			"Content-Transfer-Encoding: quoted-printable") + "\n" + qpBody(html) + "\n"
	}},
	{"plain", func(g *realGen) string {
		return g.head("Zoë Müller <zoe.mueller@example.de>", "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=",
			"In-Reply-To: <earlier@example.org>",
			"Content-Type: text/plain; charset=utf-8; format=flowed",
			"Content-Transfer-Encoding: 8bit") + "\n" +
			"Hallo Alice, \nschöne Grüße aus München! " + g.words(12) + " \nbis bald.\n\n" +
			"On Sun, 1 Mar 2026, Alice wrote:\n> Did you get the tickets?\n>> Earlier quoted text here.\n\n-- \nZoë\n"
	}},
	{"alternative", func(g *realGen) string {
		text := "Hi Alice,\n\n" + wrap("Agenda for the meeting: "+g.words(40)) + "\n\nCarol\n"
		html := "<html><body><p>Hi Alice,</p><p>Agenda for the <b>meeting</b>: " + g.words(40) + "</p><ul><li>budget</li><li>schedule</li></ul><p>Carol</p></body></html>"
		return g.head("Carol Nguyen <carol.nguyen@example.net>", "Agenda for Thursday",
			`Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6"`) + "\n" +
			"--000000000000a1b2c3d4e5f6\nContent-Type: text/plain; charset=\"UTF-8\"\n\n" + text +
			"\n--000000000000a1b2c3d4e5f6\nContent-Type: text/html; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n\n" + qpBody(html) +
			"\n\n--000000000000a1b2c3d4e5f6--\n"
	}},
	{"mixed-attachments", func(g *realGen) string {
		return g.head("Frank Li <frank.li@example.com>", "Q1 documents",
			`Content-Type: multipart/mixed; boundary="----=_NextPart_000_0012_01DA1234.56789ABC"`) + "\n" +
			"This is a multi-part message in MIME format.\n\n" +
			"------=_NextPart_000_0012_01DA1234.56789ABC\n" +
			"Content-Type: multipart/alternative; boundary=\"----=_NextPart_001_0013_01DA1234.56789ABC\"\n\n\n" +
			"------=_NextPart_001_0013_01DA1234.56789ABC\nContent-Type: text/plain; charset=\"us-ascii\"\nContent-Transfer-Encoding: 7bit\n\n" +
			"Hi Alice,\n\nattached are the report, the plan and two photos. " + g.words(10) + "\n\nFrank\n\n" +
			"------=_NextPart_001_0013_01DA1234.56789ABC\nContent-Type: text/html; charset=\"us-ascii\"\nContent-Transfer-Encoding: 7bit\n\n" +
			"<html><body><p>Hi Alice,</p><p>attached are the report, the plan and two photos.</p><p>Frank</p></body></html>\n\n" +
			"------=_NextPart_001_0013_01DA1234.56789ABC--\n\n" +
			"------=_NextPart_000_0012_01DA1234.56789ABC\nContent-Type: application/pdf; name=\"Q1 report.pdf\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"Q1 report.pdf\"\n\n" +
			b64Body(fakePDF) + "\n\n" +
			"------=_NextPart_000_0012_01DA1234.56789ABC\nContent-Type: application/octet-stream; name=\"Plan 2026.docx\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"Plan 2026.docx\"\n\n" +
			b64Body(fakeDOCX) + "\n\n" +
			"------=_NextPart_000_0012_01DA1234.56789ABC\nContent-Type: image/png; name=\"chart.png\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"chart.png\"\n\n" +
			b64Body(tinyPNG()) + "\n\n" +
			"------=_NextPart_000_0012_01DA1234.56789ABC\nContent-Type: image/jpeg; name=\"IMG_0042.JPG\"\nContent-Transfer-Encoding: base64\nContent-Disposition: inline; filename=\"IMG_0042.JPG\"\n\n" +
			b64Body(fakeJPEG) + "\n\n" +
			"------=_NextPart_000_0012_01DA1234.56789ABC--\n"
	}},
	{"related-cid", func(g *realGen) string {
		return g.head("Support Team <support@shop.example>", "Your order has shipped",
			`Content-Type: multipart/related; type="multipart/alternative"; boundary="rel-b1"`) + "\n" +
			"--rel-b1\nContent-Type: multipart/alternative; boundary=\"alt-b2\"\n\n" +
			"--alt-b2\nContent-Type: text/plain; charset=utf-8\n\nYour order has shipped. " + g.words(8) + "\n\n" +
			"--alt-b2\nContent-Type: text/html; charset=utf-8\n\n" +
			"<html><body><img src=\"cid:logo.png@01DA1234\" alt=\"Shop\"><p>Your order has shipped.</p>" +
			"<p><img src=\"cid:map@01DA1234\" width=\"300\"></p><p><img src=\"cid:missing@nowhere\"></p></body></html>\n\n" +
			"--alt-b2--\n\n" +
			"--rel-b1\nContent-Type: image/png; name=\"logo.png\"\nContent-Transfer-Encoding: base64\nContent-ID: <logo.png@01DA1234>\nContent-Disposition: inline; filename=\"logo.png\"\n\n" +
			b64Body(tinyPNG()) + "\n" +
			"--rel-b1\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\nContent-ID: <map@01DA1234>\n\n" +
			b64Body(fakeGIF) + "\n" +
			"--rel-b1--\n"
	}},
	{"related-html-only", func(g *realGen) string {
		// Apple Mail style: HTML and its pictures, no text alternative.
		return g.head("Zoë Müller <zoe.mueller@example.de>", "Look at this view",
			`Content-Type: multipart/related; type="text/html"; boundary="Apple-Mail=_0D1E2F"`) + "\n" +
			"--Apple-Mail=_0D1E2F\nContent-Transfer-Encoding: 7bit\nContent-Type: text/html; charset=us-ascii\n\n" +
			"<html><body><div>Look at this view! " + g.words(6) + "</div><div><img src=\"cid:9F1A@zoe\" alt=\"view\"></div>" +
			"<div><img src=\"cid:broken@zoe\" alt=\"second\"></div><div><img src=\"CID:9F1A@zoe\"></div></body></html>\n" +
			"--Apple-Mail=_0D1E2F\nContent-Transfer-Encoding: base64\nContent-Disposition: inline; filename=view.png\nContent-Type: image/png; name=\"view.png\"\nContent-Id: <9F1A@zoe>\n\n" +
			b64Body(tinyPNG()) + "\n" +
			"--Apple-Mail=_0D1E2F\nContent-Transfer-Encoding: base64\nContent-Disposition: inline; filename=second.jpg\nContent-Type: image/jpeg; name=\"second.jpg\"\nContent-Id: <broken@zoe>\n\n" +
			"/9j/4AAQSkZJRgABAQ###garbage###\n" +
			"--Apple-Mail=_0D1E2F--\n"
	}},
	{"calendar-invite", func(g *realGen) string {
		ics := "BEGIN:VCALENDAR\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\nVERSION:2.0\nCALSCALE:GREGORIAN\nMETHOD:REQUEST\n" +
			"BEGIN:VEVENT\nDTSTART:20260310T090000Z\nDTEND:20260310T100000Z\nDTSTAMP:20260302T080000Z\n" +
			"ORGANIZER;CN=Grace Hopper:mailto:grace@example.mil\n" +
			"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=\n TRUE;CN=alice@example.org:mailto:alice@example.org\n" +
			"UID:" + fmt.Sprintf("%016x", g.r.Uint64()) + "@google.com\nSUMMARY:Design review\nLOCATION:Room 4\nDESCRIPTION:Let's review the design.\\nBring the drafts.\n" +
			"SEQUENCE:0\nSTATUS:CONFIRMED\nEND:VEVENT\nEND:VCALENDAR\n"
		return g.head("Grace Hopper <grace@example.mil>", "Invitation: Design review @ Tue 10 Mar 2026 09:00 (UTC)",
			`Content-Type: multipart/mixed; boundary="mix-cal"`) + "\n" +
			"--mix-cal\nContent-Type: multipart/alternative; boundary=\"alt-cal\"\n\n" +
			"--alt-cal\nContent-Type: text/plain; charset=\"UTF-8\"; format=flowed; delsp=yes\n\nYou have been invited to the following event.\n\nDesign review\nWhen: Tue 10 Mar 2026 09:00 – 10:00 (UTC)\n\n" +
			"--alt-cal\nContent-Type: text/html; charset=\"UTF-8\"\n\n<p>You have been invited to <b>Design review</b>.</p>\n\n" +
			"--alt-cal\nContent-Type: text/calendar; charset=\"UTF-8\"; method=REQUEST\nContent-Transfer-Encoding: 7bit\n\n" + ics + "\n" +
			"--alt-cal--\n\n" +
			"--mix-cal\nContent-Type: application/ics; name=\"invite.ics\"\nContent-Disposition: attachment; filename=\"invite.ics\"\nContent-Transfer-Encoding: base64\n\n" +
			b64Body([]byte(strings.ReplaceAll(ics, "\n", "\r\n"))) + "\n\n" +
			"--mix-cal--\n"
	}},
	{"list-digest", func(g *realGen) string {
		return g.head("golang-nuts@lists.example", "golang-nuts Digest, Vol 42, Issue 7",
			"List-Id: <golang-nuts.lists.example>",
			`Content-Type: multipart/mixed; boundary="===============1234567890=="`) + "\n" +
			"--===============1234567890==\nContent-Type: text/plain; charset=\"us-ascii\"\n\nToday's Topics:\n\n   1. Generics question (Bob)\n   2. Re: Generics question (Eve)\n\n" +
			"--===============1234567890==\nContent-Type: multipart/digest; boundary=\"===============0987654321==\"\n\n" +
			"--===============0987654321==\n\n" + forwardedMail(g, "Bob Martin <bob@example.com>", "Generics question", "How do I constrain a type parameter to "+g.words(10)) + "\n" +
			"--===============0987654321==\nContent-Type: message/rfc822\n\n" + forwardedMail(g, "Eve Adams <eve@example.org>", "Re: Generics question", "Use an interface with a type set. "+g.words(10)) + "\n" +
			"--===============0987654321==--\n\n" +
			"--===============1234567890==--\n"
	}},
	{"html-long-line", func(g *realGen) string {
		// Minified marketing HTML: 100 KB of markup on one line (Gmail
		// clips messages at 102 KB).
		var b strings.Builder
		b.WriteString(`<html><head><style>td{padding:0}</style></head><body><table width="100%" cellpadding="0" cellspacing="0">`)
		for i := 0; b.Len() < 100<<10; i++ {
			fmt.Fprintf(&b, `<tr><td class="c%d" style="font-family:Arial;font-size:14px;color:#333"><a href="https://click.shop.example/l?u=%d&amp;t=%08x" style="color:#06c">%s</a><img src="https://t.shop.example/p/%d.gif" width="1" height="1" alt=""></td></tr>`,
				i%7, i, g.r.Uint32(), g.words(3), i)
		}
		b.WriteString(`</table></body></html>`)
		return g.head(`"Mega Store" <offers@megastore.example>`, "The whole catalogue in one line",
			"Content-Type: text/html; charset=utf-8",
			"Content-Transfer-Encoding: 8bit") + "\n" + b.String() + "\n"
	}},
	{"html-deep-quotes", func(g *realGen) string {
		// A reply chain from HTML mailers: every reply quotes the last
		// in a blockquote (and Outlook adds a table), 150 levels deep.
		var b strings.Builder
		b.WriteString("<html><body>")
		for i := 0; i < 150; i++ {
			fmt.Fprintf(&b, "<div>Reply %d: %s</div><blockquote type=\"cite\" style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\"><table><tr><td>\n", 150-i, g.words(6))
		}
		b.WriteString("<p>The first mail of the thread.</p>")
		for i := 0; i < 150; i++ {
			b.WriteString("</td></tr></table></blockquote>\n")
		}
		b.WriteString("</body></html>")
		return g.head("Dave O'Brien <dave@example.com>", "RE: RE: RE: RE: RE: RE: the long thread",
			"Content-Type: text/html; charset=utf-8") + "\n" + b.String() + "\n"
	}},
	{"many-attachments", func(g *realGen) string {
		var b strings.Builder
		b.WriteString(g.head("Grace Hopper <grace@example.mil>", "Photos from the trip (40 files)",
			`Content-Type: multipart/mixed; boundary="photos"`) + "\n")
		b.WriteString("--photos\nContent-Type: text/plain; charset=utf-8\n\nAll the photos from the trip. " + g.words(6) + "\n")
		for i := 1; i <= 40; i++ {
			fmt.Fprintf(&b, "--photos\nContent-Type: image/png; name=\"IMG_%04d.png\"\nContent-Disposition: attachment; filename=\"IMG_%04d.png\"\nContent-Transfer-Encoding: base64\n\n%s\n", i, i, b64Body(tinyPNG()))
		}
		b.WriteString("--photos--\n")
		return b.String()
	}},
	{"uuencode", func(g *realGen) string {
		return g.head("Old Timer <old@example.com>", "the file you wanted",
			"Content-Type: text/plain; charset=us-ascii") + "\n" +
			"Here it is, uuencoded as always.\n\nbegin 644 notes.txt\nM2&5L;&\\@=V]R;&0L('1H:7,@:7,@82!U=65N8V]D960@9FEL92X*\n`\nend\n\n-- \nold\n"
	}},
	{"forward-rfc822", func(g *realGen) string {
		return g.head("Bob Martin <bob@example.com>", "Fwd: Contract draft",
			`Content-Type: multipart/mixed; boundary="fwd-1"`) + "\n" +
			"--fwd-1\nContent-Type: text/plain; charset=utf-8\n\nSee the mail below. " + g.words(6) + "\n\n" +
			"--fwd-1\nContent-Type: message/rfc822; name=\"Contract draft.eml\"\nContent-Disposition: attachment; filename=\"Contract draft.eml\"\n\n" +
			"Date: Thu, 26 Feb 2026 10:00:00 +0000\nFrom: Hélène Dubois <helene@example.fr>\nTo: Bob Martin <bob@example.com>\nSubject: Contract draft\nMessage-ID: <contract@example.fr>\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/alternative; boundary=\"inner-alt\"\n\n" +
			"--inner-alt\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qpBody("Voilà le brouillon du contrat. Merci !") + "\n" +
			"--inner-alt\nContent-Type: text/html; charset=utf-8\n\n<p>Voilà le <i>brouillon</i> du contrat.</p>\n" +
			"--inner-alt--\n\n" +
			"--fwd-1--\n"
	}},
	{"forward-of-forward", func(g *realGen) string {
		return g.head("Eve Adams <eve@example.org>", "Fwd: Fwd: Lunch on Friday?",
			`Content-Type: multipart/mixed; boundary="outer-fwd"`) + "\n" +
			"--outer-fwd\nContent-Type: text/plain; charset=us-ascii\n\nFYI, forwarded twice now.\n\n" +
			"--outer-fwd\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n" +
			"Date: Sat, 28 Feb 2026 09:00:00 +0000\nFrom: Dave O'Brien <dave@example.com>\nTo: Eve Adams <eve@example.org>\nSubject: Fwd: Lunch on Friday?\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=\"middle-fwd\"\n\n" +
			"--middle-fwd\nContent-Type: text/plain; charset=us-ascii\n\nForwarding this one.\n\n" +
			"--middle-fwd\nContent-Type: message/rfc822\n\n" +
			forwardedMail(g, "Frank Li <frank.li@example.com>", "Lunch on Friday?", "Shall we have lunch on Friday? "+g.words(8)) + "\n" +
			"--middle-fwd--\n\n" +
			"--outer-fwd--\n"
	}},
	{"bounce-dsn", func(g *realGen) string {
		return "Return-Path: <>\n" + g.dateField() + "\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nTo: alice@example.org\n" +
			"Subject: Undelivered Mail Returned to Sender\nMessage-ID: " + g.msgID() + "\nMIME-Version: 1.0\nAuto-Submitted: auto-replied\n" +
			"Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"4F1A22C0123.1709366400/mx.example.org\"\n\n" +
			"This is a MIME-encapsulated message.\n\n" +
			"--4F1A22C0123.1709366400/mx.example.org\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n" +
			"This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<nobody@nowhere.example>: host nowhere.example said: 550 5.1.1 User unknown\n\n" +
			"--4F1A22C0123.1709366400/mx.example.org\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n" +
			"Reporting-MTA: dns; mx.example.org\nX-Postfix-Queue-ID: 4F1A22C0123\nArrival-Date: Mon,  2 Mar 2026 08:00:00 +0000 (UTC)\n\n" +
			"Final-Recipient: rfc822; nobody@nowhere.example\nOriginal-Recipient: rfc822;nobody@nowhere.example\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; nowhere.example\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n" +
			"--4F1A22C0123.1709366400/mx.example.org\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n\n" +
			"Date: Mon, 2 Mar 2026 07:59:00 +0000\nFrom: Alice Liddell <alice@example.org>\nTo: nobody@nowhere.example\nSubject: Are you there?\nMessage-ID: <sent.1@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello? " + g.words(5) + "\n\n" +
			"--4F1A22C0123.1709366400/mx.example.org--\n"
	}},
	{"bounce-headers", func(g *realGen) string {
		return g.dateField() + "\nFrom: postmaster@outlook.example\nTo: alice@example.org\nSubject: Delivery Status Notification (Failure)\nMessage-ID: " + g.msgID() + "\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"dsn-b\"\n\n" +
			"--dsn-b\nContent-Type: multipart/alternative; boundary=\"dsn-alt\"\n\n" +
			"--dsn-alt\nContent-Type: text/plain; charset=us-ascii\n\nDelivery has failed to these recipients or groups: bob@outlook.example\n\n" +
			"--dsn-alt\nContent-Type: text/html; charset=us-ascii\n\n<p><b>Delivery has failed</b> to these recipients or groups.</p>\n\n" +
			"--dsn-alt--\n\n" +
			"--dsn-b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;outlook.example\nReceived-From-MTA: dns;mx.example.org\n\nFinal-Recipient: rfc822;bob@outlook.example\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp;554 5.2.2 mailbox full\n\n" +
			"--dsn-b\nContent-Type: text/rfc822-headers\n\n" +
			"Received: from mx.example.org by outlook.example; Mon, 2 Mar 2026 08:00:00 +0000\nFrom: Alice Liddell <alice@example.org>\nTo: bob@outlook.example\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nDate: Mon, 2 Mar 2026 07:59:00 +0000\n\n" +
			"--dsn-b--\n"
	}},
	{"smime-signed", func(g *realGen) string {
		return g.head("Ólafur Sigurðsson <olafur@example.is>", "Signed: the invoice",
			`Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="------------ms010203040506070809"`) + "\n" +
			"This is a cryptographically signed message in MIME format.\n\n" +
			"--------------ms010203040506070809\nContent-Type: text/plain; charset=UTF-8; format=flowed\nContent-Transfer-Encoding: 8bit\n\nThe invoice is attached in my next mail. " + g.words(8) + "\n\n-- \nÓlafur\n\n" +
			"--------------ms010203040506070809\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"smime.p7s\"\nContent-Description: S/MIME Cryptographic Signature\n\n" +
			b64Body(fakeP7S) + "\n" +
			"--------------ms010203040506070809--\n"
	}},
	{"pgp-signed", func(g *realGen) string {
		return g.head("Bob Martin <bob@example.com>", "Release 1.4 tagged",
			`Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="pgpsig-abc"`) + "\n" +
			"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\n" +
			"--pgpsig-abc\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qpBody("Release 1.4 is tagged. "+g.words(8)+"\n\n-- \nBob") + "\n" +
			"--pgpsig-abc\nContent-Type: application/pgp-signature; name=\"OpenPGP_signature.asc\"\nContent-Description: OpenPGP digital signature\nContent-Disposition: attachment; filename=\"OpenPGP_signature.asc\"\n\n" +
			"-----BEGIN PGP SIGNATURE-----\n\nwnsEABYIACMWIQTnotarealsignatureAAAAAAAAAAAAAAAAAFAmXj0AAFAwAAAAAA\nAAoJEAAAAAAAAAAAnotreal=\n=AbCd\n-----END PGP SIGNATURE-----\n\n" +
			"--pgpsig-abc--\n"
	}},
	{"pgp-encrypted", func(g *realGen) string {
		return g.head("Eve Adams <eve@example.org>", "...",
			`Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="pgpenc-xyz"`) + "\n" +
			"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n" +
			"--pgpenc-xyz\nContent-Type: application/pgp-encrypted\nContent-Description: PGP/MIME version identification\n\nVersion: 1\n\n" +
			"--pgpenc-xyz\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\nContent-Description: OpenPGP encrypted message\nContent-Disposition: inline; filename=\"encrypted.asc\"\n\n" +
			"-----BEGIN PGP MESSAGE-----\n\nhF4DnotrealAAAAAASAQdA" + fmt.Sprintf("%016x", g.r.Uint64()) + "AAAAAAAAAAAAAAAAAAAAAAAA\n0sBaAQnotrealciphertextAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n=XyZw\n-----END PGP MESSAGE-----\n\n" +
			"--pgpenc-xyz--\n"
	}},
	{"smime-encrypted", func(g *realGen) string {
		return g.head("Anna Smirnova <anna@example.ru>", "Encrypted: salary review",
			`Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"`,
			"Content-Transfer-Encoding: base64",
			`Content-Disposition: attachment; filename="smime.p7m"`,
			"Content-Description: S/MIME Encrypted Message") + "\n" +
			b64Body(fakeP7M) + "\n"
	}},
	{"tnef", func(g *realGen) string {
		return g.head("\"Outlook User\" <user@corp.example>", "Budget 2026 (see attachment)",
			"X-MS-Has-Attach: yes",
			"X-MS-TNEF-Correlator: <0123456789ABCDEF@corp.example>",
			`Content-Type: multipart/mixed; boundary="_tnef_boundary_"`) + "\n" +
			"--_tnef_boundary_\nContent-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: quoted-printable\n\nPlease see the attached budget. " + g.words(6) + "\n\n" +
			"--_tnef_boundary_\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"winmail.dat\"\n\n" +
			b64Body(fakeTNEF) + "\n\n" +
			"--_tnef_boundary_--\n"
	}},
	{"charset-unknown", func(g *realGen) string {
		return g.head("Strange Mailer <strange@example.net>", "Charset nobody knows",
			"Content-Type: text/plain; charset=\"x-unknown-foo\"",
			"Content-Transfer-Encoding: 8bit") + "\n" +
			"This text claims a charset nobody knows: caf\xc3\xa9, na\xefve, \x80\x81\xfe\xff. " + g.words(6) + "\n"
	}},
	{"charset-mislabelled-utf8", func(g *realGen) string {
		return g.head("Hélène Dubois <helene@example.fr>", "Mislabelled UTF-8",
			"Content-Type: text/plain; charset=us-ascii",
			"Content-Transfer-Encoding: 7bit") + "\n" +
			"Says US-ASCII but is UTF-8: Crème brûlée, déjà vu, 日本語, emoji 🚀. " + g.words(6) + "\n"
	}},
	{"charset-mislabelled-latin1", func(g *realGen) string {
		return g.head("Jos\xe9 <jose@example.es>", "Mislabelled Latin-1",
			"Content-Type: text/html; charset=us-ascii") + "\n" +
			"<p>Says US-ASCII but is Latin-1: Se\xf1or Mu\xf1oz, a\xf1o, \xbfqu\xe9 tal? " + g.words(6) + "</p>\n"
	}},
	{"iso-2022-jp", func(g *realGen) string {
		subj := encodeTo(japanese.ISO2022JP, "会議の議事録")
		body := encodeTo(japanese.ISO2022JP, "田中です。\n明日の会議の議事録を送ります。\nよろしくお願いします。")
		return g.head("=?ISO-2022-JP?B?"+b64(encodeTo(japanese.ISO2022JP, "田中 太郎"))+"?= <tanaka@example.jp>",
			"=?ISO-2022-JP?B?"+b64(subj)+"?=",
			"Content-Type: text/plain; charset=ISO-2022-JP",
			"Content-Transfer-Encoding: 7bit") + "\n" + body + "\n"
	}},
	{"windows-1252", func(g *realGen) string {
		return g.head("\"O\x92Brien, Dave\" <dave@example.com>", "=?windows-1252?Q?=93Quoted=94_=96_=80100?=",
			"Content-Type: text/plain; charset=\"windows-1252\"",
			"Content-Transfer-Encoding: 8bit") + "\n" +
			encodeTo(charmap.Windows1252, "“Smart quotes” – and the price is €100… naïve café. ") + g.words(6) + "\n"
	}},
	{"gb2312", func(g *realGen) string {
		text := "会议纪要：请查收附件。朱镕基 喆 (GBK characters labelled gb2312)"
		return g.head("=?gb2312?B?"+b64(encodeTo(simplifiedchinese.GBK, "王小明"))+"?= <wang@example.cn>",
			"=?gb2312?B?"+b64(encodeTo(simplifiedchinese.GBK, "会议纪要 喆"))+"?=",
			"Content-Type: text/plain; charset=\"gb2312\"",
			"Content-Transfer-Encoding: base64") + "\n" + b64Body([]byte(encodeTo(simplifiedchinese.GBK, text))) + "\n"
	}},
	{"koi8-r", func(g *realGen) string {
		return g.head("=?koi8-r?B?"+b64(encodeTo(charmap.KOI8R, "Анна Смирнова"))+"?= <anna@example.ru>",
			"=?koi8-r?Q?"+qEncode(encodeTo(charmap.KOI8R, "Заседание в пятницу"))+"?=",
			"Content-Type: text/plain; charset=koi8-r",
			"Content-Transfer-Encoding: 8bit") + "\n" +
			encodeTo(charmap.KOI8R, "Добрый день!\nЗаседание переносится на пятницу.\n") + g.words(4) + "\n"
	}},
	{"html-meta-charset", func(g *realGen) string {
		return g.head("Old CMS <cms@example.de>", "Newsletter Maerz",
			"Content-Type: text/html",
			"Content-Transfer-Encoding: 8bit") + "\n" +
			"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"></head><body><p>" +
			encodeTo(charmap.Windows1252, "Grüße aus Köln – „Neuigkeiten“ für März. ") + g.words(6) + "</p></body></html>\n"
	}},
	{"raw-8bit-headers", func(g *realGen) string {
		return g.dateField() + "\n" +
			"From: Jos\xe9 Mu\xf1oz <jose@example.es>\n" +
			"To: Zoë Müller <zoe@example.de>, alice@example.org\n" +
			"Subject: Überweisung bestätigt ✓ – raw UTF-8 in the header\n" +
			"Message-ID: " + g.msgID() + "\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=\"raw8\"\n\n" +
			"--raw8\nContent-Type: text/plain; charset=utf-8\n\nDie Überweisung ist bestätigt. " + g.words(6) + "\n" +
			"--raw8\nContent-Type: text/plain; name=\"Bestätigung März.txt\"\nContent-Disposition: attachment; filename=\"Bestätigung März.txt\"\n\nBestätigt.\n" +
			"--raw8--\n"
	}},
	{"rfc2047-split", func(g *realGen) string {
		// "€" is E2 82 AC: its bytes are split across two words.
		return g.head("=?iso-8859-1?Q?Fran=E7ois_?= =?utf-8?B?TMOpdnk=?= <francois@example.fr>",
			"=?UTF-8?Q?Caf=C3=A9_price:_5?= =?UTF-8?B?IOKC?= =?UTF-8?B?rA==?= =?UTF-8?Q?_and_th?=\n =?UTF-8?Q?e_rest?= plain tail",
			"Content-Type: text/plain; charset=utf-8") + "\n" +
			"The subject has a euro sign split across two encoded words. " + g.words(4) + "\n"
	}},
	{"rfc2047-broken", func(g *realGen) string {
		return g.dateField() + "\n" +
			"From: =?utf-8?b?w6k?= Broken =?utf-8?q?Name <broken@example.com>\n" +
			"To: =?x-unknown-charset?Q?Somebody?= <alice@example.org>\n" +
			"Subject: =?utf-8?B?!!!notbase64***?= =?x-unknown-foo?Q?abc?= =?utf-8?Q?unterminated =?=?=?= =?utf-8?X?bad_encoding?= =??B??= the end\n" +
			"Message-ID: " + g.msgID() + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" +
			"Broken encoded words above. " + g.words(4) + "\n"
	}},
	{"no-mime-version", func(g *realGen) string {
		return g.dateField() + "\nFrom: Legacy Script <cron@legacy.example>\nTo: alice@example.org\nSubject: Nightly job report\nMessage-ID: " + g.msgID() + "\n" +
			"Content-Type: multipart/alternative; boundary=\"legacy\"\n\n" +
			"--legacy\nContent-Type: text/plain\n\nNightly job finished: 0 errors. " + g.words(6) + "\n" +
			"--legacy\nContent-Type: text/html\n\n<p>Nightly job finished: <b>0 errors</b>.</p>\n" +
			"--legacy--\n"
	}},
	{"broken-boundary", func(g *realGen) string {
		return g.head("Buggy Mailer <buggy@example.net>", "Boundary that never appears",
			`Content-Type: multipart/mixed; boundary="declared-boundary-1234"`) + "\n" +
			"--actual-boundary-9876\nContent-Type: text/plain; charset=utf-8\n\nThe declared boundary never appears. " + g.words(6) + "\n\n" +
			"--actual-boundary-9876\nContent-Type: application/pdf; name=\"lost.pdf\"\nContent-Transfer-Encoding: base64\n\n" + b64Body(fakePDF) + "\n" +
			"--actual-boundary-9876--\n"
	}},
	{"missing-boundary-param", func(g *realGen) string {
		return g.head("Buggy Mailer <buggy@example.net>", "Multipart without boundary",
			"Content-Type: multipart/alternative") + "\n" +
			"--nobound\nContent-Type: text/plain\n\nMultipart without a boundary parameter. " + g.words(6) + "\n" +
			"--nobound\nContent-Type: text/html\n\n<p>Multipart without a boundary parameter.</p>\n" +
			"--nobound--\n"
	}},
	{"missing-closing-boundary", func(g *realGen) string {
		return g.head("Truncating Relay <relay@example.net>", "Cut off in the middle",
			`Content-Type: multipart/mixed; boundary="cutoff"`) + "\n" +
			"--cutoff\nContent-Type: text/plain; charset=utf-8\n\nThis message was cut off and has no closing boundary. " + g.words(6) + "\n\n" +
			"--cutoff\nContent-Type: image/png; name=\"half.png\"\nContent-Disposition: attachment; filename=\"half.png\"\nContent-Transfer-Encoding: base64\n\n" +
			strings.Join(base64Lines(tinyPNG())[:1], "\n") + "\niVBORw0KGgoAAAANSUhE\n"
	}},
	{"empty-body", func(g *realGen) string {
		return g.head("Eve Adams <eve@example.org>", "(no text, empty body)",
			"Content-Type: text/plain; charset=utf-8") + "\n"
	}},
	{"header-only", func(g *realGen) string {
		return g.dateField() + "\nFrom: Eve Adams <eve@example.org>\nTo: alice@example.org\nSubject: Header only, no blank line\nMessage-ID: " + g.msgID()
	}},
	{"empty-subject", func(g *realGen) string {
		return g.head("Frank Li <frank.li@example.com>", "", "Content-Type: text/plain") + "\nSubject is empty. " + g.words(4) + "\n"
	}},
	{"no-subject", func(g *realGen) string {
		return g.dateField() + "\nFrom: Frank Li <frank.li@example.com>\nTo: alice@example.org\nMessage-ID: " + g.msgID() + "\n\nThere is no Subject field. " + g.words(4) + "\n"
	}},
	{"no-from", func(g *realGen) string {
		return g.dateField() + "\nTo: alice@example.org\nSubject: No From field\nMessage-ID: " + g.msgID() + "\n\nThere is no From field. " + g.words(4) + "\n"
	}},
	{"no-date", func(g *realGen) string {
		return "From: Frank Li <frank.li@example.com>\nTo: alice@example.org\nSubject: No Date field\nMessage-ID: " + g.msgID() + "\n\nThere is no Date field. " + g.words(4) + "\n"
	}},
	{"garbage-date", func(g *realGen) string {
		return "Date: sometime last Tuesday, 32 Foo 99999 25:61:61 +9999\nFrom: Frank Li <frank.li@example.com>\nTo: alice@example.org\nSubject: Garbage Date field\nMessage-ID: " + g.msgID() + "\nDate: Mon, 0 Jan 0000 00:00:00 -2400\n\nThe Date fields are garbage. " + g.words(4) + "\n"
	}},
	{"header-no-colon", func(g *realGen) string {
		return g.dateField() + "\nFrom: Carol Nguyen <carol.nguyen@example.net>\nThis line has no colon at all\nTo: alice@example.org\nSubject: Header line without a colon\n" +
			"Message-ID: " + g.msgID() + "\n: empty field name\nX-Spaced-Name : value\nContent-Type: text/plain\n\nA header line has no colon. " + g.words(4) + "\n"
	}},
	{"header-leading-space", func(g *realGen) string {
		return "  Received: from broken.example by mx.example.org; Mon, 2 Mar 2026 08:00:00 +0000\n" + g.dateField() +
			"\nFrom: Carol Nguyen <carol.nguyen@example.net>\nTo: alice@example.org\nSubject: First header line starts with white space\nMessage-ID: " + g.msgID() + "\n\nThe first line is a continuation. " + g.words(4) + "\n"
	}},
	{"huge-header", func(g *realGen) string {
		var b strings.Builder
		b.WriteString(g.dateField() + "\nFrom: Loop Detector <loop@example.net>\nTo: alice@example.org\nSubject: Mail that looped through 5000 relays\nMessage-ID: " + g.msgID() + "\n")
		for i := 0; b.Len() < 1<<20; i++ {
			fmt.Fprintf(&b, "Received: from relay%d.loop.example (relay%d.loop.example [198.51.100.%d])\n\tby relay%d.loop.example (Postfix) with ESMTP id %08X\n\tfor <alice@example.org>; Mon, 2 Mar 2026 07:%02d:%02d +0000\n",
				i+1, i+1, i%250, i, g.r.Uint32(), (i/60)%60, i%60)
		}
		b.WriteString("Content-Type: text/plain\n\nAbout a megabyte of Received lines above. " + g.words(4) + "\n")
		return b.String()
	}},
	{"giant-references", func(g *realGen) string {
		var refs strings.Builder
		for i := 0; refs.Len() < 300<<10; i++ {
			if i > 0 {
				refs.WriteString("\n ")
			}
			fmt.Fprintf(&refs, "<thread.%d.%06d@lists.example.com>", g.seed, i)
		}
		return g.head("Long Thread <thread@lists.example.com>", "Re: Re: Re: Re: Re: the thread that never ends",
			"In-Reply-To: <thread.last@lists.example.com>",
			"References: "+refs.String(),
			"Content-Type: text/plain; charset=us-ascii") + "\nThe References field is about 300 KB. " + g.words(6) + "\n"
	}},
	{"long-line", func(g *realGen) string {
		var line strings.Builder
		for line.Len() < 200<<10 {
			line.WriteString(words[g.r.IntN(len(words))])
			line.WriteByte(' ')
		}
		return g.head("Minified Mailer <min@example.net>", "One very long line",
			"Content-Type: text/plain; charset=us-ascii") + "\nthe " + line.String()
	}},
	{"huge-to", func(g *realGen) string {
		addrs := make([]string, 500)
		for i := range addrs {
			addrs[i] = fmt.Sprintf("\"Recipient %d\" <user%03d@example.com>", i, i)
		}
		addrs[g.r.IntN(500)] = "Alice Liddell <alice@example.org>"
		return g.dateField() + "\nFrom: All Staff <allstaff@example.com>\nTo: " + strings.Join(addrs, ",\n ") +
			"\nCc: undisclosed-recipients:;\nSubject: To 500 people\nMessage-ID: " + g.msgID() + "\nMIME-Version: 1.0\nContent-Type: text/plain\n\nSent to 500 addresses. " + g.words(4) + "\n"
	}},
	{"deep-nesting", func(g *realGen) string {
		const depth = 40
		var b strings.Builder
		b.WriteString(g.head("Nesting Doll <doll@example.net>", "Multipart 40 levels deep",
			`Content-Type: multipart/mixed; boundary="lvl0"`) + "\n")
		for i := 1; i < depth; i++ {
			fmt.Fprintf(&b, "--lvl%d\nContent-Type: multipart/mixed; boundary=\"lvl%d\"\n\n", i-1, i)
		}
		fmt.Fprintf(&b, "--lvl%d\nContent-Type: text/plain\n\nThe innermost part. %s\n", depth-1, g.words(4))
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--lvl%d--\n", i)
		}
		return b.String()
	}},
	{"content-type-garbage", func(g *realGen) string {
		return g.head("Garbage Generator <garbage@example.net>", "Content-Type garbage",
			`Content-Type: text/html/extra;;; charset=="utf-8; name="unterminated; =; boundary`) + "\n" +
			"<p>Content-Type is garbage. " + g.words(6) + "</p>\n"
	}},
	{"part-content-type-garbage", func(g *realGen) string {
		return g.head("Garbage Generator <garbage@example.net>", "Garbage part types",
			`Content-Type: multipart/mixed; boundary="gct"`) + "\n" +
			"--gct\nContent-Type: garbage\n\nPart with type 'garbage'. " + g.words(4) + "\n" +
			"--gct\nContent-Type: /\n\nPart with type '/'.\n" +
			"--gct\nContent-Type: text/; charset\n\nPart with type 'text/'.\n" +
			"--gct\nContent-Type: application/octet-stream; name=\"unterminated\nContent-Disposition: attachment; filename=\nContent-Transfer-Encoding: x-unknown\n\nbinary-ish\n" +
			"--gct\nContent-Type: multipart/alternative\n\nInner multipart without boundary.\n" +
			"--gct\nContent-Type: message/rfc822\n\nnot a message at all\n" +
			"--gct--\n"
	}},
	{"base64-garbage", func(g *realGen) string {
		good := base64Lines([]byte("This base64 text has garbage in the middle. The rest decodes."))
		return g.head("Broken Encoder <enc@example.net>", "base64 with garbage",
			`Content-Type: multipart/mixed; boundary="b64g"`) + "\n" +
			"--b64g\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
			good[0] + "\n!!!@@@ not base64 at all ***\n" + strings.Join(good[1:], "\n") + "\nVGhl=ZW5k==\n====\n" +
			"--b64g\nContent-Type: application/pdf; name=\"broken.pdf\"\nContent-Disposition: attachment; filename=\"broken.pdf\"\nContent-Transfer-Encoding: base64\n\n" +
			"JVBERi0xLjQK###\x7f\x01garbage\nJVBERi\n" +
			"--b64g\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: BASE64\n\n" + "PHA+aGk8L3A+" + "\n" +
			"--b64g--\n"
	}},
	{"qp-broken", func(g *realGen) string {
		return g.head("Broken Encoder <enc@example.net>", "quoted-printable with broken soft breaks",
			"Content-Type: text/plain; charset=utf-8",
			"Content-Transfer-Encoding: quoted-printable") + "\n" +
			"Soft break followed by blanks= \t\nthen text. Bad escapes: =ZZ =4 =g1 =\nA line ending in a soft break then the end=\n" +
			"Caf=C3=A9 and a split =C3=\n=A9 across a soft break. Lowercase hex =c3=a9. " + g.words(4) + "\n" +
			strings.Repeat("A very long quoted-printable line without soft breaks. ", 40) + "\n" +
			"Trailing lone equals ="
	}},
	{"nul-bytes", func(g *realGen) string {
		return g.head("Null Sender <null@example.net>", "NUL\x00bytes inside",
			"X-Weird: a\x00b",
			`Content-Type: multipart/mixed; boundary="nul"`) + "\n" +
			"--nul\nContent-Type: text/plain; charset=utf-8\n\nText with NUL\x00bytes\x00\x00in it. " + g.words(4) + "\n" +
			"--nul\nContent-Type: application/octet-stream; name=\"raw.bin\"\nContent-Disposition: attachment; filename=\"raw.bin\"\n\n\x00\x01\x02\x03binary\x00\x00\n" +
			"--nul--\n"
	}},
	{"attachment-rfc2231", func(g *realGen) string {
		return g.head("Hélène Dubois <helene@example.fr>", "RFC 2231 file names",
			`Content-Type: multipart/mixed; boundary="r2231"`) + "\n" +
			"--r2231\nContent-Type: text/plain; charset=utf-8\n\nFour attachments with encoded names. " + g.words(4) + "\n" +
			"--r2231\nContent-Type: application/pdf; name*=UTF-8''%E2%82%AC%20Rechnung%20M%C3%A4rz.pdf\nContent-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20Rechnung%20M%C3%A4rz.pdf\nContent-Transfer-Encoding: base64\n\n" + b64Body(fakePDF) + "\n" +
			"--r2231\nContent-Type: text/plain\nContent-Disposition: attachment;\n filename*0*=UTF-8''a%20very%20long%20file%20name%20that%20is%20;\n filename*1*=continued%20over%20several%20lines%20%C3%BC;\n filename*2=\".txt\"\n\ncontinued name\n" +
			"--r2231\nContent-Type: text/plain\nContent-Disposition: attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt\n\nlatin-1 name\n" +
			"--r2231\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=utf-8''%ZZbad%E2%82.bin; filename=\"fallback.bin\"\n\nbad escapes\n" +
			"--r2231--\n"
	}},
	{"attachment-path-separators", func(g *realGen) string {
		return g.head("Mallory <mallory@example.net>", "Attachments with paths in their names",
			`Content-Type: multipart/mixed; boundary="paths"`) + "\n" +
			"--paths\nContent-Type: text/plain\n\nAttachments named with path separators. " + g.words(4) + "\n" +
			"--paths\nContent-Type: text/plain; name=\"../../../etc/passwd\"\nContent-Disposition: attachment; filename=\"../../../etc/passwd\"\n\nroot:x:0:0\n" +
			"--paths\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"C:\\\\Users\\\\bob\\\\Desktop\\\\evil.exe\"\n\nMZ\n" +
			"--paths\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"dir/sub/report.pdf\"\n\n%PDF-1.4\n" +
			"--paths\nContent-Type: text/html\nContent-Disposition: attachment; filename=\"<script>alert(1)</script>\\\".html\"\n\n<script>alert(1)</script>\n" +
			"--paths\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"tab\there.txt\"\n\ncontrol characters\n" +
			"--paths--\n"
	}},
}

// qEncode is the Q encoding of RFC 2047 for arbitrary bytes.
func qEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}
