package send

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode"

	gomessage "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// InputError is a refused field of a message being composed; Error is
// plain words safe to show.
type InputError struct {
	Field  string // "To", "Subject", ...
	Reason string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrBadInput) true.
func (e *InputError) Is(target error) bool { return target == mailproxy.ErrBadInput }

// Outgoing is a message being sent or saved as a draft.
type Outgoing struct {
	From    mailproxy.Address
	To      []mailproxy.Address
	Cc      []mailproxy.Address
	Bcc     []mailproxy.Address // sent to, never written into the message
	Subject string
	Text    string // the body, plain text

	InReplyTo  string   // Message-ID of the message replied to, without <>
	References []string // its References plus its Message-ID, without <>

	Attachments []OutAttachment
	Date        time.Time // zero: now
	MessageID   string    // without <>; empty: a new one is made
}

// OutAttachment is one attached file.
type OutAttachment struct {
	Name string
	Type string // media type; empty: application/octet-stream
	Data []byte
}

// Recipients are the envelope recipients: To, Cc and Bcc, each once.
func (o *Outgoing) Recipients() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range [][]mailproxy.Address{o.To, o.Cc, o.Bcc} {
		for _, a := range l {
			k := strings.ToLower(a.Email)
			if !seen[k] {
				seen[k] = true
				out = append(out, a.Email)
			}
		}
	}
	return out
}

// CleanHeaderText makes text decoded from a received message (a subject,
// a display name) safe to put back into a header: control characters and
// line breaks become spaces, runs of spaces one.
func CleanHeaderText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// CheckText refuses a header value (subject, display name, file name)
// with control characters.
func CheckText(field, s string) error {
	if message.HasControl(s) {
		return &InputError{Field: field, Reason: "contains a line break or control character"}
	}
	if len(s) > 998 {
		return &InputError{Field: field, Reason: "is too long"}
	}
	return nil
}

// ParseAddresses parses a comma-separated list of addresses as typed by a
// user ("Ann <ann@example.org>, bob@example.org") with net/mail, refusing
// control characters. An empty list is no error.
func ParseAddresses(field, s string) ([]mailproxy.Address, error) {
	if message.HasControl(s) {
		return nil, &InputError{Field: field, Reason: "contains a line break or control character"}
	}
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), ",;"))
	if s == "" {
		return nil, nil
	}
	list, err := (&mail.AddressParser{}).ParseList(semicolonsToCommas(s))
	if err != nil {
		return nil, &InputError{Field: field, Reason: "has an address that is not valid (write name@example.org, separated by commas)"}
	}
	out := make([]mailproxy.Address, 0, len(list))
	for _, a := range list {
		if message.HasControl(a.Name) || message.HasControl(a.Address) || !strings.Contains(a.Address, "@") {
			return nil, &InputError{Field: field, Reason: "has an address that is not valid"}
		}
		out = append(out, mailproxy.Address{Name: a.Name, Email: a.Address})
	}
	return out, nil
}

// semicolonsToCommas lets ";" separate addresses as "," does (people
// type both), but only outside quoted strings: `"a;b"@example.org` is
// one address and stays that address.
func semicolonsToCommas(s string) string {
	b := []byte(s)
	quoted := false
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\' && quoted:
			i++
		case b[i] == '"':
			quoted = !quoted
		case b[i] == ';' && !quoted:
			b[i] = ','
		}
	}
	return string(b)
}

// FormatAddresses writes addresses back in the form ParseAddresses reads,
// each as exactly that one address again: a local part that is not a
// dot-atom is quoted (QuoteAddress), so an address held as
// `a@b, "c"@d` (one mailbox whose local part is `a@b, "c"`) cannot come
// back as two.
func FormatAddresses(as []mailproxy.Address) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		email := message.QuoteAddress(a.Email)
		if a.Name == "" {
			parts = append(parts, email)
			continue
		}
		parts = append(parts, phrase(CleanHeaderText(a.Name))+" <"+email+">")
	}
	return strings.Join(parts, ", ")
}

// phrase writes a display name for a form field, readable (not RFC 2047
// encoded; RFC 6532 allows UTF-8): bare when it is atoms (RFC 5322
// §3.2.3), else a quoted string.
func phrase(name string) string {
	bare := name != ""
	for _, r := range name {
		if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)) {
			bare = false
			break
		}
	}
	if bare {
		return name
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
}

// Check refuses an Outgoing that cannot be sent: no recipient, control
// characters in a header, a message id that is not one.
func (o *Outgoing) Check(draft bool) error {
	if !draft && len(o.To)+len(o.Cc)+len(o.Bcc) == 0 {
		return &InputError{Field: "To", Reason: "is empty: add at least one recipient"}
	}
	if err := CheckText("Subject", o.Subject); err != nil {
		return err
	}
	for _, l := range [][]mailproxy.Address{{o.From}, o.To, o.Cc, o.Bcc} {
		for _, a := range l {
			if message.HasControl(a.Name) || message.HasControl(a.Email) {
				return &InputError{Field: "Address", Reason: "contains a line break or control character"}
			}
		}
	}
	if !draft {
		// What Submitter.Send will refuse, said before anything is
		// dialled, naming the field and the address.
		for _, f := range []struct {
			field string
			as    []mailproxy.Address
		}{{"Your address", []mailproxy.Address{o.From}}, {"To", o.To}, {"Cc", o.Cc}, {"Bcc", o.Bcc}} {
			for _, a := range f.as {
				if _, err := message.EnvelopeAddress(a.Email); err != nil {
					var ae *message.AddressError
					if errors.As(err, &ae) {
						return &InputError{Field: f.field, Reason: ae.Address + " cannot be used: it " + ae.Reason}
					}
					return err
				}
			}
		}
	}
	for _, a := range o.Attachments {
		if err := CheckText("Attachment name", a.Name); err != nil {
			return err
		}
	}
	for _, id := range append([]string{o.InReplyTo}, o.References...) {
		if !validMsgID(id) {
			return &InputError{Field: "In-Reply-To", Reason: "is not a message id"}
		}
	}
	return nil
}

// validMsgID accepts "" or a msg-id without angle brackets (RFC 5322
// §3.6.4), loosely: printable ASCII without spaces or brackets.
func validMsgID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return len(id) <= 250
}

// NewMessageID makes a Message-ID (without <>) at domain.
func NewMessageID(domain string) string {
	b := make([]byte, 12)
	rand.Read(b)
	if domain == "" || !validMsgID(domain) {
		domain = "thumbmail.invalid"
	}
	return hex.EncodeToString(b) + "@" + domain
}

// Build writes the message (RFC 5322) with CRLF line ends: non-ASCII
// subjects and names as RFC 2047 encoded words, the body as UTF-8 text in
// quoted-printable (7bit when it is short-lined ASCII), attachments in a
// multipart/mixed (RFC 2046) as base64. Bcc is not written: this is what
// the recipients get.
func (o *Outgoing) Build() ([]byte, error) { return o.build(false) }

// BuildCopy is Build with the Bcc field kept, for the sender's own copy
// in Sent or Drafts (RFC 5322 §3.6.3).
func (o *Outgoing) BuildCopy() ([]byte, error) { return o.build(true) }

func (o *Outgoing) build(withBcc bool) ([]byte, error) {
	if err := o.Check(true); err != nil {
		return nil, err
	}
	var h gomail.Header
	date := o.Date
	if date.IsZero() {
		date = time.Now()
	}
	h.SetDate(date)
	h.SetAddressList("From", []*gomail.Address{{Name: o.From.Name, Address: o.From.Email}})
	if len(o.To) > 0 {
		h.SetAddressList("To", toMailAddrs(o.To))
	}
	if len(o.Cc) > 0 {
		h.SetAddressList("Cc", toMailAddrs(o.Cc))
	}
	if withBcc && len(o.Bcc) > 0 {
		h.SetAddressList("Bcc", toMailAddrs(o.Bcc))
	}
	h.SetSubject(o.Subject)
	id := o.MessageID
	if id == "" {
		id = NewMessageID(o.From.Domain())
	}
	h.SetMessageID(id)
	if o.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{o.InReplyTo})
	}
	if len(o.References) > 0 {
		h.SetMsgIDList("References", o.References)
	}
	h.Set("MIME-Version", "1.0")
	h.Set("User-Agent", "thumbmail")

	text := normalizeBody(o.Text)
	crlf := strings.ReplaceAll(text, "\n", "\r\n")
	var buf bytes.Buffer
	if len(o.Attachments) == 0 {
		setTextHeader(&h.Header, text)
		w, err := gomessage.CreateWriter(&buf, h.Header)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, crlf); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th gomail.InlineHeader
	setTextHeader(&th.Header, text)
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, crlf); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, a := range o.Attachments {
		var ah gomail.AttachmentHeader
		t := a.Type
		if t == "" || message.HasControl(t) || !strings.Contains(t, "/") {
			t = "application/octet-stream"
		}
		ah.SetContentType(t, nil)
		ah.SetFilename(a.Name)
		ah.Set("Content-Transfer-Encoding", "base64")
		if strings.EqualFold(t, "message/rfc822") {
			// RFC 2046 §5.2.1: a message/rfc822 body is never base64;
			// it goes as it is (RFC 6532 allows 8bit).
			ah.Set("Content-Transfer-Encoding", transferOf(a.Data))
		}
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(a.Data); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func toMailAddrs(as []mailproxy.Address) []*gomail.Address {
	out := make([]*gomail.Address, len(as))
	for i, a := range as {
		out[i] = &gomail.Address{Name: a.Name, Address: headerAddress(a.Email)}
	}
	return out
}

// headerAddress is an address for a header field, as net/mail (which
// quotes the local part again) takes it: an already quoted local part
// unquoted, and an internationalized domain in its ASCII form when the
// local part is ASCII, so that the header stays ASCII as the envelope
// does (a UTF-8 local part needs SMTPUTF8 and RFC 6532 headers anyway).
func headerAddress(email string) string {
	local, domain, ok := message.SplitAddress(email)
	if !ok {
		return email
	}
	if !message.IsASCII(domain) && message.IsASCII(local) {
		if d, ok := message.EnvelopeDomain(domain); ok {
			domain = d
		}
	}
	return local + "@" + domain
}

// normalizeBody makes the body valid UTF-8 with LF line ends and no
// control characters but tab and form feed.
func normalizeBody(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r == '\f' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// setTextHeader picks the body's transfer encoding (RFC 2045 §6): 7bit
// for ASCII with lines of at most 78 characters, quoted-printable
// otherwise. go-message's writer encodes accordingly and turns LF into
// CRLF.
func setTextHeader(h *gomessage.Header, text string) {
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	enc := "7bit"
	for _, line := range strings.Split(text, "\n") {
		if len(line) > 78 || strings.HasPrefix(line, "From ") {
			enc = "quoted-printable"
		}
	}
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			enc = "quoted-printable"
			break
		}
	}
	h.Set("Content-Transfer-Encoding", enc)
}

// transferOf is "7bit" for ASCII data, else "8bit".
func transferOf(b []byte) string {
	for _, c := range b {
		if c >= 0x80 {
			return "8bit"
		}
	}
	return "7bit"
}

// ReplySubject is "Re: " and the subject without the "Re:", "Fwd:" and
// similar prefixes it already has, so they do not pile up.
func ReplySubject(s string) string { return "Re: " + stripPrefixes(CleanHeaderText(s)) }

// ForwardSubject is "Fwd: " and the subject without earlier prefixes.
func ForwardSubject(s string) string { return "Fwd: " + stripPrefixes(CleanHeaderText(s)) }

var subjectPrefixes = []string{"re:", "fwd:", "fw:", "aw:", "wg:", "sv:", "vs:", "tr:", "re :", "fwd :"}

func stripPrefixes(s string) string {
	for {
		t := strings.TrimSpace(s)
		l := strings.ToLower(t)
		cut := false
		for _, p := range subjectPrefixes {
			if strings.HasPrefix(l, p) {
				t, cut = t[len(p):], true
				break
			}
		}
		// "Re[2]:" and "Re(2):"
		if !cut && (strings.HasPrefix(l, "re[") || strings.HasPrefix(l, "re(")) {
			if i := strings.Index(t, ":"); i > 0 && i < 8 {
				t, cut = t[i+1:], true
			}
		}
		if !cut {
			return t
		}
		s = t
	}
}

// ReplyRecipients picks who a reply goes to (RFC 5322 §3.6.3): Reply-To
// when set, else From; with all, also the original To and Cc in Cc.
// The user's own address (self, any case) is left out and nobody appears
// twice; replying to one's own message goes to its recipients.
func ReplyRecipients(m *mailproxy.Message, self string, all bool) (to, cc []mailproxy.Address) {
	seen := map[string]bool{}
	add := func(dst *[]mailproxy.Address, as []mailproxy.Address) {
		for _, a := range as {
			k := strings.ToLower(strings.TrimSpace(a.Email))
			if k == "" || seen[k] || strings.EqualFold(k, self) || message.HasControl(a.Email) {
				continue
			}
			seen[k] = true
			*dst = append(*dst, mailproxy.Address{Name: CleanHeaderText(a.Name), Email: a.Email})
		}
	}
	primary := m.ReplyTo
	if len(primary) == 0 {
		primary = m.From
	}
	add(&to, primary)
	if len(to) == 0 && !all {
		// A reply to one's own sent message goes to its recipients.
		add(&to, m.To)
	}
	if all {
		add(&cc, m.To)
		add(&cc, m.Cc)
		if len(to) == 0 && len(cc) > 0 {
			to, cc = cc[:1], cc[1:]
		}
	}
	return to, cc
}

// ReplyThreading gives In-Reply-To and References for a reply to m
// (RFC 5322 §3.6.4): its Message-ID, and its References (or In-Reply-To)
// followed by its Message-ID, capped to the first and last few.
func ReplyThreading(m *mailproxy.Message) (inReplyTo string, refs []string) {
	id := strings.Trim(m.MessageID, "<> ")
	if !validMsgID(id) {
		return "", nil
	}
	for _, r := range m.References {
		if r = strings.Trim(r, "<> "); r != "" && validMsgID(r) {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		if r := strings.Trim(m.InReplyTo, "<> "); r != "" && validMsgID(r) && !strings.ContainsAny(r, " ") {
			refs = append(refs, r)
		}
	}
	if id == "" {
		return "", refs
	}
	refs = append(refs, id)
	if len(refs) > 20 {
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	return id, refs
}

// QuoteText is the original's text quoted for a reply: an attribution
// line and every line prefixed with "> ".
func QuoteText(m *mailproxy.Message, when string) string {
	var b strings.Builder
	who := "you"
	if len(m.From) > 0 {
		who = CleanHeaderText(m.From[0].String())
	}
	fmt.Fprintf(&b, "On %s, %s wrote:\n", when, who)
	for _, line := range strings.Split(strings.TrimRight(OriginalText(m), "\n"), "\n") {
		if strings.HasPrefix(line, ">") {
			b.WriteString(">" + line + "\n")
		} else if line == "" {
			b.WriteString(">\n")
		} else {
			b.WriteString("> " + line + "\n")
		}
	}
	return b.String()
}

// ForwardText is the original inline for a forward: a header block and
// its text.
func ForwardText(m *mailproxy.Message, when string) string {
	var b strings.Builder
	b.WriteString("---------- Forwarded message ----------\n")
	if len(m.From) > 0 {
		b.WriteString("From: " + CleanHeaderText(FormatAddresses(m.From)) + "\n")
	}
	b.WriteString("Date: " + when + "\n")
	b.WriteString("Subject: " + CleanHeaderText(m.Subject) + "\n")
	if len(m.To) > 0 {
		b.WriteString("To: " + CleanHeaderText(FormatAddresses(m.To)) + "\n")
	}
	if len(m.Cc) > 0 {
		b.WriteString("Cc: " + CleanHeaderText(FormatAddresses(m.Cc)) + "\n")
	}
	b.WriteString("\n")
	b.WriteString(OriginalText(m))
	return b.String()
}

// OriginalText is a message's body as plain text: the text part, or the
// text of its (sanitized) HTML.
func OriginalText(m *mailproxy.Message) string {
	if m.Body.Text != "" {
		return m.Body.Text
	}
	if m.Body.HTML != "" {
		return strings.TrimSpace(message.HtmlToText(m.Body.HTML, false)) + "\n"
	}
	return ""
}
