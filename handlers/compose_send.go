package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// sendCompose handles every button of the compose form: Send, Save
// draft, Attach (upload the chosen files and show the form again) and
// Remove (drop one attached file). A failed send shows the form again
// with everything kept and the reason; a second tap on Send of the same
// form sends nothing more.
func (h *Handler) sendCompose(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	if h.cfg.Submit == nil {
		h.fail(w, r, fmt.Errorf("%w: no SMTP server configured", mailproxy.ErrUnsupported))
		return
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.fail(w, r, fmt.Errorf("%w: compose form: %v", mailproxy.ErrNotFound, err))
		return
	}
	p := composeFromForm(r, h.newCompose(us))
	form := h.compose.form(us.id, p.Token)
	arrived := time.Now()
	form.send.Lock()
	defer form.send.Unlock()
	if form.sent {
		web.Redirect(w, r, h.backURL(r, p.Back, "sent"))
		return
	}
	if form.savedURL != "" {
		web.Redirect(w, r, form.savedURL)
		return
	}
	if id := h.compose.identity(us.id); p.FromName != id.name || p.Signature != h.signatureText(us) {
		if err := send.CheckText("Your name", p.FromName); err != nil {
			h.renderCompose(w, r, http.StatusUnprocessableEntity, p, inputProblem(err))
			return
		}
		if len(p.Signature) > 2000 {
			h.renderCompose(w, r, http.StatusUnprocessableEntity, p, "Your signature is too long (at most 2,000 characters). Nothing was sent.")
			return
		}
		h.compose.setIdentity(us.id, identity{name: p.FromName, signature: p.Signature, sigSet: p.Signature != h.cfg.Signature || id.sigSet})
	}
	if problem := h.takeUploads(r, form); problem != "" {
		h.renderCompose(w, r, http.StatusRequestEntityTooLarge, p, problem)
		return
	}
	if rm := r.PostFormValue("remove"); rm != "" {
		if i, err := strconv.Atoi(rm); err == nil {
			h.compose.remove(form, i)
		}
		h.renderCompose(w, r, http.StatusOK, p, "")
		return
	}
	if act := r.PostFormValue("action"); (act == "send" || act == "draft") && len(r.PostForm["attached"]) > len(h.compose.files(form)) {
		// The page listed attachments this instance no longer has (a
		// restart, or another instance behind a load balancer): never
		// send or save the message without them.
		h.renderCompose(w, r, http.StatusConflict, p, lostAttachments)
		return
	}
	switch r.PostFormValue("action") {
	case "send":
		if form.lastEnd.After(arrived) {
			// A second tap that waited for a failed send: show its
			// answer rather than sending again.
			h.renderCompose(w, r, http.StatusBadGateway, p, form.lastProblem)
			return
		}
		h.submit(w, r, us, p, form)
	case "draft":
		h.saveDraft(w, r, us, p, form)
	default: // Attach, or Enter in a field
		h.renderCompose(w, r, http.StatusOK, p, "")
	}
}

// composeFromForm reads the posted compose form over the defaults of p.
func composeFromForm(r *http.Request, p templates.ComposePage) templates.ComposePage {
	v := r.PostFormValue
	if t := v("token"); validToken(t) {
		p.Token = t
	}
	p.To, p.Cc, p.Bcc = v("to"), v("cc"), v("bcc")
	p.FromName = strings.TrimSpace(v("from_name"))
	if r.PostForm.Has("signature") {
		p.Signature = strings.TrimRight(strings.ReplaceAll(v("signature"), "\r\n", "\n"), "\n")
	}
	p.Subject, p.Body = v("subject"), v("body")
	p.ReplyFolder, p.ReplyID = v("reply_folder"), v("reply_id")
	p.InReplyTo, p.References = v("in_reply_to"), v("references")
	p.DraftFolder, p.DraftID = v("draft_folder"), v("draft_id")
	if b := v("back"); web.LocalPath(b) {
		p.Back = b
	}
	return p
}

// takeUploads moves the files of this request into the form's store. It
// returns a plain-words problem when they do not fit.
func (h *Handler) takeUploads(r *http.Request, form *composeForm) string {
	if r.MultipartForm == nil {
		return ""
	}
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		data, err := readUpload(fh, h.cfg.MaxUpload)
		if err == nil {
			name := send.CleanHeaderText(fh.Filename)
			if name == "" {
				name = "attachment"
			}
			err = h.compose.attach(form, upload{name: name, ctype: fh.Header.Get("Content-Type"), data: data}, h.cfg.MaxUpload)
		}
		switch {
		case errors.Is(err, errTooBig):
			return "The attachments are too big: at most " + templates.FormatSize(h.cfg.MaxUpload) + " in all. Nothing was sent; " + fh.Filename + " was not attached."
		case errors.Is(err, errShareFull):
			return "Nothing was sent. " + shareFullText(h.cfg.MaxUpload, fh.Filename)
		case errors.Is(err, errStoreFull):
			return "The server has no room for more attachments just now. Nothing was sent; try again in a few minutes."
		case err != nil:
			return "Could not read " + fh.Filename + ". Nothing was sent; try attaching it again."
		}
	}
	return ""
}

func readUpload(fh *multipart.FileHeader, max int64) ([]byte, error) {
	if fh.Size > max {
		return nil, errTooBig
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errTooBig
	}
	return data, nil
}

// outgoing turns the form into a message, or says in plain words what
// is wrong with it.
func (h *Handler) outgoing(us *userSession, p templates.ComposePage, form *composeForm, draft bool) (*send.Outgoing, error) {
	o := &send.Outgoing{From: h.from(us), Subject: p.Subject, Text: p.Body, Date: h.cfg.Now()}
	o.From.Name = p.FromName
	var err error
	if o.To, err = send.ParseAddresses("To", p.To); err != nil {
		return nil, err
	}
	if o.Cc, err = send.ParseAddresses("Cc", p.Cc); err != nil {
		return nil, err
	}
	if o.Bcc, err = send.ParseAddresses("Bcc", p.Bcc); err != nil {
		return nil, err
	}
	o.InReplyTo = strings.TrimSpace(p.InReplyTo)
	o.References = strings.Fields(p.References)
	for _, f := range h.compose.files(form) {
		o.Attachments = append(o.Attachments, send.OutAttachment{Name: f.name, Type: f.ctype, Data: f.data})
	}
	if err := o.Check(draft); err != nil {
		return nil, err
	}
	return o, nil
}

// submit sends the form's message; then files a copy in Sent, marks the
// original answered and deletes the draft it came from, and goes back
// where the user came from. On failure the form comes back, kept.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request, us *userSession, p templates.ComposePage, form *composeForm) {
	o, err := h.outgoing(us, p, form, false)
	if err != nil {
		h.renderCompose(w, r, http.StatusUnprocessableEntity, p, inputProblem(err))
		return
	}
	o.MessageID = send.NewMessageID(o.From.Domain())
	raw, err := o.Build()
	if err != nil {
		h.renderCompose(w, r, http.StatusUnprocessableEntity, p, inputProblem(err))
		return
	}
	own := raw // the copy in Sent keeps Bcc
	if len(o.Bcc) > 0 {
		if own, err = o.BuildCopy(); err != nil {
			own = raw
		}
	}
	// A send that began completes even if the browser goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 3*time.Minute)
	defer cancel()
	if err := h.cfg.Submit.Send(ctx, us.creds, o.From.Email, o.Recipients(), raw); err != nil {
		web.LogError(ctx, r, "sending failed", err)
		form.lastEnd, form.lastProblem = time.Now(), sendProblem(err)
		h.renderCompose(w, r, http.StatusBadGateway, p, form.lastProblem)
		return
	}
	h.compose.done(form)
	notice := "sent"
	if f := mailproxy.FilerOf(us.mail); f != nil {
		if !h.cfg.SavesSent {
			if _, _, err := f.SaveCopy(ctx, "sent", own); err != nil {
				web.LogError(ctx, r, "saving the sent copy", err)
				notice = "sentnocopy"
			}
		}
		if p.ReplyFolder != "" && p.ReplyID != "" {
			if err := f.MarkAnswered(ctx, p.ReplyFolder, p.ReplyID); err != nil {
				web.LogError(ctx, r, "marking answered", err)
			}
		}
		if p.DraftFolder != "" && p.DraftID != "" && h.inDrafts(ctx, us, p.DraftFolder) {
			if err := f.RemoveDraft(ctx, p.DraftFolder, p.DraftID); err != nil {
				web.LogError(ctx, r, "removing the sent draft", err)
			}
		}
	}
	web.Redirect(w, r, h.backURL(r, p.Back, notice))
}

// saveDraft saves the form in Drafts (replacing the draft it came from)
// and opens the saved draft.
func (h *Handler) saveDraft(w http.ResponseWriter, r *http.Request, us *userSession, p templates.ComposePage, form *composeForm) {
	f := mailproxy.FilerOf(us.mail)
	if f == nil {
		h.renderCompose(w, r, http.StatusNotImplemented, p, "Your mail server keeps no drafts (POP3). Nothing was saved.")
		return
	}
	o, err := h.outgoing(us, p, form, true)
	if err != nil {
		h.renderCompose(w, r, http.StatusUnprocessableEntity, p, inputProblem(err))
		return
	}
	raw, err := o.BuildCopy()
	if err != nil {
		h.renderCompose(w, r, http.StatusUnprocessableEntity, p, inputProblem(err))
		return
	}
	folder, id, err := f.SaveCopy(r.Context(), "drafts", raw)
	if err != nil {
		web.LogError(r.Context(), r, "saving a draft", err)
		h.renderCompose(w, r, http.StatusBadGateway, p, "The draft could not be saved (no Drafts folder, or the mail server did not answer). Your text is kept below.")
		return
	}
	if p.DraftFolder != "" && p.DraftID != "" && h.inDrafts(r.Context(), us, p.DraftFolder) {
		if err := f.RemoveDraft(r.Context(), p.DraftFolder, p.DraftID); err != nil {
			web.LogError(r.Context(), r, "removing the replaced draft", err)
		}
	}
	b := templates.Base{BasePath: web.Prefix(r)}
	next := b.FolderURL(folder, 1, 0) + "?n=draftsaved"
	if id != "" {
		next = b.MessageURL(folder, id, 0) + "/edit?n=draftsaved"
	}
	h.compose.saved(form, next)
	web.Redirect(w, r, next)
}

// backURL is the local page to return to, with a notice.
func (h *Handler) backURL(r *http.Request, back, notice string) string {
	if !web.LocalPath(back) {
		back = "/f/INBOX"
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	return h.url(r, back) + sep + "n=" + notice
}

// lostAttachments explains a form whose attachments are gone.
const lostAttachments = "The files you had attached are no longer here (thumbmail restarted, or your request reached another server). Please attach them again. Nothing was sent or saved; your text is kept below."

// inputProblem is the plain-words reason a form was refused.
func inputProblem(err error) string {
	var ie *send.InputError
	if errors.As(err, &ie) {
		return ie.Error() + ". Nothing was sent."
	}
	return "This message could not be built. Nothing was sent."
}

// sendProblem says why sending failed, in plain words, never with the
// server's reply.
func sendProblem(err error) string {
	var re *send.RecipientError
	var ae *message.AddressError
	switch {
	case errors.As(err, &ae) && ae.Sender:
		return "Your address " + ae.Address + " cannot be used for sending: it " + ae.Reason + ". Nothing was sent; your message is kept below."
	case errors.As(err, &ae):
		return "The address " + ae.Address + " cannot be used: it " + ae.Reason + ". Check the address. Nothing was sent; your message is kept below."
	case errors.As(err, &re):
		return "The mail server refused the recipient " + re.Address + ". Check the address. Nothing was sent; your message is kept below."
	case errors.Is(err, send.ErrRecipient):
		return "The mail server refused a recipient. Nothing was sent; your message is kept below."
	case errors.Is(err, mailproxy.ErrAuth):
		return "The mail server did not accept your password for sending. Nothing was sent; your message is kept below."
	case errors.Is(err, send.ErrUnconfirmed):
		return "The mail server did not confirm the message in time. It may have been sent all the same: check with the recipient (or later in your Sent folder) before sending it again. Your message is kept below."
	case errors.Is(err, send.ErrRejected):
		return "The mail server refused this message (it may be too big, or sending from this address is not allowed). Nothing was sent; your message is kept below."
	}
	return "The mail server could not be reached or did not answer in time. Nothing was sent; your message is kept below. Try again in a moment."
}

// shareFullText says that what (file names) could not be attached
// because the user's share of the attachment store is used up.
func shareFullText(perForm int64, what string) string {
	return "You have no more room for attachments: each user may keep at most " + templates.FormatSize(userShare(perForm)) +
		" attached, counting the messages you are writing in other tabs or on other devices; " + what +
		" was not attached. Send those messages or remove their attachments first (attachments of a message you leave are forgotten after two hours, or when you sign out)."
}
