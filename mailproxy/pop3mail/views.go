package pop3mail

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// pop3Views keeps the last few messages shown in a session, parsed, by
// id: a UIDL names one unchanging message (RFC 1939 §7), so a kept view
// stays right until the message is deleted. An HTML body depends on
// whether remote images were allowed and whether cid: images have a
// PartURL, so it is only reused for the same choices (the gateway's
// PartURL for a message never changes). Bodies over pop3ViewMaxBody are
// not kept.
type pop3Views struct {
	entries []pop3View // most recent last
}

type pop3View struct {
	id     string
	remote bool // ViewOptions.RemoteImages
	parts  bool // ViewOptions.PartURL != nil
	m      mailproxy.Message
}

// get returns a copy of the kept view of id for opts, or nil.
func (v *pop3Views) get(id string, opts mailproxy.ViewOptions) *mailproxy.Message {
	for i := len(v.entries) - 1; i >= 0; i-- {
		en := v.entries[i]
		if en.id == id && (en.m.Body.HTML == "" || en.remote == opts.RemoteImages && en.parts == (opts.PartURL != nil)) {
			m := en.m
			return &m
		}
	}
	return nil
}

func (v *pop3Views) put(id string, opts mailproxy.ViewOptions, m *mailproxy.Message) {
	if len(m.Body.Text)+len(m.Body.HTML) > pop3ViewMaxBody {
		return
	}
	v.remove(id)
	if len(v.entries) >= pop3ViewsKept {
		v.entries = slices.Delete(v.entries, 0, 1)
	}
	v.entries = append(v.entries, pop3View{id: id, remote: opts.RemoteImages, parts: opts.PartURL != nil, m: *m})
}

func (v *pop3Views) remove(id string) {
	v.entries = slices.DeleteFunc(v.entries, func(en pop3View) bool { return en.id == id })
}

// pop3CIDMark is the stand-in URL of a cid: image while the message is
// parsed: the part number is only known afterwards.
func pop3CIDMark(nonce string, i int) string {
	return "/.pop3-cid/" + nonce + "/" + strconv.Itoa(i)
}

// pop3ResolveCIDs replaces the stand-in URLs of cid: images with the URLs
// of the parts that carry them.
func pop3ResolveCIDs(body, nonce string, marks []string, atts []mailproxy.Attachment, partURL func(string) string) string {
	// Highest index first, so that mark 1 is not replaced inside mark 10.
	for i := len(marks) - 1; i >= 0; i-- {
		part := ""
		for _, a := range atts {
			if a.CID == marks[i] {
				part = a.Part
				break
			}
		}
		if part == "" {
			for _, a := range atts {
				if strings.EqualFold(a.CID, marks[i]) {
					part = a.Part
					break
				}
			}
		}
		u := ""
		if part != "" {
			u = partURL(part)
		}
		body = strings.ReplaceAll(body, pop3CIDMark(nonce, i), html.EscapeString(u))
	}
	return body
}

func pop3Nonce(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// pop3SizeGuard ends a RETR stream with an error once it has given more
// than left octets.
type pop3SizeGuard struct {
	io.ReadCloser
	left int64
}

func (g *pop3SizeGuard) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, fmt.Errorf("%w: the server sent far more than the message size it announced", mailproxy.ErrUnavailable)
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.ReadCloser.Read(p)
	g.left -= int64(n)
	return n, err
}
