package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/templates"
)

// showCompose shows an empty compose form (?to= prefills the recipient).
func (h *Handler) showCompose(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	if h.cfg.Submit == nil {
		h.fail(w, r, fmt.Errorf("%w: no SMTP server configured", mailproxy.ErrUnsupported))
		return
	}
	p := h.newCompose(us)
	if to := r.URL.Query().Get("to"); to != "" {
		if as, err := send.ParseAddresses("To", to); err == nil {
			p.To = send.FormatAddresses(as)
		}
	}
	p.Body = "\n" + h.signature(us)
	h.renderCompose(w, r, http.StatusOK, p, "")
}

// showReply shows a reply to a message (?all=1: to everyone), the
// recipients, subject and threading headers filled in and the original
// quoted below.
func (h *Handler) showReply(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, id, msg, err := h.original(r, us)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newCompose(us)
	h.fillReply(&p, folder, id, msg, r.URL.Query().Get("all") == "1")
	p.Body = "\n" + h.signature(us) + "\n" + send.QuoteText(msg, h.clock().LongDate(msg.Date))
	h.renderCompose(w, r, http.StatusOK, p, "")
}

// showForward shows a forward of a message: the original inline below,
// its attachments attached (they can be removed before sending); with
// ?as=attachment the whole original attached as message/rfc822.
func (h *Handler) showForward(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, id, msg, err := h.original(r, us)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newCompose(us)
	p.Subject = send.ForwardSubject(msg.Subject)
	p.Back = templates.Base{}.MessageURL(folder, id, 0)
	if rr := mailproxy.RawReaderOf(us.mail); rr != nil && r.URL.Query().Get("as") == "attachment" {
		p.Body = "\n" + h.signature(us)
		problem := ""
		raw, err := rr.Raw(r.Context(), folder, id, h.cfg.MaxUpload)
		if err == nil {
			name := send.CleanHeaderText(msg.Subject)
			if name == "" {
				name = "message"
			}
			err = h.compose.attach(h.compose.form(us.id, p.Token), upload{name: name + ".eml", ctype: "message/rfc822", data: raw}, h.cfg.MaxUpload)
		}
		if err != nil {
			h.cfg.Logger.WarnContext(r.Context(), "attaching the original message", "err", err)
			problem = "Could not attach the original message (too big or unavailable)."
			if errors.Is(err, errShareFull) {
				problem = shareFullText(h.cfg.MaxUpload, "the original message")
			}
		}
		h.renderCompose(w, r, http.StatusOK, p, problem)
		return
	}
	p.Body = "\n" + h.signature(us) + "\n" + send.ForwardText(msg, h.clock().LongDate(msg.Date))
	problem := h.copyAttachments(r.Context(), us, folder, id, msg, p.Token)
	h.renderCompose(w, r, http.StatusOK, p, problem)
}

// showEdit opens a message into the compose form: a saved draft (which
// is deleted once sent) or any message "as new".
func (h *Handler) showEdit(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, id, msg, err := h.original(r, us)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newCompose(us)
	p.To = send.FormatAddresses(msg.To)
	p.Cc = send.FormatAddresses(msg.Cc)
	p.Bcc = send.FormatAddresses(msg.Bcc)
	p.Subject = send.CleanHeaderText(msg.Subject)
	p.Body = send.OriginalText(msg)
	in, refs := strings.Trim(msg.InReplyTo, "<> "), msg.References
	if in != "" && !strings.ContainsAny(in, " <>") {
		p.InReplyTo = in
		var clean []string
		for _, ref := range refs {
			if ref = strings.Trim(ref, "<> "); ref != "" && !strings.ContainsAny(ref, " <>") {
				clean = append(clean, ref)
			}
		}
		p.References = strings.Join(clean, " ")
	}
	if h.inDrafts(r.Context(), us, folder) {
		p.DraftFolder, p.DraftID = folder, id
		p.Back = templates.Base{}.FolderURL(folder, 1, 0)
	}
	problem := h.copyAttachments(r.Context(), us, folder, id, msg, p.Token)
	h.renderCompose(w, r, http.StatusOK, p, problem)
}
