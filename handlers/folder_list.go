package handlers

import (
	"net/http"

	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// home sends a signed-in user to the inbox.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	web.Redirect(w, r, h.url(r, "/f/INBOX"))
}

// listFolders shows every folder with unread and total counts.
func (h *Handler) listFolders(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folders, err := us.mail.Folders(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := h.base(r, "Folders")
	web.Render(w, r, http.StatusOK, templates.Folders(b, templates.FoldersPage{Folders: folders}))
}
