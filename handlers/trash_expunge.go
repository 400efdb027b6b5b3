package handlers

import (
	"errors"
	"net/http"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// confirmExpunge asks before deleting messages in Trash for good
// (?id=... the messages, ?p=N the list page to return to).
func (h *Handler) confirmExpunge(w http.ResponseWriter, r *http.Request) {
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := h.base(r, "Delete for good?")
	b.Folder = folder
	ids, err := formIDs(r.URL.Query()["id"])
	if err != nil || len(ids) == 0 {
		web.Redirect(w, r, withNotice(b.FolderURL(folder, 1, 0), "noneselected"))
		return
	}
	web.Render(w, r, http.StatusOK, templates.Expunge(b, templates.ExpungePage{Folder: folder, IDs: ids, BackPage: queryInt(r, "p", 1)}))
}

// expungeMessages deletes the confirmed messages for good (only those:
// mailproxy refuses on servers without UIDPLUS).
func (h *Handler) expungeMessages(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	list := listBack(h.base(r, ""), folder, r.PostForm)
	ids, err := formIDs(r.PostForm["id"])
	if err != nil || len(ids) == 0 {
		web.Redirect(w, r, withNotice(list, "noneselected"))
		return
	}
	err = us.mail.Expunge(r.Context(), folder, ids)
	switch {
	case errors.Is(err, mailproxy.ErrUnsupported):
		web.LogError(r.Context(), r, "expunge refused", err)
		web.Redirect(w, r, withNotice(list, "noexpunge"))
	case err != nil:
		h.actFailed(w, r, list, err)
	default:
		web.Redirect(w, r, withNotice(list, "expunged"))
	}
}
