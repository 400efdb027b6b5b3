package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/web"
)

// maxBulk bounds how many messages one form may act on.
const maxBulk = 500

// deleteMessages deletes the messages ticked in the list (ids=...) or the
// one shown (id=...), then goes back to the list with a notice.
func (h *Handler) deleteMessages(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := mailproxy.DeleterOf(us.mail)
	if d == nil {
		h.fail(w, r, fmt.Errorf("%w: delete", mailproxy.ErrUnsupported))
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	var ids []string
	for _, id := range r.PostForm["id"] {
		if id = strings.TrimSpace(id); id != "" && len(ids) < maxBulk {
			ids = append(ids, id)
		}
	}
	back := h.base(r, "").FolderURL(folder, 1, 0)
	if len(ids) == 0 {
		web.Redirect(w, r, back+"?n=noneselected")
		return
	}
	if err := d.Delete(r.Context(), folder, ids); err != nil {
		h.fail(w, r, err)
		return
	}
	web.Redirect(w, r, back+"?n=deleted")
}
