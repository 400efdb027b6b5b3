package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// replyMessage sends the quick reply box (or a canned reply) as a reply to
// the message, its original quoted below. When that fails the full
// compose form comes back with the reply in it.
func (h *Handler) replyMessage(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	if h.cfg.Submit == nil {
		h.fail(w, r, fmt.Errorf("%w: no SMTP server configured", mailproxy.ErrUnsupported))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	text := r.PostFormValue("canned")
	if text == "" {
		text = r.PostFormValue("text")
	}
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	p := h.newCompose(us)
	if t := r.PostFormValue("token"); validToken(t) {
		p.Token = t
	}
	p.Back = templates.Base{}.MessageURL(folder, id, 0)
	form := h.compose.form(us.id, p.Token)
	arrived := time.Now()
	form.send.Lock()
	defer form.send.Unlock()
	if form.sent {
		web.Redirect(w, r, h.backURL(r, p.Back, "sent"))
		return
	}
	waited := form.lastEnd.After(arrived)
	msg, err := us.mail.Message(r.Context(), folder, id, mailproxy.ViewOptions{})
	if err != nil {
		web.LogError(r.Context(), r, "loading the message replied to", err)
		p.Body = text
		h.renderCompose(w, r, http.StatusBadGateway, p, "The message you reply to could not be loaded, so nothing was sent. Your reply is kept below: add the recipient and send it from here.")
		return
	}
	h.fillReply(&p, folder, id, msg, false)
	p.Body = strings.TrimRight(text, "\n") + "\n" + h.signature(us) + "\n" + send.QuoteText(msg, h.clock().LongDate(msg.Date))
	if strings.TrimSpace(text) == "" {
		h.renderCompose(w, r, http.StatusUnprocessableEntity, p, "Write a reply first (or tap one of the short answers).")
		return
	}
	// The box said "To: ..." (templates.QuickReplyTo, from the login):
	// one tap never sends anywhere else. They differ only for a login
	// without "@" replying to its own message (the From address is
	// login@MailDomain); the form then asks.
	if shown, _ := send.ReplyRecipients(msg, us.creds.Username, false); send.FormatAddresses(shown) != p.To {
		h.renderCompose(w, r, http.StatusConflict, p, "Check who this reply goes to, then tap Send. Nothing was sent yet.")
		return
	}
	if waited {
		// A second tap that waited for a failed send: its answer, no resend.
		h.renderCompose(w, r, http.StatusBadGateway, p, form.lastProblem)
		return
	}
	h.submit(w, r, us, p, form)
}
