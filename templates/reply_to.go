package templates

import (
	"errors"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
	"github.com/thumbmail/thumbmail/mailproxy/send"
)

// ReplyTarget is one address a quick reply goes to, written as it will be
// used in the SMTP envelope, or why it cannot be.
type ReplyTarget struct {
	Name    string
	Email   string // mailproxy.EnvelopeAddress's form; QuoteAddress's when refused
	Problem string // "contains < or >", ...; "" when it can be used
}

// QuickReplyTo is who the quick reply under m goes to when user (the
// login, as Base.User holds it) sends it: Reply-To, else From
// (mailproxy.ReplyRecipients), through the same steps the reply takes
// (the compose form's To field, mailproxy.ParseAddresses, then
// mailproxy.EnvelopeAddress), so that the box shows exactly the
// addresses the server will be given, and those it will not.
func QuickReplyTo(m *mailproxy.Message, user string) []ReplyTarget {
	to, _ := send.ReplyRecipients(m, user, false)
	if len(to) == 0 {
		return nil
	}
	parsed, err := send.ParseAddresses("To", send.FormatAddresses(to))
	if err != nil {
		reason := "is not a valid address"
		var ie *send.InputError
		if errors.As(err, &ie) {
			reason = strings.TrimPrefix(ie.Reason, "has an address that ")
		}
		out := make([]ReplyTarget, 0, len(to))
		for _, a := range to {
			out = append(out, ReplyTarget{Name: a.Name, Email: message.QuoteAddress(a.Email), Problem: reason})
		}
		return out
	}
	out := make([]ReplyTarget, 0, len(parsed))
	for _, a := range parsed {
		t := ReplyTarget{Name: a.Name}
		env, err := message.EnvelopeAddress(a.Email)
		var ae *message.AddressError
		switch {
		case err == nil:
			t.Email = env
		case errors.As(err, &ae):
			t.Email, t.Problem = ae.Address, ae.Reason
		default:
			t.Email, t.Problem = message.QuoteAddress(a.Email), "is not a valid address"
		}
		out = append(out, t)
	}
	return out
}

// replyToDiffers reports a Reply-To naming other addresses than From,
// which the message page then shows: replies go there.
func replyToDiffers(m *mailproxy.Message) bool {
	if len(m.ReplyTo) == 0 {
		return false
	}
	from := map[string]bool{}
	for _, a := range m.From {
		from[strings.ToLower(a.Email)] = true
	}
	for _, a := range m.ReplyTo {
		if !from[strings.ToLower(a.Email)] {
			return true
		}
	}
	return len(m.ReplyTo) != len(m.From)
}

// quotedAddresses are as with each address written as QuoteAddress
// writes it, so that a list shows each address as the one it is.
func quotedAddresses(as []mailproxy.Address) []mailproxy.Address {
	out := make([]mailproxy.Address, len(as))
	for i, a := range as {
		out[i] = mailproxy.Address{Name: a.Name, Email: message.QuoteAddress(a.Email)}
	}
	return out
}
