// Helpers shared by the compose pages (new, reply, forward, edit) and the
// send and save actions: the original message, the From line, the
// signature, attachments carried over, and rendering the form.

package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// original loads the message of the URL, for replying to or forwarding.
func (h *Handler) original(r *http.Request, us *userSession) (folder, id string, msg *mailproxy.Message, err error) {
	if h.cfg.Submit == nil {
		return "", "", nil, fmt.Errorf("%w: no SMTP server configured", mailproxy.ErrUnsupported)
	}
	folder, err = folderParam(r)
	if err != nil {
		return "", "", nil, err
	}
	id = chi.URLParam(r, "id")
	msg, err = us.mail.Message(r.Context(), folder, id, mailproxy.ViewOptions{})
	return folder, id, msg, err
}

// newCompose is an empty form for the user, with a fresh token.
func (h *Handler) newCompose(us *userSession) templates.ComposePage {
	from := h.from(us)
	canDraft := us.mail.Caps().Files
	return templates.ComposePage{
		Token:     newComposeToken(),
		Signature: h.signatureText(us),
		FromName:  from.Name,
		FromEmail: from.Email,
		Back:      "/f/INBOX",
		MaxUpload: h.cfg.MaxUpload,
		CanDraft:  canDraft,
	}
}

// fillReply sets recipients, subject and threading of a reply to msg.
func (h *Handler) fillReply(p *templates.ComposePage, folder, id string, msg *mailproxy.Message, all bool) {
	to, cc := send.ReplyRecipients(msg, p.FromEmail, all)
	p.To = send.FormatAddresses(to)
	p.Cc = send.FormatAddresses(cc)
	p.Subject = send.ReplySubject(msg.Subject)
	in, refs := send.ReplyThreading(msg)
	p.InReplyTo, p.References = in, strings.Join(refs, " ")
	p.ReplyFolder, p.ReplyID = folder, id
	p.Back = templates.Base{}.MessageURL(folder, id, 0)
}

// from is the user's From address: the login when it is an address,
// else login@MailDomain, with the display name they set.
func (h *Handler) from(us *userSession) mailproxy.Address {
	email := us.creds.Username
	if !strings.Contains(email, "@") && h.cfg.MailDomain != "" {
		email += "@" + h.cfg.MailDomain
	}
	return mailproxy.Address{Name: h.compose.identity(us.id).name, Email: email}
}

// signatureText is the user's signature: their own when they set one
// this session, else the operator's -signature.
func (h *Handler) signatureText(us *userSession) string {
	if id := h.compose.identity(us.id); id.sigSet {
		return id.signature
	}
	return h.cfg.Signature
}

// signature is the signature block ("-- " line and the text), or "".
func (h *Handler) signature(us *userSession) string {
	sig := h.signatureText(us)
	if strings.TrimSpace(sig) == "" {
		return ""
	}
	return "\n-- \n" + strings.TrimRight(sig, "\n") + "\n"
}

// inDrafts tells whether folder is the session's Drafts folder.
func (h *Handler) inDrafts(ctx context.Context, us *userSession, folder string) bool {
	f := mailproxy.FilerOf(us.mail)
	if f == nil {
		return false
	}
	name, err := f.SpecialFolder(ctx, "drafts")
	return err == nil && name == folder
}

// copyAttachments attaches msg's attachments to the form token (for a
// forward or a draft). It returns a plain-words problem for the ones that
// could not be attached, or "".
func (h *Handler) copyAttachments(ctx context.Context, us *userSession, folder, id string, msg *mailproxy.Message, token string) string {
	if len(msg.Attachments) == 0 {
		return ""
	}
	form := h.compose.form(us.id, token)
	var missed []string
	full := false
	for _, a := range msg.Attachments {
		if a.Inline && a.CID != "" {
			continue // images of HTML mail; the forward is plain text
		}
		buf := &limitedPart{max: h.cfg.MaxUpload}
		err := us.mail.Part(ctx, folder, id, a.Part, buf)
		if err == nil {
			err = h.compose.attach(form, upload{name: a.Name, ctype: a.Type, data: buf.Bytes()}, h.cfg.MaxUpload)
		}
		if err != nil {
			h.cfg.Logger.WarnContext(ctx, "attaching an attachment of the original", "err", err)
			missed = append(missed, a.Name)
			full = full || errors.Is(err, errShareFull)
		}
	}
	if full {
		return shareFullText(h.cfg.MaxUpload, strings.Join(missed, ", "))
	}
	if len(missed) > 0 {
		return "Could not attach " + strings.Join(missed, ", ") + " (too big or unavailable)."
	}
	return ""
}

// limitedPart collects a part download up to max bytes.
type limitedPart struct {
	bytes.Buffer
	max int64
}

var errPartTooBig = errors.New("part too big to attach")

func (l *limitedPart) Begin(mailproxy.Attachment) {}

func (l *limitedPart) Write(b []byte) (int, error) {
	if int64(l.Len()+len(b)) > l.max {
		return 0, errPartTooBig
	}
	return l.Buffer.Write(b)
}

// renderCompose shows the compose form with the form's attachments and,
// when problem is not "", the reason the last attempt failed.
func (h *Handler) renderCompose(w http.ResponseWriter, r *http.Request, status int, p templates.ComposePage, problem string) {
	us := session(r)
	title := "New message"
	if p.Subject != "" {
		title = p.Subject
	}
	b := h.base(r, title)
	b.Error = problem
	form := h.compose.form(us.id, p.Token)
	p.Files = nil
	for i, f := range h.compose.files(form) {
		p.Files = append(p.Files, templates.ComposeFile{Index: i, Name: f.name, Size: int64(len(f.data))})
	}
	web.Render(w, r, status, templates.Compose(b, p))
}

// quickReplyBox is the quick reply under a message, nil when mail cannot
// be sent.
func (h *Handler) quickReplyBox(ctx context.Context, us *userSession, folder string) *templates.QuickReply {
	if h.cfg.Submit == nil {
		return nil
	}
	raw := us.mail.Caps().Raw
	return &templates.QuickReply{Token: newComposeToken(), Canned: h.cfg.CannedReplies, InDrafts: h.inDrafts(ctx, us, folder), ForwardRaw: raw}
}
