package message

import (
	"bufio"
	"io"
	"regexp"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// ParseMessage and the choice of the body to show.

// maxBodyText bounds the decoded bytes kept of one text part.
const maxBodyText = 4 << 20

// ParseMessage parses a raw message (RFC 5322 and MIME) tolerantly into a
// Message ready to show: for POP3, and for IMAP servers whose
// BODYSTRUCTURE cannot be used. It reads at most maxBytes (64 MiB when
// maxBytes <= 0) and says so in Problems when the message is longer.
// Damaged header lines are skipped, a multipart without a boundary is
// shown as text, a missing closing boundary keeps the parts found, and a
// wrong boundary is guessed from the body. The body is the text/plain
// alternative when there is one, else the HTML, sanitized with
// SanitizeHTML (cid: images through cidURL, which is only asked about
// Content-IDs the message has; a nil cidURL drops them). Other parts,
// message/rfc822 parts included, are listed in Attachments with IMAP
// section numbers (RFC 3501 §6.4.5) that ExtractPart understands.
// Message ids are given without angle brackets. Problems says in plain
// words what could not be shown. ParseMessage never returns nil.
func ParseMessage(r io.Reader, maxBytes int64, opts mailproxy.ViewOptions, cidURL func(cid string) string) *mailproxy.Message {
	m := &mailproxy.Message{}
	if r == nil {
		return m
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	lr := &limitedReader{r: r, n: maxBytes}
	br := messageReader(lr)

	tb := &treeBuilder{}
	tb.stack = []*pnode{&tb.root}
	w := &walker{enter: tb.enter, leave: tb.leave, leaf: tb.leaf}
	h, err := w.walkMessage(br, "", 0)
	if err != nil {
		lr.failed = true
	}

	m.Subject = DecodeHeaderText(h.Get("subject"))
	from := h.Get("from")
	if strings.TrimSpace(from) == "" {
		from = h.Get("sender")
	}
	m.From = ParseAddressList(from)
	m.ReplyTo = ParseAddressList(h.Get("reply-to"))
	m.To = ParseAddressList(h.Get("to"))
	m.Cc = ParseAddressList(h.Get("cc"))
	m.Bcc = ParseAddressList(h.Get("bcc"))
	m.Date = parseDate(h.Get("date"))
	if m.Date.IsZero() {
		if rcv := h.Get("received"); strings.Contains(rcv, ";") {
			m.Date = parseDate(rcv[strings.LastIndexByte(rcv, ';')+1:])
		}
	}
	if ids := parseMsgIDs(h.Get("message-id")); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	if ids := parseMsgIDs(h.Get("in-reply-to")); len(ids) > 0 {
		m.InReplyTo = ids[0]
	}
	m.References = parseMsgIDs(h.Get("references"))

	var probs problemList
	if lr.truncated {
		probs.add("This message is too large to show in full; its end is missing.")
	}
	if lr.failed {
		probs.add("The message could not be read completely.")
	}
	p := w.probs
	if p.malformedHeader {
		probs.add("Some header lines were damaged and have been left out.")
	}
	if p.noBoundary {
		probs.add("The message structure is damaged (a part has no boundary); it is shown as plain text.")
	}
	if p.sniffedBoundary {
		probs.add("The message structure is damaged (wrong part boundary); it is shown as best we could.")
	}
	if p.noParts {
		probs.add("The message structure is damaged: its parts could not be found, so it is shown as plain text.")
	}
	if p.tooDeep {
		probs.add("The message is nested too deeply to show all of it.")
	}
	if p.tooManyParts {
		probs.add("The message has too many parts; only the first ones are shown.")
	}

	tb.fill(m, opts, cidURL, &probs)
	m.Problems = probs.list
	return m
}

// problemList collects problems once each, in order.
type problemList struct{ list []string }

func (p *problemList) add(s ...string) {
	for _, x := range s {
		dup := false
		for _, y := range p.list {
			if x == y {
				dup = true
				break
			}
		}
		if !dup {
			p.list = append(p.list, x)
		}
	}
}

// limitedReader reads at most n bytes and records whether there was more
// and whether reading failed.
type limitedReader struct {
	r         io.Reader
	n         int64
	truncated bool
	failed    bool
	eof       bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.eof {
		return 0, io.EOF
	}
	if l.n <= 0 {
		var one [1]byte
		if k, _ := io.ReadFull(l.r, one[:]); k > 0 {
			l.truncated = true
		}
		l.eof = true
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if err != nil {
		if err != io.EOF {
			l.failed = true
		}
		l.eof = true
		return n, io.EOF
	}
	return n, nil
}

// pnode is one entity of the tree ParseMessage builds.
type pnode struct {
	e        *entity
	children []*pnode
	size     int64
	text     []byte // transfer-decoded content of text parts
	textCut  bool
	st       transferStatus
	subject  string // of an encapsulated message
}

// treeBuilder collects the tree of a walk.
type treeBuilder struct {
	root   pnode
	stack  []*pnode
	leaves []*pnode
}

func (t *treeBuilder) enter(e *entity) bool {
	n := &pnode{e: e}
	top := t.stack[len(t.stack)-1]
	top.children = append(top.children, n)
	t.stack = append(t.stack, n)
	return true
}

func (t *treeBuilder) leave(*entity) {
	if len(t.stack) > 1 {
		t.stack = t.stack[:len(t.stack)-1]
	}
}

func (t *treeBuilder) leaf(e *entity) (bool, error) {
	n := &pnode{e: e}
	top := t.stack[len(t.stack)-1]
	top.children = append(top.children, n)
	t.leaves = append(t.leaves, n)
	cr := &countingReader{r: newTransferDecoder(e.body, e.enc, &n.st)}
	switch {
	case e.mediaType == "text/plain" || e.mediaType == "text/html":
		n.text, _ = io.ReadAll(io.LimitReader(cr, maxBodyText))
		if len(n.text) == maxBodyText {
			if k, _ := io.Copy(io.Discard, cr); k > 0 {
				n.textCut = true
			}
		}
	case e.isMessage():
		ib := bufio.NewReaderSize(cr, partBufferSize)
		ih, _ := ReadHeader(ib)
		n.subject = DecodeHeaderText(ih.Get("subject"))
		io.Copy(io.Discard, ib)
	default:
		io.Copy(io.Discard, cr)
	}
	n.size = cr.n
	return false, nil
}

// isTop reports whether n is the body of a single-part message.
func (t *treeBuilder) isTop(n *pnode) bool {
	return len(t.root.children) == 1 && t.root.children[0] == n
}

// bodyCandidate reports whether a leaf may be shown as the body: inline
// text/plain or text/html without a file name (the single part of a
// message may have one).
func (t *treeBuilder) bodyCandidate(n *pnode) bool {
	e := n.e
	if n.children != nil || e.mediaType != "text/plain" && e.mediaType != "text/html" {
		return false
	}
	if e.cd.Value == "attachment" {
		return false
	}
	if t.isTop(n) || e.synthetic {
		return true
	}
	return strings.TrimSpace(e.cd.Params["filename"]) == "" && strings.TrimSpace(e.ct.Params["name"]) == ""
}

// selectBody picks the leaf to show in the subtree n: the plain
// alternative of a multipart/alternative (unless it is blank), the root
// part of a multipart/related, the first showable part otherwise.
func (t *treeBuilder) selectBody(n *pnode) *pnode {
	if n.e != nil && !strings.HasPrefix(n.e.mediaType, "multipart/") {
		if t.bodyCandidate(n) {
			return n
		}
		return nil
	}
	if n.e == nil { // the root
		for _, c := range n.children {
			if b := t.selectBody(c); b != nil {
				return b
			}
		}
		return nil
	}
	switch n.e.mediaType {
	case "multipart/alternative":
		var best *pnode
		for _, c := range n.children {
			b := t.selectBody(c)
			if b == nil {
				continue
			}
			if b.e.mediaType == "text/plain" && len(strings.TrimSpace(string(b.text))) > 0 {
				return b
			}
			if best == nil || best.e.mediaType == "text/plain" || b.e.mediaType == "text/html" {
				best = b
			}
		}
		return best
	case "multipart/related":
		if start := strings.Trim(n.e.ct.Params["start"], "<> "); start != "" {
			for _, c := range n.children {
				if c.e.contentID() == start {
					if b := t.selectBody(c); b != nil {
						return b
					}
				}
			}
		}
	}
	for _, c := range n.children {
		if b := t.selectBody(c); b != nil {
			return b
		}
	}
	return nil
}

var metaCharsetRe = regexp.MustCompile(`(?i)<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_\-:.]+)`)

// textOf decodes a text leaf to UTF-8.
func textOf(n *pnode) (string, []string) {
	charset := n.e.ct.Params["charset"]
	if charset == "" && n.e.mediaType == "text/html" {
		head := n.text
		if len(head) > 4096 {
			head = head[:4096]
		}
		if m := metaCharsetRe.FindSubmatch(head); m != nil {
			charset = string(m[1])
		}
	}
	s, probs := finishText(n.text, charset, &n.st)
	if n.textCut {
		probs = append(probs, "The text is too long to show in full; its end is missing.")
	}
	if n.e.mediaType == "text/plain" && strings.EqualFold(n.e.ct.Params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(n.e.ct.Params["delsp"], "yes"))
	}
	return s, probs
}

// fill sets the body and attachments of m from the tree.
func (t *treeBuilder) fill(m *mailproxy.Message, opts mailproxy.ViewOptions, cidURL func(string) string, probs *problemList) {
	body := t.selectBody(&t.root)
	used := map[*pnode]bool{}
	if body != nil {
		used[body] = true
		s, p := textOf(body)
		probs.add(p...)
		if body.e.mediaType == "text/html" {
			safe, blocked := SanitizeHTML(s, SanitizeOptions{RemoteImages: opts.RemoteImages, CIDURL: t.cidLookup(cidURL)})
			if strings.TrimSpace(safe) != "" {
				m.Body = mailproxy.Body{HTML: safe, RemoteBlocked: blocked}
			} else {
				m.Body = mailproxy.Body{Text: strings.TrimSpace(cleanBodyText(HtmlToText(s, false)))}
			}
		} else {
			// Further inline text parts of a mixed message (a list
			// footer, a second note) follow the body.
			after := false
			for _, l := range t.leaves {
				if l == body {
					after = true
					continue
				}
				if after && !l.e.inAlt && l.e.mediaType == "text/plain" && t.bodyCandidate(l) {
					more, p := textOf(l)
					probs.add(p...)
					if strings.TrimSpace(more) != "" {
						s = strings.TrimRight(s, "\n") + "\n\n" + more
					}
					used[l] = true
				}
			}
			m.Body = mailproxy.Body{Text: s}
		}
	}
	for _, l := range t.leaves {
		if used[l] || l.e.synthetic || l.e.inAlt && t.bodyCandidate(l) {
			continue
		}
		a := attachmentOf(l.e, l.subject, l.size)
		if l.st.badB64 {
			probs.add("The attachment \"" + a.Name + "\" was damaged in transit; it may not open.")
		}
		m.Attachments = append(m.Attachments, a)
	}
}

// cidLookup wraps cidURL so that it is only asked about Content-IDs that
// the message has, matched exactly or else case-insensitively.
func (t *treeBuilder) cidLookup(cidURL func(string) string) func(string) string {
	if cidURL == nil {
		return nil
	}
	cids := map[string]string{}
	for _, l := range t.leaves {
		if cid := l.e.contentID(); cid != "" && InlineImageType(l.e.mediaType) {
			cids[cid] = cid
			if _, ok := cids[strings.ToLower(cid)]; !ok {
				cids[strings.ToLower(cid)] = cid
			}
		}
	}
	return func(cid string) string {
		if c, ok := cids[cid]; ok {
			return cidURL(c)
		}
		if c, ok := cids[strings.ToLower(cid)]; ok {
			return cidURL(c)
		}
		return ""
	}
}
