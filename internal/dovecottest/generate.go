package dovecottest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// GenerateMessages returns n deterministic, varied, small, realistic
// RFC 5322 messages (CRLF line endings) addressed to alice@example.org.
//
// Message i depends only on i and start, never on n: its Date is start plus
// i*10 minutes plus a few seconds, so dates increase with the index. Its
// Message-ID is <i.thumbmail@example.org> and about one in five messages
// replies to an earlier one (In-Reply-To, References, "Re: " subject).
// Roughly half are text/plain in US-ASCII, one in six text/plain UTF-8
// quoted-printable, one in six multipart/alternative (text and HTML) and
// one in six multipart/mixed with a small attachment (CSV, PNG or PDF-like
// text, some with a non-ASCII file name). About a third have non-ASCII
// (RFC 2047 encoded) subjects or sender names. Sizes are about 0.5–3 KB.
func GenerateMessages(n int, start time.Time) [][]byte {
	msgs := make([][]byte, n)
	workers := min(runtime.GOMAXPROCS(0), n/256+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				msgs[i] = generateMessage(i, start)
			}
		}()
	}
	wg.Wait()
	return msgs
}

// MessageID returns the Message-ID (with angle brackets) that
// GenerateMessages gives message i.
func MessageID(i int) string { return fmt.Sprintf("<%d.thumbmail@example.org>", i) }

// MessageDate returns the Date that GenerateMessages gives message i.
func MessageDate(i int, start time.Time) time.Time {
	r := msgRand(i)
	return start.Add(time.Duration(i)*10*time.Minute + time.Duration(r.IntN(540))*time.Second).Truncate(time.Second)
}

// MessageSubject returns the decoded Subject that GenerateMessages gives
// message i.
func MessageSubject(i int) string {
	if p, ok := replyParent(i); ok {
		return "Re: " + baseSubject(p)
	}
	return baseSubject(i)
}

func msgRand(i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(i), 0x7468756d626d6169))
}

// subRand is a second stream for message i, so that adding a draw to one
// aspect does not shift the others.
func subRand(i int, aspect uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(i)*0x9e3779b97f4a7c15+aspect, 0x6d61696c))
}

type person struct{ name, addr string }

var people = []person{
	{"Bob Martin", "bob@example.com"},
	{"Carol Nguyen", "carol.nguyen@example.net"},
	{"Dave O'Brien", "dave@example.com"},
	{"José Álvarez", "jose@example.es"},
	{"Zoë Müller", "zoe.mueller@example.de"},
	{"田中 太郎", "tanaka@example.jp"},
	{"Ólafur Sigurðsson", "olafur@example.is"},
	{"Eve Adams", "eve@example.org"},
	{"Frank Li", "frank.li@example.com"},
	{"Grace Hopper", "grace@example.mil"},
	{"", "noreply@notifications.example.com"},
	{"Анна Смирнова", "anna@example.ru"},
	{"Support Team", "support@shop.example"},
	{"Hélène Dubois", "helene@example.fr"},
}

var subjects = []string{
	"Meeting notes for %s",
	"Quarterly report %d",
	"Invoice #%d",
	"Lunch on %s?",
	"Your order %d has shipped",
	"Project status: week %d",
	"Photos from the weekend",
	"Question about the contract",
	"Reminder: dentist appointment %s",
	"Grüße aus München",
	"Café ☕ tomorrow at %s?",
	"Заседание в пятницу",
	"会议纪要 %d",
	"Résumé and cover letter",
	"¡Feliz cumpleaños!",
	"Re: budget 🚀 %d",
	"A very long subject line that goes on and on to see how the list page truncates it on a small screen, number %d",
	"[list] Weekly digest %d",
}

var days = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

var words = strings.Fields(`the a meeting project report please find attached
let me know if you have any questions about this thanks regards we should
discuss next week budget schedule update review draft final version team
client deadline tomorrow morning afternoon call office lunch coffee notes
agenda items follow up proposal invoice payment order delivery status
really great idea sounds good to me I will send it later today`)

var umlautWords = strings.Fields(`schöne Grüße für das Büro über Äpfel naïve
café déjà vu señor niño Straße Größe façade smörgåsbord crème brûlée`)

func baseSubject(i int) string {
	r := subRand(i, 1)
	f := subjects[r.IntN(len(subjects))]
	if strings.Contains(f, "%s") {
		return fmt.Sprintf(f, days[r.IntN(len(days))])
	}
	if strings.Contains(f, "%d") {
		return fmt.Sprintf(f, 1000+r.IntN(9000))
	}
	return f
}

// replyParent returns the message that message i replies to, if any.
func replyParent(i int) (int, bool) {
	r := subRand(i, 2)
	if i == 0 || r.IntN(5) != 0 {
		return 0, false
	}
	return i - 1 - r.IntN(min(i, 20)), true
}

func encodeWord(s string) string {
	for _, c := range s {
		if c >= 0x80 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

func formatAddr(p person) string {
	if p.name == "" {
		return p.addr
	}
	name := encodeWord(p.name)
	if name == p.name && strings.ContainsAny(name, `()<>[]:;@\,."'`) {
		name = `"` + strings.ReplaceAll(name, `"`, `\"`) + `"`
	}
	return name + " <" + p.addr + ">"
}

func sentence(r *rand.Rand, vocab []string) string {
	n := 6 + r.IntN(12)
	ws := make([]string, n)
	for j := range ws {
		ws[j] = vocab[r.IntN(len(vocab))]
	}
	s := strings.Join(ws, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// paragraphs returns 1–4 paragraphs of text, lines wrapped at about 72
// characters, joined with CRLF.
func paragraphs(r *rand.Rand, vocab []string) []string {
	var lines []string
	for p := 1 + r.IntN(4); p > 0; p-- {
		var line strings.Builder
		for s := 1 + r.IntN(4); s > 0; s-- {
			for _, w := range strings.Fields(sentence(r, vocab)) {
				if line.Len() > 0 && line.Len()+1+len(w) > 72 {
					lines = append(lines, line.String())
					line.Reset()
				}
				if line.Len() > 0 {
					line.WriteByte(' ')
				}
				line.WriteString(w)
			}
		}
		lines = append(lines, line.String(), "")
	}
	return lines
}

var tinyPNG = sync.OnceValue(func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			img.Set(x, y, color.RGBA{uint8(60 * x), uint8(60 * y), 200, 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
})

func base64Lines(data []byte) []string {
	enc := base64.StdEncoding.EncodeToString(data)
	var lines []string
	for len(enc) > 76 {
		lines = append(lines, enc[:76])
		enc = enc[76:]
	}
	return append(lines, enc)
}

func qpLines(text string) []string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(text))
	_ = w.Close()
	return strings.Split(strings.ReplaceAll(strings.TrimRight(b.String(), "\r\n"), "\r\n", "\n"), "\n")
}

func generateMessage(i int, start time.Time) []byte {
	r := msgRand(i)
	date := MessageDate(i, start)
	_ = r.IntN(540) // consumed by MessageDate
	from := people[r.IntN(len(people))]
	kind := r.IntN(12)

	var h []string
	add := func(lines ...string) { h = append(h, lines...) }
	add("Return-Path: <"+from.addr+">",
		"Date: "+date.Format(time.RFC1123Z),
		"From: "+formatAddr(from),
		"To: Alice Liddell <alice@example.org>")
	if r.IntN(4) == 0 {
		cc := people[r.IntN(len(people))]
		add("Cc: " + formatAddr(cc) + ", Mallory <mallory@example.net>")
	}
	add("Subject: " + encodeWord(MessageSubject(i)))
	add("Message-ID: " + MessageID(i))
	if p, ok := replyParent(i); ok {
		add("In-Reply-To: "+MessageID(p), "References: "+MessageID(p))
	}
	if strings.HasPrefix(baseSubject(i), "[list]") {
		add("List-Id: Weekly digest <digest.lists.example.com>",
			"List-Unsubscribe: <mailto:unsubscribe@lists.example.com>")
	}
	add("MIME-Version: 1.0")

	greeting := "Hi Alice,"
	// US-ASCII parts are signed with the address when the name is not.
	sign := []string{"-- ", from.name}
	if from.name == "" {
		sign = []string{"-- ", "This is an automated message."}
	} else if encodeWord(from.name) != from.name {
		sign = []string{"-- ", from.addr}
	}
	utf8Sign := []string{"-- ", from.name}
	if from.name == "" {
		utf8Sign = sign
	}
	var body []string
	switch {
	case kind < 6: // plain ASCII
		add("Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit")
		body = append([]string{greeting, ""}, paragraphs(r, words)...)
		body = append(body, sign...)
	case kind < 8: // plain UTF-8, quoted-printable
		add("Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable")
		text := append([]string{"Hallo Alice,", ""}, paragraphs(r, slices.Concat(umlautWords, words))...)
		text = append(text, utf8Sign...)
		body = qpLines(strings.Join(text, "\n"))
	case kind < 10: // multipart/alternative
		boundary := fmt.Sprintf("alt-%d-%08x", i, r.Uint32())
		add(`Content-Type: multipart/alternative; boundary="` + boundary + `"`)
		paras := paragraphs(r, words)
		body = append(body, "This is a multi-part message in MIME format.", "",
			"--"+boundary,
			"Content-Type: text/plain; charset=us-ascii", "", greeting, "")
		body = append(body, paras...)
		body = append(body, "--"+boundary,
			"Content-Type: text/html; charset=utf-8",
			"Content-Transfer-Encoding: quoted-printable", "")
		var html strings.Builder
		html.WriteString("<html><body><p>" + greeting + "</p>\n<p>")
		for _, l := range paras {
			if l == "" {
				html.WriteString("</p>\n<p>")
			} else {
				html.WriteString(l + " ")
			}
		}
		html.WriteString("</p>\n<p><a href=\"https://www.example.com/track?id=" + fmt.Sprint(i) + "\">View online</a> &mdash; <b>Thanks</b></p></body></html>")
		body = append(body, qpLines(html.String())...)
		body = append(body, "--"+boundary+"--", "")
	default: // multipart/mixed with a small attachment
		boundary := fmt.Sprintf("mix-%d-%08x", i, r.Uint32())
		add(`Content-Type: multipart/mixed; boundary="` + boundary + `"`)
		body = append(body, "This is a multi-part message in MIME format.", "",
			"--"+boundary,
			"Content-Type: text/plain; charset=us-ascii", "", greeting, "",
			"Please find the file attached.", "")
		body = append(body, paragraphs(r, words)...)
		body = append(body, sign...)
		body = append(body, "--"+boundary)
		switch r.IntN(3) {
		case 0:
			csv := fmt.Sprintf("date,item,amount\r\n%s,coffee,%d.50\r\n%s,lunch,%d.00\r\n",
				date.Format("2006-01-02"), 2+r.IntN(5), date.Format("2006-01-02"), 8+r.IntN(20))
			body = append(body, `Content-Type: text/csv; charset=us-ascii; name="expenses.csv"`,
				`Content-Disposition: attachment; filename="expenses.csv"`,
				"Content-Transfer-Encoding: base64", "")
			body = append(body, base64Lines([]byte(csv))...)
		case 1:
			body = append(body, `Content-Type: image/png; name="photo.png"`,
				`Content-Disposition: attachment; filename="photo.png"`,
				"Content-Transfer-Encoding: base64", "")
			body = append(body, base64Lines(tinyPNG())...)
		default:
			body = append(body, `Content-Type: application/pdf; name="=?utf-8?q?R=C3=A9sum=C3=A9.pdf?="`,
				`Content-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf`,
				"Content-Transfer-Encoding: base64", "")
			body = append(body, base64Lines([]byte(fmt.Sprintf("%%PDF-1.4\n%% not really a PDF, message %d\n%%%%EOF\n", i)))...)
		}
		body = append(body, "--"+boundary+"--", "")
	}

	var b bytes.Buffer
	for _, l := range h {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	for _, l := range body {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
