package handlers

import (
	"net/http"
	"strconv"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// searchMessages shows one page of search results (?q=words; ?all=1
// searches every folder; ?page=N, ?top=UID as in the list; ?below=UID
// continues a big folder's search further back). The rows are
// the list's rows, each linking to the message in its own folder.
func (h *Handler) searchMessages(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !us.mail.Caps().Search {
		h.fail(w, r, mailproxy.ErrUnsupported)
		return
	}
	q := r.URL.Query()
	top, _ := strconv.ParseUint(q.Get("top"), 10, 32)
	below, _ := strconv.ParseUint(q.Get("below"), 10, 32)
	page, err := us.mail.Search(r.Context(), folder, mailproxy.SearchQuery{
		Text:       q.Get("q"),
		AllFolders: q.Get("all") == "1",
		Page:       queryInt(r, "page", 1),
		PageSize:   h.cfg.PageSize,
		Anchor:     uint32(top),
		Below:      uint32(below),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := h.base(r, "Search")
	b.Folder = folder
	web.Render(w, r, http.StatusOK, templates.List(b, templates.ListPage{Page: page, Clock: h.clock(), Search: true}))
}
