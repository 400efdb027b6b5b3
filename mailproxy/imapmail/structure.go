package imapmail

import (
	"fmt"
	"mime"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// bodyPlan is what a BODYSTRUCTURE tells us to fetch and list.
type bodyPlan struct {
	body *partRef // the part to show, nil when there is none
	atts []mailproxy.Attachment
	cids map[string]string // Content-ID → section
}

type partRef struct {
	section, mediaType, encoding, charset string
	size                                  int64
}

// structureUnusable tells a BODYSTRUCTURE that hides the text our own
// parser would find: a part of no type at all (Content-Type garbage,
// which RFC 2045 §5.2 makes text/plain), or a multipart whose parts are
// all empty (Dovecot's answer when the declared boundary never appears
// in the body, or no boundary is given). Such mail is fetched whole
// (bounded) and parsed here, which shows what can be shown.
func structureUnusable(bs imap.BodyStructure) bool {
	untyped, content := false, false
	bs.Walk(func(path []int, part imap.BodyStructure) bool {
		if sp, ok := part.(*imap.BodyStructureSinglePart); ok {
			untyped = untyped || sp.Type == "" || sp.Subtype == ""
			content = content || sp.Size > 0
		}
		return !untyped
	})
	_, multi := bs.(*imap.BodyStructureMultiPart)
	return untyped || (multi && !content)
}

// planBody picks the part to show (text/plain preferred, else text/html;
// in multipart/alternative the other alternatives are skipped) and lists
// the rest as attachments.
func planBody(bs imap.BodyStructure) bodyPlan {
	p := bodyPlan{cids: map[string]string{}}
	p.visit(bs, nil)
	return p
}

func (p *bodyPlan) visit(bs imap.BodyStructure, path []int) {
	switch b := bs.(type) {
	case *imap.BodyStructureMultiPart:
		children := make([]int, len(b.Children))
		for i := range children {
			children[i] = i
		}
		if strings.EqualFold(b.Subtype, "alternative") && p.body == nil {
			if i := bestAlternative(b.Children); i >= 0 {
				children = []int{i}
			}
		}
		for _, i := range children {
			p.visit(b.Children[i], append(append([]int(nil), path...), i+1))
		}
	case *imap.BodyStructureSinglePart:
		section := sectionString(path)
		mt := b.MediaType()
		disp := ""
		if d := b.Disposition(); d != nil {
			disp = strings.ToLower(d.Value)
		}
		if p.body == nil && (mt == "text/plain" || mt == "text/html") && disp != "attachment" {
			p.body = &partRef{section: section, mediaType: mt, encoding: strings.ToLower(b.Encoding), charset: b.Params["charset"], size: int64(b.Size)}
			return
		}
		a := mailproxy.Attachment{
			Part:     section,
			Name:     partFilename(b),
			Type:     mt,
			Size:     decodedSize(int64(b.Size), b.Encoding),
			Inline:   disp == "inline",
			CID:      strings.Trim(strings.TrimSpace(b.ID), "<>"),
			Encoding: strings.ToLower(b.Encoding),
		}
		if a.Name == "" {
			a.Name = fallbackName(section, mt)
		}
		if a.CID != "" && message.InlineImageType(mt) {
			p.cids[a.CID] = section
		}
		p.atts = append(p.atts, a)
	}
}

// bestAlternative prefers text/plain, then anything holding HTML.
func bestAlternative(children []imap.BodyStructure) int {
	for i, c := range children {
		if c.MediaType() == "text/plain" {
			return i
		}
	}
	for i, c := range children {
		found := false
		c.Walk(func(_ []int, part imap.BodyStructure) bool {
			if part.MediaType() == "text/html" {
				found = true
			}
			return !found
		})
		if found {
			return i
		}
	}
	return -1
}

// partFilename decodes a part's file name: RFC 2231 (filename*=, with
// continuations) and RFC 2047 encoded words, from Content-Disposition or
// the Content-Type name parameter.
func partFilename(b *imap.BodyStructureSinglePart) string {
	var dparams map[string]string
	if d := b.Disposition(); d != nil {
		dparams = d.Params
	}
	for _, params := range []map[string]string{dparams, b.Params} {
		for _, key := range []string{"filename", "name"} {
			if v := paramValue(params, key); v != "" {
				return cleanFilename(v)
			}
		}
	}
	return ""
}

// paramValue reads key from MIME parameters that may be split or encoded
// per RFC 2231 in any charset (mime.ParseMediaType knows only UTF-8 and
// ASCII there: a Latin-1 name was lost), by letting parseMediaHeader
// reassemble them.
func paramValue(params map[string]string, key string) string {
	if v, ok := params[key]; ok && !strings.Contains(v, "''") {
		return message.DecodeHeaderText(v)
	}
	var b strings.Builder
	b.WriteString("x/x")
	keys := make([]string, 0, len(params))
	for k := range params {
		if k == key || strings.HasPrefix(k, key+"*") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := params[k]
		if strings.HasSuffix(k, "*") {
			fmt.Fprintf(&b, "; %s=%s", k, v)
		} else {
			fmt.Fprintf(&b, "; %s=\"%s\"", k, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v))
		}
	}
	if v := message.ParseMediaHeader(b.String()).Params[key]; v != "" {
		return v
	}
	return message.DecodeHeaderText(params[key])
}

// cleanFilename keeps the last path element and drops control characters
// and bidirectional controls (no "invoice\u202Efdp.exe" shown as a PDF).
func cleanFilename(name string) string {
	name = message.DecodeHeaderText(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || message.IsBidiControl(r) {
			return -1
		}
		return r
	}, name)
	return strings.TrimSpace(name)
}

func fallbackName(section, mediaType string) string {
	ext := ""
	if exts, _ := mime.ExtensionsByType(mediaType); len(exts) > 0 {
		ext = exts[0]
	}
	switch mediaType {
	case "message/rfc822":
		ext = ".eml"
	case "text/plain":
		ext = ".txt"
	}
	return "attachment-" + section + ext
}

func decodedSize(size int64, encoding string) int64 {
	if strings.EqualFold(encoding, "base64") {
		return size * 3 / 4
	}
	return size
}
