// Package templates holds thumbmail's templ components: the layout, one
// file per page, and the typed data each page renders.
package templates

import (
	"github.com/thumbmail/thumbmail/mailproxy"
)

// Base is what every page needs: title, user, notice, capabilities and
// the base path all links are built from.
type Base struct {
	Title  string // page title, without the product name
	User   string // signed-in user, "" on the login page
	Notice string // one-line notice after an action
	Error  string // one-line error shown at the top
	Caps   mailproxy.Caps
	// CanDelete is set when the session can delete messages for good
	// (POP3); the list then offers select boxes and a Delete button.
	CanDelete bool
	// Collect is set when the POP3 user chose at sign-in to delete
	// messages from the server once read; pages say so where it matters.
	Collect bool
	// CanSend is set when mail can be sent (SMTP configured): the top
	// bar offers Compose.
	CanSend  bool
	BasePath string // "" or e.g. "/mail"; every URL starts with it
	CSSURL   string // content-hashed stylesheet URL, base path included
	Folder   string // current folder, for the top bar
	Unread   int    // unread count of the current folder, for the title
	// Undo, when set, is offered next to the notice: one tap moves the
	// messages back.
	Undo *Undo
	// CSRF is the anti-forgery token every POST form carries in a hidden
	// field (use the CSRFField component inside each form).
	CSRF string
	// IconURL and TouchIconURL are the content-hashed SVG and PNG icons.
	IconURL, TouchIconURL string
	// Up is the top bar's way back (a message leads to its list, at its
	// row); nil means the folder list.
	Up *Link
	// Heading is what the top bar says beside Up when Up is set (a
	// message page leaves it empty: its subject is the <h1> below).
	Heading string
}

// Link is a labelled local URL (base path included).
type Link struct {
	URL, Label string
}

// UpLink is the top bar's way back: b.Up, or the folder list.
func (b Base) UpLink() Link {
	if b.Up != nil {
		return *b.Up
	}
	return Link{URL: b.URL("/folders"), Label: "Folders"}
}

// Where is what the top bar says the page is: the title, or Heading
// on pages with their own way Up.
func (b Base) Where() string {
	if b.Up != nil {
		return b.Heading
	}
	return b.Title
}

// URL prefixes a local path with the base path.
func (b Base) URL(path string) string { return b.BasePath + path }

// FullTitle is the document title: "(3) Inbox · thumbmail".
func (b Base) FullTitle() string {
	t := b.Title
	if b.Unread > 0 {
		t = "(" + formatInt(b.Unread) + ") " + t
	}
	if t == "" {
		return "thumbmail"
	}
	return t + " · thumbmail"
}

// LoginPage is the sign-in form.
type LoginPage struct {
	Username   string
	Next       string // local path to return to after signing in
	Persistent bool
	// POP3 offers the "collect and delete" choice (Collect is its
	// value when the form is shown again).
	POP3    bool
	Collect bool
}

// FoldersPage lists every folder.
type FoldersPage struct {
	Folders []mailproxy.Folder
}

// ListPage is one page of a folder.
type ListPage struct {
	Page  *mailproxy.MessagePage
	Clock Clock
	// Search is set on search results: the rows come from Page.Query
	// (in every folder when Page.AllFolders) and link to their own folder.
	Search bool
	// InJunk is set in the Junk folder (its bar offers "Not junk").
	InJunk bool
}

// MessagePage shows one message.
type MessagePage struct {
	Msg    *mailproxy.Message
	Images bool // remote images were allowed for this view
	Clock  Clock
	// BackPage is the list page to return to (kept in links as ?p=).
	BackPage int
	// Quick is the quick reply box; nil when sending is not set up.
	Quick *QuickReply
	// InJunk is set in the Junk folder (its bar offers "Not junk").
	InJunk bool
	// Draft is set for a saved draft in Drafts: its bar offers Edit,
	// Send and Delete, and there is no quick reply.
	Draft bool
}

// ErrorPage explains a failure in plain words.
type ErrorPage struct {
	Status  int
	Heading string
	Message string
	Retry   string // a local URL to try again, or ""
}

// ComposePage is the compose form (new mail, reply, forward, a draft
// resumed, or a failed send shown again with everything kept).
type ComposePage struct {
	Token     string // the form's token: attachments and send-once are kept under it
	FromName  string
	FromEmail string
	Signature string // the user's signature, settable on the form
	To        string
	Cc        string
	Bcc       string
	Subject   string
	Body      string
	Files     []ComposeFile
	// The message replied to (for \Answered) and its threading headers.
	ReplyFolder string
	ReplyID     string
	InReplyTo   string
	References  string
	// The draft this form was resumed from, deleted once sent.
	DraftFolder string
	DraftID     string
	Back        string // local URL to return to after sending
	MaxUpload   int64
	CanDraft    bool // the server keeps drafts (IMAP)
}

// ComposeFile is one attached file of a compose form.
type ComposeFile struct {
	Index int
	Name  string
	Size  int64
}

// QuickReply is the quick reply box under a message.
type QuickReply struct {
	Token  string
	Canned []string
	// ForwardRaw offers forwarding the whole message as an attachment.
	ForwardRaw bool
}

// Undo is the form that moves messages back after a move: from the
// folder they went to (From), back to where they were (To).
type Undo struct {
	From, To string
	IDs      []string // opaque ids of the messages in From
	// Back is the local path of the page showing the offer (the list page
	// or the next message the action led to): Undo returns there.
	Back string
	// OnMessage: the offer is on a message's page (an archive from a
	// message went on to the next one), so Undo opens the message it
	// brings back instead.
	OnMessage bool
}

// MovePage is the folder picker for Move.
type MovePage struct {
	Folder   string // the source folder
	IDs      []string
	Folders  []mailproxy.Folder
	BackPage int
}

// ExpungePage asks before deleting messages in Trash for good.
type ExpungePage struct {
	Folder   string
	IDs      []string
	BackPage int
}
