package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// The MIME structure walker shared by ParseMessage and ExtractPart. It
// streams: every multipart level (RFC 2046 §5.1) reads the body of its
// parent part line by line, so a part can be handed out as a reader
// without buffering it, and a damaged inner level cannot run past the
// boundary of an outer one. Both callers number parts the same way, as
// IMAP does (RFC 3501 §6.4.5), so a part listed by ParseMessage is found
// again by ExtractPart.

// Limits that keep a hostile message from costing much.
const (
	maxDepth        = 20      // multipart and message/rfc822 nesting
	maxParts        = 1000    // parts walked in one message
	maxPreamble     = 1 << 20 // preamble bytes kept, shown when no part is found
	partBufferSize  = 4 << 10 // read buffer of one part; longer lines are never boundaries
	topBufferSize   = 64 << 10
	defaultMaxBytes = 64 << 20 // ParseMessage's limit when maxBytes <= 0
)

// entity is one MIME entity met by the walker.
type entity struct {
	path      string // IMAP section number
	hdr       Header
	mediaType string // lower case, always "type/subtype"
	ct        MediaParams
	cd        MediaParams
	enc       string        // normalized transfer encoding
	body      *bufio.Reader // the body, still transfer-encoded
	inAlt     bool          // inside a multipart/alternative
	synthetic bool          // a multipart's preamble shown as text
}

// isMessage reports whether e is an encapsulated message.
func (e *entity) isMessage() bool {
	return e.mediaType == "message/rfc822" || e.mediaType == "message/global"
}

// contentID returns the Content-ID without angle brackets.
func (e *entity) contentID() string {
	return strings.Trim(cleanHeaderText(e.hdr.Get("content-id")), "<> \t")
}

// walkProblems are the structural problems a walk ran into.
type walkProblems struct {
	malformedHeader bool
	noBoundary      bool
	sniffedBoundary bool
	noParts         bool
	tooDeep         bool
	tooManyParts    bool
}

// walker walks the MIME tree of a message in order, calling enter and
// leave around the parts of every multipart entity and leaf for every
// other entity. leaf returns descend to walk into a message/rfc822 part;
// an error stops the walk and is returned.
type walker struct {
	enter func(e *entity) bool // false skips the multipart's parts
	leave func(e *entity)
	leaf  func(e *entity) (descend bool, err error)
	parts int
	probs walkProblems
}

// walkMessage walks a message (the top level one, or one inside a
// message/rfc822 part numbered path).
func (w *walker) walkMessage(br *bufio.Reader, path string, depth int) (Header, error) {
	h, prefix := ReadHeader(br)
	if prefix != nil {
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(prefix), br), partBufferSize)
	}
	return h, w.walkEntity(h, br, path, true, depth, "text/plain", false)
}

// walkEntity walks one entity. For a message's own body (isMessage) a
// non-multipart body is numbered path.1, and the parts of a multipart body
// path.1, path.2… (RFC 3501 §6.4.5).
func (w *walker) walkEntity(h Header, body *bufio.Reader, path string, isMessage bool, depth int, defaultType string, inAlt bool) error {
	if h.malformed > 0 {
		w.probs.malformedHeader = true
	}
	e := &entity{hdr: h, body: body, inAlt: inAlt}
	e.ct = ParseMediaHeader(h.Get("content-type"))
	e.cd = ParseMediaHeader(h.Get("content-disposition"))
	e.enc = normalizeEncoding(h.Get("content-transfer-encoding"))
	e.mediaType = e.ct.Value
	switch {
	case !h.has("content-type") || e.mediaType == "":
		e.mediaType = defaultType
	case e.mediaType == "text" || strings.HasPrefix(e.mediaType, "text/") && strings.Count(e.mediaType, "/") > 1:
		e.mediaType = "text/plain"
	case !strings.Contains(e.mediaType, "/") || strings.HasPrefix(e.mediaType, "/") || strings.HasSuffix(e.mediaType, "/"):
		e.mediaType = "application/octet-stream"
	}

	if strings.HasPrefix(e.mediaType, "multipart/") {
		boundary := e.ct.Params["boundary"]
		switch {
		case boundary == "":
			w.probs.noBoundary = true
			e.mediaType = "text/plain"
		case depth >= maxDepth:
			w.probs.tooDeep = true
			e.mediaType = "application/octet-stream"
		default:
			return w.walkMultipart(e, boundary, path, depth)
		}
	}

	e.path = path
	if isMessage {
		e.path = joinPart(path, 1)
	}
	descend, err := w.leaf(e)
	if err != nil || !descend || !e.isMessage() {
		return err
	}
	if depth >= maxDepth {
		w.probs.tooDeep = true
		return nil
	}
	var st transferStatus
	inner := bufio.NewReaderSize(newTransferDecoder(e.body, e.enc, &st), partBufferSize)
	_, err = w.walkMessage(inner, e.path, depth+1)
	return err
}

func (w *walker) walkMultipart(e *entity, boundary, path string, depth int) error {
	e.path = path
	if !w.enter(e) {
		return nil
	}
	childType := "text/plain"
	if e.mediaType == "multipart/digest" {
		childType = "message/rfc822" // RFC 2046 §5.1.5
	}
	alt := e.inAlt || e.mediaType == "multipart/alternative"
	mr := newMultipartReader(e.body, boundary)
	i := 0
	for mr.next() {
		i++
		w.parts++
		if w.parts > maxParts {
			w.probs.tooManyParts = true
			break
		}
		pb := bufio.NewReaderSize(partReader{mr}, partBufferSize)
		ph, prefix := ReadHeader(pb)
		if prefix != nil {
			pb = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(prefix), pb), partBufferSize)
		}
		if err := w.walkEntity(ph, pb, joinPart(path, i), false, depth+1, childType, alt); err != nil {
			return err
		}
	}
	if mr.sniffed {
		w.probs.sniffedBoundary = true
	}
	if i == 0 {
		// No part at all: show what there is as text.
		w.probs.noParts = true
		if len(bytes.TrimSpace(mr.preamble)) > 0 {
			t := &entity{
				path:      joinPart(path, 1),
				mediaType: "text/plain",
				ct:        MediaParams{Value: "text/plain", Params: map[string]string{"charset": e.ct.Params["charset"]}},
				enc:       e.enc,
				body:      bufio.NewReader(bytes.NewReader(mr.preamble)),
				inAlt:     e.inAlt,
				synthetic: true,
			}
			if _, err := w.leaf(t); err != nil {
				return err
			}
		}
	}
	w.leave(e)
	return nil
}

// messageReader prepares a raw message for the walker: it converts
// old-Mac CR-only line breaks to LF when the start of the message has no
// LF at all.
func messageReader(r io.Reader) *bufio.Reader {
	br := bufio.NewReaderSize(r, topBufferSize)
	peek, _ := br.Peek(8192)
	if bytes.IndexByte(peek, '\n') < 0 && bytes.IndexByte(peek, '\r') >= 0 {
		return bufio.NewReaderSize(crToLF{br}, topBufferSize)
	}
	return br
}

// crToLF turns every CR into LF.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := range p[:n] {
		if p[i] == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// attachmentName returns a safe display and download name for a part: the
// Content-Disposition filename (RFC 2231 or RFC 2047 encoded), else the
// Content-Type name, else the subject of an encapsulated message, else
// "attachment-N" with an extension from the media type.
func attachmentName(e *entity, subject string) string {
	name := e.cd.Params["filename"]
	if strings.TrimSpace(name) == "" {
		name = e.ct.Params["name"]
	}
	name = cleanFileName(DecodeHeaderText(name))
	if name == "" && e.isMessage() && subject != "" {
		name = cleanFileName(subject)
		if name != "" {
			name = truncateRunes(name, 120) + ".eml"
		}
	}
	if name == "" {
		name = "attachment-" + strings.ReplaceAll(e.path, ".", "-") + extensionFor(e.mediaType)
	}
	return name
}

// cleanFileName keeps the last path element of a file name and removes
// characters that are unsafe in a file name or a header, and the
// bidirectional controls that disguise one (an "exe" shown as "pdf").
func cleanFileName(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f || IsBidiControl(r):
			return -1
		case strings.ContainsRune(`"*:<>?|`, r):
			return '_'
		}
		return r
	}, s)
	s = strings.Trim(strings.TrimSpace(s), ".")
	return truncateRunes(strings.TrimSpace(s), 200)
}

// Extensions for nameless parts. A fixed table, not the system's MIME
// database, so names are the same on every machine.
var typeExtensions = map[string]string{
	"text/plain":                    ".txt",
	"text/html":                     ".html",
	"text/calendar":                 ".ics",
	"text/csv":                      ".csv",
	"text/vcard":                    ".vcf",
	"text/x-vcard":                  ".vcf",
	"text/xml":                      ".xml",
	"text/enriched":                 ".txt",
	"text/rfc822-headers":           ".txt",
	"message/rfc822":                ".eml",
	"message/global":                ".eml",
	"message/delivery-status":       ".txt",
	"image/png":                     ".png",
	"image/jpeg":                    ".jpg",
	"image/jpg":                     ".jpg",
	"image/pjpeg":                   ".jpg",
	"image/gif":                     ".gif",
	"image/webp":                    ".webp",
	"image/bmp":                     ".bmp",
	"image/tiff":                    ".tif",
	"image/svg+xml":                 ".svg",
	"image/heic":                    ".heic",
	"audio/mpeg":                    ".mp3",
	"audio/ogg":                     ".ogg",
	"audio/wav":                     ".wav",
	"video/mp4":                     ".mp4",
	"video/quicktime":               ".mov",
	"application/pdf":               ".pdf",
	"application/zip":               ".zip",
	"application/gzip":              ".gz",
	"application/x-gzip":            ".gz",
	"application/json":              ".json",
	"application/xml":               ".xml",
	"application/ics":               ".ics",
	"application/msword":            ".doc",
	"application/vnd.ms-excel":      ".xls",
	"application/rtf":               ".rtf",
	"application/pgp-keys":          ".asc",
	"application/pgp-signature":     ".asc",
	"application/pgp-encrypted":     ".pgp",
	"application/pkcs7-signature":   ".p7s",
	"application/x-pkcs7-signature": ".p7s",
	"application/pkcs7-mime":        ".p7m",
	"application/vnd.ms-powerpoint": ".ppt",
	"application/vnd.oasis.opendocument.text":                                   ".odt",
	"application/vnd.oasis.opendocument.spreadsheet":                            ".ods",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}

// extensionFor returns a file extension for a media type, ".bin" when
// unknown.
func extensionFor(mediaType string) string {
	if ext, ok := typeExtensions[mediaType]; ok {
		return ext
	}
	if strings.HasPrefix(mediaType, "text/") {
		return ".txt"
	}
	return ".bin"
}

// attachmentOf describes a leaf entity as an Attachment.
func attachmentOf(e *entity, subject string, size int64) mailproxy.Attachment {
	enc := e.enc
	if enc == "" {
		enc = "7bit"
	}
	cid := e.contentID()
	return mailproxy.Attachment{
		Part:     e.path,
		Name:     attachmentName(e, subject),
		Type:     e.mediaType,
		Size:     size,
		Inline:   e.cd.Value == "inline" || (e.cd.Value == "" && cid != ""),
		CID:      cid,
		Encoding: enc,
	}
}

// validPartPath reports whether part is an IMAP section number such as
// "1" or "2.1.3".
func validPartPath(part string) bool {
	if part == "" || len(part) > 200 {
		return false
	}
	for _, f := range strings.Split(part, ".") {
		if f == "" || len(f) > 6 || f[0] == '0' {
			return false
		}
		for _, c := range f {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// errStopWalk stops a walk once ExtractPart found its part.
var errStopWalk = errors.New("mailproxy: part found")

// ExtractPart finds one part of a raw message by its IMAP section number
// (as ParseMessage lists it in Attachment.Part) and returns its metadata
// and a reader of its transfer-decoded content. Nothing is buffered beyond
// a small read buffer: the reader reads on from r, so r must stay open
// until the reader is done. Size in the returned Attachment is 0: it is
// not known before the part is read. Only leaf parts and message/rfc822
// parts can be extracted; ErrNotFound is returned for anything else and
// for a section that does not exist.
func ExtractPart(r io.Reader, part string) (mailproxy.Attachment, io.Reader, error) {
	if !validPartPath(part) {
		return mailproxy.Attachment{}, nil, mailproxy.ErrNotFound
	}
	var (
		found mailproxy.Attachment
		rd    io.Reader
	)
	w := &walker{
		enter: func(e *entity) bool {
			return e.path == "" || strings.HasPrefix(part, e.path+".")
		},
		leave: func(*entity) {},
		leaf: func(e *entity) (bool, error) {
			if e.synthetic {
				return false, nil
			}
			if e.path == part {
				var st transferStatus
				dec := newTransferDecoder(e.body, e.enc, &st)
				subject := ""
				if e.isMessage() {
					br := bufio.NewReaderSize(dec, topBufferSize)
					subject = peekSubject(br)
					dec = br
				}
				found = attachmentOf(e, subject, 0)
				rd = dec
				return false, errStopWalk
			}
			return e.isMessage() && strings.HasPrefix(part, e.path+"."), nil
		},
	}
	_, err := w.walkMessage(messageReader(r), "", 0)
	if err == errStopWalk && rd != nil {
		return found, rd, nil
	}
	if err != nil && err != errStopWalk {
		return mailproxy.Attachment{}, nil, err
	}
	return mailproxy.Attachment{}, nil, mailproxy.ErrNotFound
}

// peekSubject reads the Subject of an encapsulated message from the start
// of br without consuming anything.
func peekSubject(br *bufio.Reader) string {
	peek, _ := br.Peek(br.Size())
	h, _ := ReadHeader(bufio.NewReader(bytes.NewReader(peek)))
	return DecodeHeaderText(h.Get("subject"))
}
