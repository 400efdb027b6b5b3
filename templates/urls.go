package templates

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// EncodeFolder turns a folder name into one URL path segment. Plain names
// (letters, digits, '.', '_', '-') stay readable ("/f/INBOX"); anything
// else — '/', spaces, quotes, '&', non-ASCII — is "~" + base64url, so no
// router, proxy or browser can reinterpret it.
func EncodeFolder(name string) string {
	plain := name != "" && name[0] != '~' && name[0] != '.'
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if plain {
		return name
	}
	return "~" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// DecodeFolder reverses EncodeFolder; ok is false for a malformed segment.
func DecodeFolder(seg string) (name string, ok bool) {
	if rest, found := strings.CutPrefix(seg, "~"); found {
		b, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(b) == 0 {
			return "", false
		}
		return string(b), true
	}
	if seg == "" || EncodeFolder(seg) != seg {
		return "", false
	}
	return seg, true
}

// FolderURL is the list page of a folder (page 1 when page <= 1; anchor
// keeps pages stable while new mail arrives).
func (b Base) FolderURL(folder string, page int, anchor uint32) string {
	u := b.URL("/f/" + EncodeFolder(folder))
	q := url.Values{}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
		if anchor > 0 {
			q.Set("top", strconv.FormatUint(uint64(anchor), 10))
		}
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// SearchURL is a page of search results for q in folder (in every folder
// when all is set); anchor keeps later pages stable.
func (b Base) SearchURL(folder, q string, all bool, page int, anchor uint32) string {
	v := url.Values{"q": {q}}
	if all {
		v.Set("all", "1")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
		if anchor > 0 && !all {
			v.Set("top", strconv.FormatUint(uint64(anchor), 10))
		}
	}
	return b.URL("/f/" + EncodeFolder(folder) + "/search?" + v.Encode())
}

// MessageURL is the page of one message; page is the list page to go back to.
func (b Base) MessageURL(folder, id string, page int) string {
	u := b.URL("/f/" + EncodeFolder(folder) + "/" + url.PathEscape(id))
	if page > 1 {
		u += "?p=" + strconv.Itoa(page)
	}
	return u
}

// PartURL is the download URL of one part of a message.
func (b Base) PartURL(folder, id, part string) string {
	return b.URL("/f/" + EncodeFolder(folder) + "/" + url.PathEscape(id) + "/part/" + url.PathEscape(part))
}

// PageURL is the Older (older=true) or Newer link of a list page: the page
// number, the anchor, the folder's UIDVALIDITY and the UID next to the
// page, so the next page neither skips nor repeats messages when other
// clients expunge, and a reset folder is noticed.
func (b Base) PageURL(p *mailproxy.MessagePage, older bool) string {
	page, q := p.Page-1, url.Values{}
	if older {
		page = p.Page + 1
		q.Set("before", strconv.FormatUint(uint64(p.OldestUID), 10))
	} else {
		q.Set("after", strconv.FormatUint(uint64(p.NewestUID), 10))
	}
	if page > 1 || older {
		q.Set("page", strconv.Itoa(max(page, 1)))
	}
	if p.Anchor > 0 {
		q.Set("top", strconv.FormatUint(uint64(p.Anchor), 10))
	}
	if p.Validity > 0 {
		q.Set("v", strconv.FormatUint(uint64(p.Validity), 10))
	}
	return b.URL("/f/"+EncodeFolder(p.Folder)) + "?" + q.Encode()
}

// ActURL is the action URL of a folder's list and message bars.
func (b Base) ActURL(folder string) string {
	return b.URL("/f/" + EncodeFolder(folder) + "/act")
}
