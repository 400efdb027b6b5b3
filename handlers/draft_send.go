package handlers

import (
	"fmt"
	"net/http"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// sendDraft sends a saved draft as it is (the Send button of a draft's
// page): the same form Edit would open, sent at once. It is then removed
// from Drafts and the user goes back to Drafts with a notice. A draft
// that cannot be sent (no recipient yet, say) opens in the compose form
// with the reason, nothing lost.
func (h *Handler) sendDraft(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	if h.cfg.Submit == nil {
		h.fail(w, r, fmt.Errorf("%w: no SMTP server configured", mailproxy.ErrUnsupported))
		return
	}
	folder, id, msg, err := h.original(r, us)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.inDrafts(r.Context(), us, folder) {
		h.fail(w, r, fmt.Errorf("%w: not a draft", mailproxy.ErrNotFound))
		return
	}
	p := h.newCompose(us)
	if problem := h.fillEdit(r, us, &p, folder, id, msg); problem != "" {
		h.renderCompose(w, r, http.StatusConflict, p, problem+" Nothing was sent.")
		return
	}
	form := h.compose.form(us.id, p.Token)
	form.send.Lock()
	defer form.send.Unlock()
	h.submit(w, r, us, p, form)
}
