package templates

import (
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/thumbmail/thumbmail/mailproxy"
)

func fromLabel(s mailproxy.Summary) string {
	if l := s.From.String(); l != "" {
		return l
	}
	return "(no sender)"
}

func subjectLabel(s string) string {
	if s == "" {
		return "(no subject)"
	}
	return s
}

// imagesQuery adds images=1 to a message URL that may already carry ?p=.
func imagesQuery(backPage int) string {
	if backPage > 1 {
		return "&images=1"
	}
	return "?images=1"
}

// rowURL is where a list row leads: the message in its own folder (search
// results may come from several), with the list page to return to.
func rowURL(b Base, p ListPage, m mailproxy.Summary) string {
	if p.Search {
		folder := m.Folder
		if folder == "" {
			folder = p.Page.Folder
		}
		return b.MessageURL(folder, m.ID, 0)
	}
	return b.MessageURL(p.Page.Folder, m.ID, p.Page.Page)
}

// pageURL is the link to another page of a listing or of search results.
func pageURL(b Base, p *mailproxy.MessagePage, page int) string {
	if p.Query != "" {
		return b.SearchURL(p.Folder, p.Query, p.AllFolders, page, p.Anchor) + belowQuery(p.Below)
	}
	return b.FolderURL(p.Folder, page, p.Anchor)
}

// maxPagedResults is how many results the pager reaches.
func maxPagedResults(p *mailproxy.MessagePage) int { return p.Pages * p.PageSize }

// depthClass is the indentation step of a conversation row: 0 to 4.
func depthClass(depth int) string {
	return strconv.Itoa(min(max(depth, 0), 4))
}

// belowQuery is the &below= parameter of a continued search, or "".
func belowQuery(below uint32) string {
	if below == 0 {
		return ""
	}
	return "&below=" + strconv.FormatUint(uint64(below), 10)
}

// olderURL continues a search that stopped early, below its lowest UID.
func olderURL(b Base, p *mailproxy.MessagePage) string {
	return b.SearchURL(p.Folder, p.Query, false, 1, 0) + belowQuery(p.Rest)
}

// itoa is strconv.Itoa for form values (no digit grouping).
func itoa(n int) string { return strconv.Itoa(n) }

// messages says "1 message" or "n messages".
func messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return formatInt(n) + " messages"
}

// folderLabel names a search hit's folder: "Inbox" for INBOX, else the
// folder's full name.
func folderLabel(name string) string {
	if name == "INBOX" {
		return "Inbox"
	}
	return name
}

// userKeywords are the keywords worth showing: the user's own labels,
// not the "$"-prefixed ones mail programs keep for themselves ($Junk,
// $Forwarded, $MDNSent, ...).
func userKeywords(kws []string) []string {
	var out []string
	for _, k := range kws {
		if !strings.HasPrefix(k, "$") {
			out = append(out, k)
		}
	}
	return out
}

// nextAfter is the message to show once m is archived or deleted: the
// next older one, or the next newer when m is the oldest; "" for none.
func nextAfter(m *mailproxy.Message) string {
	if m.PrevID != "" {
		return m.PrevID
	}
	return m.NextID
}

// composeHeading is the compose page's <h1>: what kind of message it is.
func composeHeading(p ComposePage) string {
	switch {
	case p.DraftID != "":
		return "Edit draft"
	case p.ReplyID != "":
		return "Reply"
	}
	return "New message"
}

// previewRunes bounds a list row's preview: one line on a phone shows
// about 40 characters, on a desktop about 80; more only weighs the page.
const previewRunes = 72

// shortPreview cuts a preview to previewRunes at a word boundary, with "…".
func shortPreview(s string) string {
	if utf8.RuneCountInString(s) <= previewRunes {
		return s
	}
	r := []rune(s)[:previewRunes]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > previewRunes/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " .,;:-–") + "…"
}

// RowAnchor is the HTML id of a message's row on a list page (its
// subject), the fragment that actions and the message page's way back
// return to: "m" and a 32-bit hash of the id in base 36, a few bytes
// however long the server's ids are (a list page repeats it twice a row).
func RowAnchor(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return "m" + strconv.FormatUint(uint64(h.Sum32()), 36)
}
