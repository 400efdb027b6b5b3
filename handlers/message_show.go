package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// rowAnchor is the fragment of a message's row on its list page.
func rowAnchor(id string) string { return "#" + templates.RowAnchor(id) }

// showMessage shows one message and marks it read. A POP3 user who chose
// "collect and delete" is told the message will be deleted from the
// server on returning to the Inbox (mailproxy does it then). ?images=1 lets remote
// images load for this view only; ?p=N is the list page to go back to.
func (h *Handler) showMessage(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	images := r.URL.Query().Get("images") == "1"
	b := h.base(r, "")
	msg, err := us.mail.Message(r.Context(), folder, id, mailproxy.ViewOptions{
		RemoteImages: images,
		PartURL:      func(part string) string { return b.PartURL(folder, id, part) + "?inline=1" },
		Collect:      us.collect,
		Peek:         web.IsHead(r), // a HEAD (link preview) changes nothing
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b.Title = msg.Subject
	if b.Title == "" {
		b.Title = "(no subject)"
	}
	b.Folder = folder
	if b.Undo != nil {
		b.Undo.OnMessage = true
	}
	back := queryInt(r, "p", 1)
	// Up leads back to the list page the message came from, at its row.
	b.Up = &templates.Link{URL: b.FolderURL(folder, back, 0) + rowAnchor(id), Label: "‹ " + msg.FolderDisplay}
	if images {
		web.AllowRemoteImages(w)
	}
	web.Render(w, r, http.StatusOK, templates.Message(b, templates.MessagePage{
		Msg: msg, Images: images, Clock: h.clock(), BackPage: back,
		Quick:  h.quickReplyBox(us),
		InJunk: h.isSpecial(r, folder, "junk"),
		Draft:  h.inDrafts(r.Context(), us, folder),
	}))
}
