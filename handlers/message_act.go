package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// flagActions are the list and message buttons that set or clear a flag,
// with the notice each ends with.
var flagActions = map[string]struct {
	flag   mailproxy.Flag
	on     bool
	notice string
}{
	"read":   {mailproxy.FlagSeen, true, "markedread"},
	"unread": {mailproxy.FlagSeen, false, "markedunread"},
	"star":   {mailproxy.FlagFlagged, true, "starred"},
	"unstar": {mailproxy.FlagFlagged, false, "unstarred"},
}

// moveActions are the buttons that move to a special-use folder: the
// folder's use, the notice on success and the notice when it is missing.
var moveActions = map[string]struct{ use, notice, missing string }{
	"archive": {"archive", "archived", "noarchive"},
	"delete":  {"trash", "trashed", "notrash"},
	"junk":    {"junk", "junked", "nojunk"},
	"notjunk": {"inbox", "notjunk", ""},
}

// errTooMany marks a form with more than maxBulk ids.
var errTooMany = errors.New("too many ids")

// formIDs reads the ticked ids (id=...) of a parsed form, at most maxBulk.
func formIDs(vals []string) ([]string, error) {
	var ids []string
	for _, id := range vals {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxBulk {
		return nil, errTooMany
	}
	return ids, nil
}

// actOnMessages runs one button of the list's or a message's action bar
// (action=archive|delete|junk|notjunk|read|unread|star|unstar|move, or
// moveto with to=FOLDER from the folder picker) on the ids ticked (id=...),
// then answers 303 with a notice. Flag changes from a message (back=msg)
// return to it, except Mark unread, which goes back to the list; from the
// list they return to the same page at the row. Moves from a message go
// on to the message the form names in next, when there is one.
func (h *Handler) actOnMessages(w http.ResponseWriter, r *http.Request) {
	us := session(r)
	folder, err := folderParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	b := h.base(r, "")
	page, _ := strconv.Atoi(r.PostForm.Get("p"))
	list := listBack(b, folder, r.PostForm)
	action := r.PostForm.Get("action")
	ids, err := formIDs(r.PostForm["id"])
	switch {
	case err != nil:
		web.Redirect(w, r, withNotice(list, "toomany"))
		return
	case len(ids) == 0:
		web.Redirect(w, r, withNotice(list, "noneselected"))
		return
	}

	if fa, ok := flagActions[action]; ok {
		if err := us.mail.SetFlags(r.Context(), folder, ids, fa.flag, fa.on); err != nil {
			h.actFailed(w, r, list, err)
			return
		}
		if r.PostForm.Get("back") == "msg" && action != "unread" && len(ids) == 1 {
			web.Redirect(w, r, withNotice(b.MessageURL(folder, ids[0], page), fa.notice))
			return
		}
		// Back to the same list page, at the (first) row acted on.
		web.Redirect(w, r, withNotice(list, fa.notice)+rowAnchor(ids[0]))
		return
	}

	var to, notice string
	switch action {
	case "move":
		q := url.Values{"id": ids}
		if page > 1 {
			q.Set("p", strconv.Itoa(page))
		}
		web.Redirect(w, r, b.URL("/f/"+templates.EncodeFolder(folder)+"/move?"+q.Encode()))
		return
	case "moveto":
		to, notice = r.PostForm.Get("to"), "moved"
	default:
		ma, ok := moveActions[action]
		if !ok {
			h.fail(w, r, fmt.Errorf("%w: action %q", mailproxy.ErrNotFound, action))
			return
		}
		notice = ma.notice
		if ma.use == "inbox" {
			to = "INBOX"
		} else if to, err = us.mail.SpecialFolder(r.Context(), ma.use); errors.Is(err, mailproxy.ErrNotFound) {
			web.Redirect(w, r, withNotice(list, ma.missing))
			return
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
		if action == "delete" && to == folder {
			// Deleting inside Trash is for good: ask first.
			q := url.Values{"id": ids}
			if page > 1 {
				q.Set("p", strconv.Itoa(page))
			}
			web.Redirect(w, r, b.URL("/f/"+templates.EncodeFolder(folder)+"/expunge?"+q.Encode()))
			return
		}
	}
	if to == "" || to == folder {
		web.Redirect(w, r, withNotice(list, "samefolder"))
		return
	}
	res, err := us.mail.Move(r.Context(), folder, ids, to)
	if err != nil {
		h.actFailed(w, r, list, err)
		return
	}
	if res.Moved == 0 {
		web.Redirect(w, r, withNotice(list, "gone"))
		return
	}
	if res.KeptDeleted {
		notice = "keptdeleted"
	}
	// From a message, archive and delete go on to the next message
	// (the form's next), the notice and its Undo shown there.
	target := withNotice(list, notice)
	if next := strings.TrimSpace(r.PostForm.Get("next")); next != "" && r.PostForm.Get("back") == "msg" && !slices.Contains(ids, next) {
		target = withNotice(b.MessageURL(folder, next, page), notice)
	}
	if len(res.IDs) > 0 && undoable[notice] {
		q := url.Values{"u": res.IDs, "uf": {templates.EncodeFolder(res.To)}, "ut": {templates.EncodeFolder(res.From)}}
		q.Set("us", undoSeal(r, q))
		target += "&" + q.Encode()
	}
	web.Redirect(w, r, target)
}

// actFailed answers an action the server refused in a way the user can
// act on with a notice on the page they came from; anything else is
// h.fail's.
func (h *Handler) actFailed(w http.ResponseWriter, r *http.Request, back string, err error) {
	switch {
	case errors.Is(err, mailproxy.ErrNotMoved):
		web.LogError(r.Context(), r, "move refused", err)
		web.Redirect(w, r, withNotice(back, "notmoved"))
	default:
		h.fail(w, r, err)
	}
}

// folderOr is the request's folder, INBOX when the URL names none.
func folderOr(r *http.Request) string {
	if f, err := folderParam(r); err == nil {
		return f
	}
	return "INBOX"
}

// listBack is the list page a form came from (p, top and v fields).
func listBack(b templates.Base, folder string, form url.Values) string {
	page, _ := strconv.Atoi(form.Get("p"))
	top, _ := strconv.ParseUint(form.Get("top"), 10, 32)
	return b.FolderURL(folder, page, uint32(top))
}

// withNotice adds ?n=key (or &n=key) to a local URL.
func withNotice(u, key string) string {
	if strings.Contains(u, "?") {
		return u + "&n=" + key
	}
	return u + "?n=" + key
}

// undoFromQuery reads the Undo offer a move's redirect carries (u, uf,
// ut); nil when it is absent or malformed. The ids stay opaque: mailproxy
// checks them when the undo is posted.
func undoFromQuery(r *http.Request) *templates.Undo {
	q := r.URL.Query()
	if !undoable[q.Get("n")] || len(q["u"]) == 0 || len(q["u"]) > maxBulk || web.CSRFToken(r) == "" {
		return nil
	}
	if !hmac.Equal([]byte(q.Get("us")), []byte(undoSeal(r, q))) {
		return nil // not made by our redirect for this browser
	}
	from, ok1 := templates.DecodeFolder(q.Get("uf"))
	to, ok2 := templates.DecodeFolder(q.Get("ut"))
	if !ok1 || !ok2 {
		return nil
	}
	return &templates.Undo{From: from, To: to, IDs: q["u"]}
}

// undoSeal binds an Undo offer (u, uf, ut) to this browser, keyed by its
// anti-forgery token, so a link made elsewhere cannot show an Undo button
// that would move the user's mail.
func undoSeal(r *http.Request, q url.Values) string {
	mac := hmac.New(sha256.New, []byte(web.CSRFToken(r)))
	mac.Write([]byte("thumbmail undo v1\x00" + q.Get("uf") + "\x00" + q.Get("ut") + "\x00" + strings.Join(q["u"], ",")))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}
