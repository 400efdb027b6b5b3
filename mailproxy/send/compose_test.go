package send

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"

	"github.com/thumbmail/thumbmail/mailproxy"
)

func TestReplySubject(t *testing.T) {
	tests := map[string]struct{ in, reply, fwd string }{
		"plain":          {"Lunch", "Re: Lunch", "Fwd: Lunch"},
		"already Re":     {"Re: Lunch", "Re: Lunch", "Fwd: Lunch"},
		"piled":          {"RE: Fwd: re:  AW: Lunch", "Re: Lunch", "Fwd: Lunch"},
		"counted":        {"Re[3]: Lunch", "Re: Lunch", "Fwd: Lunch"},
		"FW":             {"FW: Lunch", "Re: Lunch", "Fwd: Lunch"},
		"empty":          {"", "Re: ", "Fwd: "},
		"CRLF decoded":   {"Lunch\r\nBcc: evil@example.com", "Re: Lunch Bcc: evil@example.com", "Fwd: Lunch Bcc: evil@example.com"},
		"non-ASCII":      {"Re: Grüße", "Re: Grüße", "Fwd: Grüße"},
		"word not strip": {"Reading list", "Re: Reading list", "Fwd: Reading list"},
	}
	for name, tc := range tests {
		if got := ReplySubject(tc.in); got != tc.reply {
			t.Errorf("%s: ReplySubject(%q) = %q, want %q", name, tc.in, got, tc.reply)
		}
		if got := ForwardSubject(tc.in); got != tc.fwd {
			t.Errorf("%s: ForwardSubject(%q) = %q, want %q", name, tc.in, got, tc.fwd)
		}
	}
}

func addrs(emails ...string) []mailproxy.Address {
	var out []mailproxy.Address
	for _, e := range emails {
		out = append(out, mailproxy.Address{Email: e})
	}
	return out
}

func emails(as []mailproxy.Address) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Email)
	}
	return strings.Join(s, ",")
}

func TestReplyRecipients(t *testing.T) {
	const me = "me@example.org"
	tests := map[string]struct {
		msg    mailproxy.Message
		all    bool
		wantTo string
		wantCc string
	}{
		"reply to sender": {
			msg:    mailproxy.Message{From: addrs("ann@example.net"), To: addrs(me, "bob@example.net")},
			wantTo: "ann@example.net",
		},
		"Reply-To honoured": {
			msg:    mailproxy.Message{From: addrs("ann@example.net"), ReplyTo: addrs("list@example.net"), To: addrs(me)},
			wantTo: "list@example.net",
		},
		"reply all without me and duplicates": {
			msg:    mailproxy.Message{From: addrs("ann@example.net"), To: addrs("ME@example.org", "bob@example.net", "Ann@Example.net"), Cc: addrs("bob@example.net", "carol@example.net", me)},
			all:    true,
			wantTo: "ann@example.net", wantCc: "bob@example.net,carol@example.net",
		},
		"reply all with Reply-To": {
			msg:    mailproxy.Message{From: addrs("ann@example.net"), ReplyTo: addrs("list@example.net"), To: addrs("list@example.net", me)},
			all:    true,
			wantTo: "list@example.net",
		},
		"reply to my own sent message": {
			msg:    mailproxy.Message{From: addrs(me), To: addrs("bob@example.net")},
			wantTo: "bob@example.net",
		},
		"reply all to my own sent message": {
			msg:    mailproxy.Message{From: addrs(me), To: addrs("bob@example.net"), Cc: addrs("carol@example.net")},
			all:    true,
			wantTo: "bob@example.net", wantCc: "carol@example.net",
		},
		"address with CR dropped": {
			msg:    mailproxy.Message{From: addrs("ann@example.net\r\nBcc: x@example.com")},
			wantTo: "",
		},
	}
	for name, tc := range tests {
		to, cc := ReplyRecipients(&tc.msg, me, tc.all)
		if emails(to) != tc.wantTo || emails(cc) != tc.wantCc {
			t.Errorf("%s: ReplyRecipients() = %q / %q, want %q / %q", name, emails(to), emails(cc), tc.wantTo, tc.wantCc)
		}
	}
}

func TestReplyThreading(t *testing.T) {
	tests := map[string]struct {
		msg      mailproxy.Message
		wantIRT  string
		wantRefs string
	}{
		"first reply":      {mailproxy.Message{MessageID: "a@x"}, "a@x", "a@x"},
		"with references":  {mailproxy.Message{MessageID: "c@x", References: []string{"a@x", "b@x"}}, "c@x", "a@x b@x c@x"},
		"only In-Reply-To": {mailproxy.Message{MessageID: "b@x", InReplyTo: "a@x"}, "b@x", "a@x b@x"},
		"no Message-ID":    {mailproxy.Message{}, "", ""},
		"bad Message-ID":   {mailproxy.Message{MessageID: "a@x>\r\nBcc: y"}, "", ""},
		"bad ref dropped":  {mailproxy.Message{MessageID: "c@x", References: []string{"a b", "b@x"}}, "c@x", "b@x c@x"},
	}
	for name, tc := range tests {
		irt, refs := ReplyThreading(&tc.msg)
		if irt != tc.wantIRT || strings.Join(refs, " ") != tc.wantRefs {
			t.Errorf("%s: ReplyThreading() = %q %q, want %q %q", name, irt, refs, tc.wantIRT, tc.wantRefs)
		}
	}
}

func TestParseAddresses(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
		bad  bool
	}{
		"one":         {in: "ann@example.net", want: "ann@example.net"},
		"names":       {in: `Ann <ann@example.net>, "Bob, Jr." <bob@example.net>`, want: "ann@example.net,bob@example.net"},
		"semicolons":  {in: "ann@example.net; bob@example.net;", want: "ann@example.net,bob@example.net"},
		"empty":       {in: "  ", want: ""},
		"no at":       {in: "ann", bad: true},
		"garbage":     {in: "ann at example dot net", bad: true},
		"CRLF":        {in: "ann@example.net\r\nBcc: x@example.com", bad: true},
		"NUL in name": {in: "\"A\x00\" <ann@example.net>", bad: true},
		"non-ASCII":   {in: "Jörg <joerg@example.net>", want: "joerg@example.net"},
	}
	for name, tc := range tests {
		got, err := ParseAddresses("To", tc.in)
		if tc.bad {
			if !errors.Is(err, mailproxy.ErrBadInput) {
				t.Errorf("%s: ParseAddresses(%q) = %v, %v; want ErrBadInput", name, tc.in, got, err)
			}
			continue
		}
		if err != nil || emails(got) != tc.want {
			t.Errorf("%s: ParseAddresses(%q) = %q, %v; want %q", name, tc.in, emails(got), err, tc.want)
		}
	}
}

func TestBuildWithAttachments(t *testing.T) {
	o := &Outgoing{
		From:        mailproxy.Address{Email: "me@example.org"},
		To:          addrs("ann@example.net"),
		Subject:     "files",
		Text:        strings.Repeat("a long line of text ", 10) + "\n",
		InReplyTo:   "a@x",
		References:  []string{"r@x", "a@x"},
		Attachments: []OutAttachment{{Name: "Rechnung März.pdf", Type: "application/pdf", Data: []byte("%PDF-1.4\x00\xff")}, {Name: "x.bin", Type: "bogus", Data: []byte{1, 2, 3}}},
	}
	raw, err := o.Build()
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if refs, _ := mr.Header.MsgIDList("References"); strings.Join(refs, " ") != "r@x a@x" {
		t.Errorf("References = %v", refs)
	}
	var names, types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			if string(body) != strings.ReplaceAll(o.Text, "\n", "\r\n") {
				t.Errorf("text = %q", body)
			}
			if h.Get("Content-Transfer-Encoding") != "quoted-printable" {
				t.Errorf("long lines sent as %q", h.Get("Content-Transfer-Encoding"))
			}
		case *mail.AttachmentHeader:
			n, _ := h.Filename()
			ct, _, _ := h.ContentType()
			names, types = append(names, n), append(types, ct)
			if n == "Rechnung März.pdf" && string(body) != "%PDF-1.4\x00\xff" {
				t.Errorf("attachment bytes changed: %q", body)
			}
		}
	}
	if strings.Join(names, "|") != "Rechnung März.pdf|x.bin" || strings.Join(types, "|") != "application/pdf|application/octet-stream" {
		t.Errorf("attachments = %q %q", names, types)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d octets", len(line))
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	base := func() *Outgoing {
		return &Outgoing{From: mailproxy.Address{Email: "me@example.org"}, To: addrs("a@example.net")}
	}
	tests := map[string]func(o *Outgoing){
		"subject CRLF":    func(o *Outgoing) { o.Subject = "x\r\nBcc: y@example.com" },
		"subject LF":      func(o *Outgoing) { o.Subject = "x\nBcc: y@example.com" },
		"subject U+2028":  func(o *Outgoing) { o.Subject = "x\u2028y" },
		"from name":       func(o *Outgoing) { o.From.Name = "Me\rX" },
		"attachment name": func(o *Outgoing) { o.Attachments = []OutAttachment{{Name: "a\nb"}} },
		"in-reply-to":     func(o *Outgoing) { o.InReplyTo = "a@x>\r\nX: y" },
		"no recipients":   func(o *Outgoing) { o.To = nil },
		"recipient email": func(o *Outgoing) { o.To = addrs("a@example.net\r\nX: y") },
	}
	for name, mod := range tests {
		o := base()
		mod(o)
		if err := o.Check(false); !errors.Is(err, mailproxy.ErrBadInput) {
			t.Errorf("%s: Check() = %v, want ErrBadInput", name, err)
		}
	}
	if err := base().Check(false); err != nil {
		t.Errorf("Check() of a good message = %v", err)
	}
}

func TestFormatAddressesRoundTrip(t *testing.T) {
	tests := map[string]struct {
		name, want string
	}{
		"plain":     {"Ann Example", "Ann Example <a@example.net>"},
		"non-ASCII": {"Élodie Lefèvre", "Élodie Lefèvre <a@example.net>"},
		"comma":     {"Smith, John", `"Smith, John" <a@example.net>`},
		"quotes":    {`A "quoted" name`, `"A \"quoted\" name" <a@example.net>`},
		"backslash": {`back\slash`, `"back\\slash" <a@example.net>`},
		"angle":     {"x <y>", `"x <y>" <a@example.net>`},
	}
	for name, tc := range tests {
		in := []mailproxy.Address{{Name: tc.name, Email: "a@example.net"}}
		got := FormatAddresses(in)
		if got != tc.want {
			t.Errorf("%s: FormatAddresses() = %q, want %q", name, got, tc.want)
		}
		back, err := ParseAddresses("To", got)
		if err != nil || len(back) != 1 || back[0] != in[0] {
			t.Errorf("%s: ParseAddresses(%q) = %+v, %v; want %+v", name, got, back, err, in[0])
		}
	}
}

// The hostile quoted local parts of issue 12, item 3 (the same as the
// message package's envelope tests).
const (
	attackReplyTo = `"x@evil.example, \"bob@corp.example> NOTIFY=SUCCESS,FAILURE X\""@evil.example`
	attackHeld    = `x@evil.example, "bob@corp.example> NOTIFY=SUCCESS,FAILURE X"@evil.example`
	attackTyped   = `"bob@corp.example> ORCPT=rfc822;x"@evil.example`
)

// TestParseAddressesQuotedLocal: a quoted local part is one address,
// whatever it holds; ";" inside quotes is not a separator.
func TestParseAddressesQuotedLocal(t *testing.T) {
	tests := map[string][]string{
		`"john smith"@example.net`:          {"john smith@example.net"},
		`"a;b"@example.net; c@example.net`:  {"a;b@example.net", "c@example.net"},
		`"Doe; J" <j@example.net>; k@x.org`: {"j@example.net", "k@x.org"},
		attackReplyTo:                       {attackHeld},
		attackTyped:                         {`bob@corp.example> ORCPT=rfc822;x@evil.example`},
	}
	for in, want := range tests {
		got, err := ParseAddresses("To", in)
		if err != nil || emails(got) != strings.Join(want, ",") {
			t.Errorf("ParseAddresses(%q) = %q, %v; want %q", in, emails(got), err, want)
		}
	}
}

// TestFormatAddressesQuotedLocal: an address whose local part needs
// quotes is written with them, and reads back as that one address.
func TestFormatAddressesQuotedLocal(t *testing.T) {
	tests := map[string]struct {
		in   mailproxy.Address
		want string
	}{
		"space":       {mailproxy.Address{Email: "john smith@example.net"}, `"john smith"@example.net`},
		"named":       {mailproxy.Address{Name: "John", Email: "john smith@example.net"}, `John <"john smith"@example.net>`},
		"attack":      {mailproxy.Address{Email: attackHeld}, attackReplyTo},
		"attack name": {mailproxy.Address{Name: "Bob", Email: attackHeld}, "Bob <" + attackReplyTo + ">"},
		"comma":       {mailproxy.Address{Email: "a,b@example.net"}, `"a,b"@example.net`},
	}
	for name, tc := range tests {
		got := FormatAddresses([]mailproxy.Address{tc.in})
		if got != tc.want {
			t.Errorf("%s: FormatAddresses() = %q, want %q", name, got, tc.want)
		}
		back, err := ParseAddresses("To", got)
		if err != nil || len(back) != 1 || back[0] != tc.in {
			t.Errorf("%s: ParseAddresses(%q) = %+v, %v; want %+v alone", name, got, back, err, tc.in)
		}
	}
}

// TestCheckEnvelope: Check (of a message to send, not a draft) refuses
// what Submitter.Send would, naming the field and the address.
func TestCheckEnvelope(t *testing.T) {
	tests := map[string]struct {
		mod   func(o *Outgoing)
		field string
		named string
	}{
		"reply-to attack": {func(o *Outgoing) { o.To = addrs(attackHeld) }, "To", attackReplyTo + " cannot be used: it contains < or >"},
		"typed attack":    {func(o *Outgoing) { o.Cc = addrs(`bob@corp.example> ORCPT=rfc822;x@evil.example`) }, "Cc", "cannot be used: it contains < or >"},
		"bcc bad domain":  {func(o *Outgoing) { o.Bcc = addrs("ann@exa mple.org") }, "Bcc", `ann@exa mple.org cannot be used: it has a domain that is not valid`},
		"sender":          {func(o *Outgoing) { o.From.Email = "demo" }, "Your address", "demo cannot be used: it is not a complete address"},
	}
	for name, tc := range tests {
		o := &Outgoing{From: mailproxy.Address{Email: "me@example.org"}, To: addrs("a@example.net")}
		tc.mod(o)
		err := o.Check(false)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tc.field || !strings.Contains(ie.Reason, tc.named) {
			t.Errorf("%s: Check() = %v; want %s refused naming %q", name, err, tc.field, tc.named)
		}
		if err := o.Check(true); err != nil {
			t.Errorf("%s: Check(draft) = %v; a draft may keep what cannot be sent yet", name, err)
		}
	}
	o := &Outgoing{From: mailproxy.Address{Email: "me@example.org"}, To: addrs("john smith@example.net", "ann@bücher.example")}
	if err := o.Check(false); err != nil {
		t.Errorf("Check() of quoted and IDN addresses = %v", err)
	}
}

// TestBuildAddressHeaders: a local part that needs quotes is quoted in
// the header (once), and an internationalized domain is written in
// ASCII, as in the envelope.
func TestBuildAddressHeaders(t *testing.T) {
	o := &Outgoing{
		From: mailproxy.Address{Email: "me@example.org"},
		To:   []mailproxy.Address{{Name: "John", Email: "john smith@example.net"}, {Email: `"a b"@example.net`}, {Email: "ann@bücher.example"}},
		Text: "hi\n",
	}
	raw, err := o.Build()
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	want := `To: "John" <"john smith"@example.net>, <"a b"@example.net>, <ann@xn--bcher-kva.example>`
	if !strings.Contains(strings.ReplaceAll(string(raw), "\r\n ", " "), want+"\r\n") {
		t.Errorf("message lacks %q:\n%s", want, raw)
	}
}
