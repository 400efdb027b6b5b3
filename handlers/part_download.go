package handlers

import (
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// downloadPart streams one attachment from the mail server to the browser
// with constant memory.
func (h *Handler) downloadPart(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pw := &partResponse{w: w, inline: r.URL.Query().Get("inline") == "1"}
	err = us.mail.Part(r.Context(), folder, chi.URLParam(r, "id"), chi.URLParam(r, "part"), pw)
	if err != nil {
		if pw.begun {
			// Headers are gone; all we can do is cut the transfer short so
			// the browser sees a failed download, not a truncated file.
			h.cfg.Logger.Error("download failed midway", "path", r.URL.Path, "err", err)
			panic(http.ErrAbortHandler)
		}
		h.fail(w, r, err)
	}
}

// partResponse sets safe download headers before the first byte.
type partResponse struct {
	w      http.ResponseWriter
	inline bool
	begun  bool
}

// Begin writes the headers for attachment a.
func (p *partResponse) Begin(a mailproxy.Attachment) {
	p.begun = true
	h := p.w.Header()
	ctype := strings.ToLower(a.Type)
	disp := "attachment"
	if p.inline && message.InlineImageType(ctype) {
		// Only raster images (cid: pictures in HTML mail) are ever shown.
		disp = "inline"
	} else if !safeDownloadType(ctype) {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", contentDisposition(disp, a.Name))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	p.w.WriteHeader(http.StatusOK)
}

func (p *partResponse) Write(b []byte) (int, error) { return p.w.Write(b) }

// safeDownloadType tells whether a type may keep its name on download:
// anything a browser could run or render as a page is sent as bytes.
func safeDownloadType(t string) bool {
	if t == "" || strings.ContainsAny(t, " ;,\"\r\n") {
		return false
	}
	switch {
	case strings.Contains(t, "html"), strings.Contains(t, "xml"), strings.Contains(t, "svg"),
		strings.Contains(t, "javascript"), strings.Contains(t, "ecmascript"):
		return false
	case strings.HasPrefix(t, "image/"), strings.HasPrefix(t, "audio/"), strings.HasPrefix(t, "video/"),
		t == "application/pdf", t == "text/plain", t == "text/calendar", t == "text/csv",
		strings.HasPrefix(t, "application/vnd."), t == "application/zip", t == "application/msword",
		t == "message/rfc822":
		return true
	}
	return false
}

// contentDisposition builds the header with an ASCII fallback name and
// the RFC 5987 UTF-8 name.
func contentDisposition(disp, name string) string {
	if name == "" {
		name = "attachment"
	}
	// Characters no file system or shell should see in a name, and no
	// bidirectional controls: "invoice\u202Efdp.exe" would be saved as a
	// program that the file manager shows as "invoiceexe.pdf".
	name = strings.Map(func(r rune) rune {
		switch {
		case message.IsBidiControl(r):
			return -1
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029' || strings.ContainsRune(`"\/<>:|?*`, r):
			return '_'
		}
		return r
	}, name)
	if strings.Trim(name, " .") == "" {
		name = "attachment"
	}
	ascii := strings.Map(func(r rune) rune {
		if r > 0x7e {
			return '_'
		}
		return r
	}, name)
	v := mime.FormatMediaType(disp, map[string]string{"filename": ascii})
	if v == "" {
		v = disp
	}
	if ascii != name {
		v += "; filename*=UTF-8''" + rfc5987Escape(name)
	}
	return v
}

// rfc5987Escape percent-encodes everything outside RFC 5987's attr-char.
func rfc5987Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
