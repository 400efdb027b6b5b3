// Package mailproxy is the contract between thumbmail's pages and the
// user's mail server: a Session per signed-in user, whatever the protocol;
// the Backend that makes Sessions; Caps, which say what the protocol can do;
// the typed errors that handlers turn into pages; the view types (folders,
// list rows, messages); Credentials and upstream URLs; the observer hook.
// It holds no implementation and imports only the standard library.
//
// The rooms that implement it:
//   - mailproxy/message reads mail: headers, encoded words, addresses,
//     dates, MIME parameters, charsets, transfer encodings, the part
//     walker, parsing into Message, plain text, HTML sanitizing;
//   - mailproxy/send writes mail (compose, MIME out) and submits it (SMTP);
//   - mailproxy/imapmail is the IMAP backend (the connection pool);
//   - mailproxy/pop3mail is the POP3 backend, over the wire client in
//     mailproxy/pop3.
//
// Handlers import this package, message and send; backends are wired in
// cmd and never imported by handlers.
package mailproxy

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Typed sentinel errors. Handlers map them to pages; the wrapped upstream
// error text is for logs only and must never reach a page.
var (
	// ErrAuth means the server refused the credentials.
	ErrAuth = errors.New("mailproxy: authentication failed")
	// ErrNotFound means the folder, message or part does not exist (any more).
	ErrNotFound = errors.New("mailproxy: not found")
	// ErrUnsupported means the protocol or server cannot do what was asked.
	ErrUnsupported = errors.New("mailproxy: not supported")
	// ErrSessionExpired means the session's credentials are gone.
	ErrSessionExpired = errors.New("mailproxy: session expired")
	// ErrUnavailable means the mail server could not be reached or failed.
	ErrUnavailable = errors.New("mailproxy: mail server unavailable")
	// ErrBusy means a POP3 maildrop is locked by another client.
	ErrBusy = errors.New("mailproxy: mailbox busy")
	// ErrFolderReset means ids or a page anchor belong to an older
	// UIDVALIDITY of the folder: the server renumbered it, so they no
	// longer name the same messages (RFC 9051 §2.3.1.1).
	ErrFolderReset = errors.New("mailproxy: folder was reset by the server")
	// ErrNotMoved means the server refused to copy the messages (target
	// gone, over quota...): nothing was changed.
	ErrNotMoved = errors.New("mailproxy: messages not moved")
	// ErrTooManyConnections means the per-user connection cap is reached
	// and no connection became free in time.
	ErrTooManyConnections = errors.New("mailproxy: too many connections for this user")
	// ErrLoginStalled comes with ErrUnavailable: the server greeted but
	// did not answer the login within the login timeout. Servers delay
	// failed logins more each time (Dovecot up to 15 s and more), so this
	// is most often a wrong password refused slowly: sign-in limiters
	// count it as a failed attempt.
	ErrLoginStalled = errors.New("mailproxy: the mail server did not answer the login in time")
)

// Caps tells templates which controls the session's protocol supports.
type Caps struct {
	Folders bool // more than one folder
	Flags   bool // server-side \Seen, \Flagged, \Answered
	Move    bool // move between folders
	Search  bool // server-side search (the search box)
	// Collect is POP3's classic mode: messages read are deleted from
	// the server (offered at sign-in; see ViewOptions.Collect).
	Collect bool
	// Delete: messages can be deleted for good at once (POP3); the
	// session implements Deleter. IMAP moves to Trash instead.
	Delete bool
	// Files: the server keeps copies of sent mail and drafts and marks
	// answered messages (IMAP); the session implements Filer.
	Files bool
	// Raw: whole stored messages can be read (IMAP), to forward one as an
	// attachment; the session implements RawReader.
	Raw bool
}

// DeleterOf, FilerOf and RawReaderOf give a session's optional side when
// its Caps say it has one, and nil otherwise: what a session can do is
// said by Caps alone, and these are the only type assertions on it.
func DeleterOf(s Session) Deleter {
	if d, ok := s.(Deleter); ok && s.Caps().Delete {
		return d
	}
	return nil
}

// FilerOf: see DeleterOf.
func FilerOf(s Session) Filer {
	if f, ok := s.(Filer); ok && s.Caps().Files {
		return f
	}
	return nil
}

// RawReaderOf: see DeleterOf.
func RawReaderOf(s Session) RawReader {
	if r, ok := s.(RawReader); ok && s.Caps().Raw {
		return r
	}
	return nil
}

// Session is one logged-in user's view of their mail, whatever the
// protocol. Implementations serialise their own use of the upstream
// connection: any method may be called from concurrent requests.
// Message ids are opaque strings (IMAP: "UIDVALIDITY-UID").
type Session interface {
	// Caps reports what the protocol supports.
	Caps() Caps
	// Folders lists every folder with counts, INBOX and special-use
	// folders first, then the rest in tree order.
	Folders(ctx context.Context) ([]Folder, error)
	// List returns one page of a folder, newest first.
	List(ctx context.Context, folder string, q ListQuery) (*MessagePage, error)
	// Message returns a message ready to show and marks it seen.
	Message(ctx context.Context, folder, id string, opts ViewOptions) (*Message, error)
	// Search returns one page of the messages matching q, newest first,
	// in folder or (q.AllFolders) in every selectable folder. q.Text is
	// user input: implementations clean it (CleanQuery) and must never let
	// it become protocol syntax. An empty query gives an empty page.
	// Sessions that cannot search return ErrUnsupported (and say so with
	// Caps().Search = false).
	Search(ctx context.Context, folder string, q SearchQuery) (*MessagePage, error)
	// Part streams one body part (an attachment) decoded to w.
	Part(ctx context.Context, folder, id, part string, w PartWriter) error
	// SetFlags adds (on) or removes (!on) flag on the messages ids of
	// folder, silently (no FETCH echo needed). Ids of an older UIDVALIDITY
	// give ErrFolderReset and change nothing. ErrUnsupported when the
	// protocol has no server-side flags (POP3).
	SetFlags(ctx context.Context, folder string, ids []string, flag Flag, on bool) error
	// SpecialFolder names the folder with special use use ("trash",
	// "archive", "junk"): SPECIAL-USE first, else a common name.
	// ErrNotFound when the server has none; ErrUnsupported for POP3.
	SpecialFolder(ctx context.Context, use string) (string, error)
	// Move moves ids from folder to the folder to and reports what an
	// undo needs. It must never lose or duplicate a message: either every
	// message is in to (and gone from folder, or, without UIDPLUS, still
	// in folder but flagged \Deleted: see MoveResult.KeptDeleted) or,
	// when the copy fails, nothing changed and the error wraps
	// ErrNotMoved. ErrUnsupported for POP3.
	Move(ctx context.Context, folder string, ids []string, to string) (*MoveResult, error)
	// Expunge removes ids from folder for good (used inside Trash, after
	// the user confirmed). Only those messages: it is ErrUnsupported on a
	// server without UIDPLUS, where EXPUNGE would also remove other
	// messages flagged \Deleted.
	Expunge(ctx context.Context, folder string, ids []string) error
	// Close logs out and releases the upstream connection.
	Close() error
}

// Flag is a message flag a user can set or clear.
type Flag string

// The flags a user can set from the pages (RFC 9051 §2.3.2).
const (
	FlagSeen    Flag = `\Seen`
	FlagFlagged Flag = `\Flagged`
)

// MoveResult is what Move did, and what undoing it needs.
type MoveResult struct {
	From  string // the source folder
	To    string // the target folder
	Moved int    // messages moved; 0 when none of them was still in From
	// IDs name the moved messages in To (compact: one id may stand for
	// a set). Empty when the server did not report the new UIDs (no
	// UIDPLUS): then there is no undo.
	IDs []string
	// KeptDeleted is set when the server cannot expunge single messages
	// (no UIDPLUS): the originals stay in From flagged \Deleted.
	KeptDeleted bool
}

// Folder is one mailbox in the folder list.
type Folder struct {
	Name     string // full name, decoded to UTF-8
	Display  string // last path element, for showing
	Depth    int    // nesting depth, 0 for top level
	Special  string // "inbox", "sent", "drafts", "trash", "junk", "archive" or ""
	Unread   int
	Total    int
	NoSelect bool // a pure container that cannot be opened
}

// ListQuery picks one page of a folder.
type ListQuery struct {
	Page     int    // 1 = newest
	PageSize int    // messages per page
	Anchor   uint32 // highest UID the user has seen listed; newer mail is left out so pages stay stable. 0 = now.
	// Validity is the UIDVALIDITY Anchor, Before and After belong to;
	// when the folder's differs, List fails with ErrFolderReset. 0 = any.
	Validity uint32
	// Before asks for the page of messages just older than this UID (the
	// oldest one shown on the previous page), After for those just newer:
	// pages then neither skip nor repeat messages while other clients
	// expunge. 0 = use Page.
	Before, After uint32
}

// SearchQuery picks one page of search results.
type SearchQuery struct {
	Text       string // what the user typed; matched against sender, recipients, subject and body
	AllFolders bool   // search every selectable folder instead of one
	Page       int    // 1 = newest
	PageSize   int    // results per page
	// Anchor is the highest UID of the first results page (one folder
	// only): later mail is left out so pages stay stable. 0 = now.
	Anchor uint32
	// Below continues a search of a big folder that stopped early: only
	// messages with lower UIDs are searched (MessagePage.Rest). 0 = all.
	Below uint32
}

// MessagePage is one page of a folder listing.
type MessagePage struct {
	Folder        string
	FolderDisplay string // the folder's last path element, "Inbox" for INBOX
	Page          int
	PageSize      int
	Pages         int
	Total         int    // messages in the listing (as of Anchor)
	First         int    // 1-based index of the first row shown, for "1–50 of 2,001"
	Last          int    // index of the last row shown
	Unread        int    // unread messages in the folder
	Anchor        uint32 // the anchor to carry in paging links
	Validity      uint32 // the folder's UIDVALIDITY, for paging links
	// OldestUID and NewestUID are the UIDs of the last and first rows, for
	// the Older (Before) and Newer (After) links.
	OldestUID, NewestUID uint32
	Newer                int // messages that arrived after Anchor (not shown)
	Messages             []Summary

	// Search results only.
	Query      string // the cleaned query the results are for; "" for a folder listing
	AllFolders bool   // the results come from every folder (each row's Folder says which)
	Approx     bool   // the server could not search for some characters; results match the rest
	Capped     bool   // not every folder or result could be searched or paged (bounds reached)
	// More is set when a big folder's search stopped before its oldest
	// messages (time budget): Total counts only what was found so far.
	More     bool
	Searched int    // messages searched so far when More
	Below    uint32 // the query's Below, carried in paging links
	Rest     uint32 // when More: search below this UID for older results
}

// Summary is one row of a message list.
type Summary struct {
	ID         string
	Folder     string // the message's folder; set on search results (rows of an all-folders search differ)
	From       Address
	Subject    string
	Date       time.Time
	Size       int64
	Preview    string
	Seen       bool
	Flagged    bool
	Answered   bool
	Attachment bool
	// Deleted: flagged \Deleted but still here (a move on a server
	// without UIDPLUS leaves the originals so).
	Deleted bool
}

// Address is a decoded mailbox.
type Address struct {
	Name  string
	Email string
}

// Domain is the part of the address after the last "@", or "".
func (a Address) Domain() string { return hostOf(a.Email) }

// String gives the display name, or the address when there is none.
func (a Address) String() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Email
}

// ViewOptions changes how a message is rendered.
type ViewOptions struct {
	RemoteImages bool // let remote images through the sanitizer
	// PartURL gives the URL at which a part of this message is served,
	// for cid: images in HTML mail; nil drops them.
	PartURL func(part string) string
	// Collect is the user's "collect and delete" choice on a POP3
	// account: the message shown is deleted from the server (DELE, then
	// QUIT) the next time the session lists the folder, so attachments
	// can still be downloaded meanwhile. IMAP ignores it.
	Collect bool
	// Peek shows the message without changing anything: \Seen stays as
	// it is and a POP3 message is not marked for collecting (a HEAD
	// request, a link preview).
	Peek bool
}

// Message is a message ready to show.
type Message struct {
	ID            string
	Folder        string
	FolderDisplay string
	Subject       string
	From          []Address
	ReplyTo       []Address
	To            []Address
	Cc            []Address
	// Bcc is only ever in the user's own copies (Sent, Drafts).
	Bcc  []Address
	Date time.Time

	MessageID  string
	InReplyTo  string
	References []string

	Seen     bool
	Flagged  bool
	Answered bool
	// Deleted is set when the message is flagged \Deleted (moved away by
	// a server without UIDPLUS, or by another program) and awaits expunge.
	Deleted bool
	// Keywords are the message's keywords (user labels) as the server
	// reports them, at most 20.
	Keywords []string

	Body        Body
	Attachments []Attachment
	// Problems says, in plain words, what could not be shown
	// ("a part uses the unknown charset x-foo; shown as best we could").
	Problems []string

	PrevID string // the next older message in the folder, or ""
	NextID string // the next newer message in the folder, or ""

	// Thread is the message's conversation in its folder, in thread
	// order, the message itself included (Current); nil when the server
	// cannot thread (no THREAD=REFERENCES) or the message stands alone.
	Thread []ThreadItem
}

// ThreadItem is one message of a conversation.
type ThreadItem struct {
	ID      string
	From    Address
	Subject string
	Date    time.Time
	Depth   int  // reply depth in the thread, 0 for the first message
	Current bool // the message being shown
}

// Body is the shown text of a message: exactly one of Text and HTML is set.
type Body struct {
	Text string // plain text, not escaped (templates escape it)
	HTML string // sanitized HTML, safe to embed
	// RemoteBlocked is set when the sanitizer removed remote images or
	// other remote loads that ViewOptions.RemoteImages would allow.
	RemoteBlocked bool
}

// Attachment is a downloadable part.
type Attachment struct {
	Part     string // IMAP section path, e.g. "2" or "1.3"
	Name     string // decoded file name, never empty
	Type     string // lower-case media type, e.g. "application/pdf"
	Size     int64  // decoded size estimate in bytes
	Inline   bool   // Content-Disposition inline (e.g. cid: images)
	CID      string // Content-ID without angle brackets
	Encoding string // transfer encoding, lower case
}

// PartWriter receives a part download: Begin is called once, with the
// part's metadata, before any body bytes are written.
type PartWriter interface {
	io.Writer
	Begin(a Attachment)
}

// Backend makes Sessions for one upstream protocol: the IMAP Pool or the
// POP3 backend. Implementations keep live connections per session id and
// never keep credentials: each call brings them.
type Backend interface {
	// Login checks creds against the server and may keep the connection
	// for the session id. ErrAuth means the credentials were refused.
	Login(ctx context.Context, id string, creds Credentials) error
	// Session returns the session for id, bound to creds; no I/O.
	Session(id string, creds Credentials) Session
	// Logout ends the session's upstream use and forgets it.
	Logout(id string)
	// Caps is what every session of this backend supports, known before
	// anyone signs in (the sign-in page's options).
	Caps() Caps
	// Close ends everything (at shutdown).
	Close()
}

// Credentials are what a session needs to (re)connect upstream. They live
// sealed in the session store; handlers unseal them per request and hand
// them to the pool, which does not keep them.
type Credentials struct {
	Username string
	Password string
	// Servers are the account's own servers (see Servers); nil means the
	// backend's pinned upstream.
	Servers *Servers
}

// Filer is what a session offers around sending when its server keeps
// folders (IMAP): a copy in Sent, drafts, the \Answered mark. POP3
// sessions do not implement it.
type Filer interface {
	// SaveCopy APPENDs raw (RFC 5322, CRLF) to the special-use folder
	// use ("sent" or "drafts"), \Seen, and \Draft for drafts. It returns
	// the folder and the new message's id ("" when the server does not
	// say, without UIDPLUS). ErrNotFound when there is no such folder.
	SaveCopy(ctx context.Context, use string, raw []byte) (folder, id string, err error)
	// MarkAnswered sets \Answered on a message.
	MarkAnswered(ctx context.Context, folder, id string) error
	// RemoveDraft deletes a saved draft for good.
	RemoveDraft(ctx context.Context, folder, id string) error
	// SpecialFolder names the folder with special use use ("drafts",
	// "sent"); ErrNotFound when there is none.
	SpecialFolder(ctx context.Context, use string) (string, error)
}

// RawReader is a session that can fetch a whole message as it is stored
// (IMAP), for forwarding it as an attachment.
type RawReader interface {
	// Raw returns the message's bytes (RFC 5322); ErrUnsupported when it
	// is larger than max bytes.
	Raw(ctx context.Context, folder, id string, max int64) ([]byte, error)
}

// Deleter is implemented by Sessions that can delete messages. For POP3
// deleting commits at once (DELE, then QUIT: RFC 1939 §6) and cannot be
// undone.
type Deleter interface {
	// Delete removes the messages ids from folder. Ids that no longer
	// exist are skipped; ErrNotFound means none of them existed.
	Delete(ctx context.Context, folder string, ids []string) error
}

// ErrBadInput means what the user typed cannot go into a message: a
// control character in a header, an address that does not parse. Its
// wrapping text names the field in plain words and is safe to show.
var ErrBadInput = errors.New("mailproxy: bad input")

// hostOf is the domain of an address, "" when it has none.
func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
