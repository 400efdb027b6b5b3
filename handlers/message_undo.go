package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// undoMove moves messages back after archive, delete, junk or move: the
// form carries the folder they went to (from), the one they came from
// (to) and their new ids there. When the server reset the folder they went
// to (a new UIDVALIDITY), the ids no longer name them and nothing is done.
func (h *Handler) undoMove(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	if !h.parseForm(w, r) {
		return
	}
	from, ok1 := templates.DecodeFolder(r.PostForm.Get("from"))
	to, ok2 := templates.DecodeFolder(r.PostForm.Get("to"))
	if !ok1 || !ok2 {
		h.fail(w, r, fmt.Errorf("%w: undo folders", mailproxy.ErrNotFound))
		return
	}
	// Back to the page that offered the Undo (the list page the action
	// left the user on), else the folder's first page; from a message
	// page (an archive from a message went on to the next one), to the
	// message brought back.
	base := h.base(r, "")
	back := base.FolderURL(to, 1, 0)
	offer := r.PostForm.Get("back")
	if web.LocalPath(offer) && strings.HasPrefix(offer, "/f/") {
		back = h.url(r, offer)
	}
	ids, err := formIDs(r.PostForm["id"])
	if err != nil || len(ids) == 0 {
		web.Redirect(w, r, withNotice(back, "noneselected"))
		return
	}
	res, err := us.mail.Move(r.Context(), from, ids, to)
	switch {
	case err == nil && res.Moved == 0:
		// Undone already (Back and Undo again), or moved on by another
		// mail program: nothing changed.
		web.Redirect(w, r, withNotice(back, "undonothing"))
	case errors.Is(err, mailproxy.ErrFolderReset):
		web.LogError(r.Context(), r, "undo refused", err)
		web.Redirect(w, r, withNotice(back, "undoreset"))
	case errors.Is(err, mailproxy.ErrNotMoved):
		web.LogError(r.Context(), r, "undo refused", err)
		web.Redirect(w, r, withNotice(back, "notmoved"))
	case err != nil:
		h.fail(w, r, err)
	default:
		if r.PostForm.Get("onmsg") == "1" && res.Moved == 1 && len(res.IDs) == 1 && !strings.ContainsAny(res.IDs[0], ",:") {
			back = base.MessageURL(to, res.IDs[0], 0)
		}
		web.Redirect(w, r, withNotice(back, "undone"))
	}
}
