package handlers

import (
	"net/http"

	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// pickFolder shows the folder picker for Move (?id=... the messages,
// ?p=N the list page to return to): one radio per folder and one button,
// posting action=moveto to the folder's action URL.
func (h *Handler) pickFolder(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := h.base(r, "Move to…")
	b.Folder = folder
	ids, err := formIDs(r.URL.Query()["id"])
	if err != nil || len(ids) == 0 {
		key := "noneselected"
		if err != nil {
			key = "toomany"
		}
		web.Redirect(w, r, withNotice(b.FolderURL(folder, 1, 0), key))
		return
	}
	folders, err := us.mail.Folders(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.Render(w, r, http.StatusOK, templates.Move(b, templates.MovePage{
		Folder: folder, IDs: ids, Folders: folders, BackPage: queryInt(r, "p", 1),
	}))
}
