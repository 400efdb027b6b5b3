package handlers

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// folderParam decodes the {folder} URL segment.
func folderParam(r *http.Request) (string, error) {
	name, ok := templates.DecodeFolder(chi.URLParam(r, "folder"))
	if !ok {
		return "", fmt.Errorf("%w: bad folder segment", mailproxy.ErrNotFound)
	}
	return name, nil
}

// queryInt reads a positive integer query parameter, def when absent or bad.
func queryInt(r *http.Request, key string, def int) int {
	n, err := strconv.Atoi(r.URL.Query().Get(key))
	if err != nil || n < 1 {
		return def
	}
	return n
}

// listMessages shows one page of a folder, newest first (?page=N, 1 =
// newest; ?top=UID keeps later pages stable while new mail arrives).
func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	uint32Param := func(key string) uint32 {
		n, _ := strconv.ParseUint(q.Get(key), 10, 32)
		return uint32(n)
	}
	page, err := us.mail.List(r.Context(), folder, mailproxy.ListQuery{
		Page:     queryInt(r, "page", 1),
		PageSize: h.cfg.PageSize,
		Anchor:   uint32Param("top"),
		Validity: uint32Param("v"),
		Before:   uint32Param("before"),
		After:    uint32Param("after"),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := h.base(r, page.FolderDisplay)
	b.Folder, b.Unread = folder, page.Unread
	web.Render(w, r, http.StatusOK, templates.List(b, templates.ListPage{Page: page, Clock: h.clock(), InJunk: h.isSpecial(r, folder, "junk")}))
}

// isSpecial tells whether folder is the session's special-use folder use
// (cached per connection by mailproxy, so cheap after the first ask).
func (h *Handler) isSpecial(r *http.Request, folder, use string) bool {
	us := session(r)
	if !us.mail.Caps().Move {
		return false
	}
	name, err := us.mail.SpecialFolder(r.Context(), use)
	return err == nil && name == folder
}
