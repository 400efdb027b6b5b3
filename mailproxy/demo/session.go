package demo

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// delim is imapmemserver's hierarchy delimiter (not configurable there).
const delim = '/'

// specialUseAttrs are the RFC 6154 attributes CREATE (USE ...) accepts.
var specialUseAttrs = []imap.MailboxAttr{
	imap.MailboxAttrAll,
	imap.MailboxAttrArchive,
	imap.MailboxAttrDrafts,
	imap.MailboxAttrFlagged,
	imap.MailboxAttrJunk,
	imap.MailboxAttrSent,
	imap.MailboxAttrTrash,
	imap.MailboxAttrImportant,
}

func noErr(text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Text: text}
}

// canonName trims trailing delimiters and spells INBOX in upper case
// (INBOX is case-insensitive, other names are not).
func canonName(name string) string {
	name = strings.TrimRight(name, string(delim))
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// mboxInfo is what the demo server knows about a mailbox beyond
// imapmemserver: its special use and subscription (both unexported there).
type mboxInfo struct {
	specialUse []imap.MailboxAttr
	subscribed bool
}

// registry lists the user's mailboxes. imapmemserver.User has no exported
// way to enumerate them, and its ListWriter cannot be intercepted, so the
// demo session answers LIST from here and every mailbox-changing command
// goes through the registry.
type registry struct {
	mu    sync.Mutex
	boxes map[string]*mboxInfo
}

func newRegistry() *registry {
	return &registry{boxes: make(map[string]*mboxInfo)}
}

func (r *registry) create(u *imapmemserver.User, name string, options *imap.CreateOptions, subscribe bool) error {
	name = canonName(name)
	if name == "" || strings.ContainsAny(name, "*%") {
		return noErr("Invalid mailbox name")
	}
	var use []imap.MailboxAttr
	if options != nil {
		for _, attr := range options.SpecialUse {
			i := slices.IndexFunc(specialUseAttrs, func(a imap.MailboxAttr) bool {
				return strings.EqualFold(string(a), string(attr))
			})
			if i < 0 {
				return &imap.Error{
					Type: imap.StatusResponseTypeNo,
					Code: "USEATTR",
					Text: "Unsupported special-use attribute " + string(attr),
				}
			}
			if !slices.Contains(use, specialUseAttrs[i]) {
				use = append(use, specialUseAttrs[i])
			}
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if err := u.Create(name, nil); err != nil {
		return err
	}
	info := &mboxInfo{specialUse: use}
	if subscribe {
		if err := u.Subscribe(name); err != nil {
			return err
		}
		info.subscribed = true
	}
	r.boxes[name] = info
	return nil
}

func (r *registry) delete(u *imapmemserver.User, name string) error {
	name = canonName(name)
	if name == "INBOX" {
		return noErr("INBOX cannot be deleted")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := u.Delete(name); err != nil {
		return err
	}
	delete(r.boxes, name)
	return nil
}

// rename renames a mailbox and its children (imapmemserver alone would
// leave the children under the old name).
func (r *registry) rename(u *imapmemserver.User, oldName, newName string) error {
	oldName, newName = canonName(oldName), canonName(newName)
	switch {
	case oldName == "INBOX":
		return noErr("Renaming INBOX is not supported")
	case newName == "" || strings.ContainsAny(newName, "*%"):
		return noErr("Invalid mailbox name")
	case strings.HasPrefix(newName, oldName+string(delim)):
		return noErr("Cannot move a mailbox into itself")
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	prefix := oldName + string(delim)
	var children []string
	for name := range r.boxes {
		if strings.HasPrefix(name, prefix) {
			children = append(children, name)
		}
	}
	childName := func(name string) string {
		return newName + string(delim) + strings.TrimPrefix(name, prefix)
	}
	exists := r.boxes[newName] != nil
	for _, name := range children {
		exists = exists || r.boxes[childName(name)] != nil
	}
	if exists {
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeAlreadyExists,
			Text: "Mailbox already exists",
		}
	}

	if err := u.Rename(oldName, newName, nil); err != nil {
		return err
	}
	r.boxes[newName] = r.boxes[oldName]
	delete(r.boxes, oldName)
	for _, name := range children {
		to := childName(name)
		if err := u.Rename(name, to, nil); err != nil {
			return err
		}
		r.boxes[to] = r.boxes[name]
		delete(r.boxes, name)
	}
	return nil
}

func (r *registry) subscribe(u *imapmemserver.User, name string, on bool) error {
	name = canonName(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if on {
		err = u.Subscribe(name)
	} else {
		err = u.Unsubscribe(name)
	}
	if err != nil {
		return err
	}
	if info := r.boxes[name]; info != nil {
		info.subscribed = on
	}
	return nil
}

// listEntry is one candidate row of a LIST reply.
type listEntry struct {
	name        string
	info        mboxInfo
	nonExistent bool // implied parent of a nested mailbox
	hasChildren bool
	subChildren bool // has a subscribed descendant
}

// entries returns every mailbox plus the implied parents of nested ones,
// INBOX first, then in byte order of their names.
func (r *registry) entries() []listEntry {
	r.mu.Lock()
	byName := make(map[string]*listEntry, len(r.boxes))
	for name, info := range r.boxes {
		byName[name] = &listEntry{
			name: name,
			info: mboxInfo{specialUse: slices.Clone(info.specialUse), subscribed: info.subscribed},
		}
	}
	r.mu.Unlock()

	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	for _, name := range names {
		subscribed := byName[name].info.subscribed
		for i := strings.LastIndexByte(name, byte(delim)); i > 0; i = strings.LastIndexByte(name[:i], byte(delim)) {
			parent := byName[name[:i]]
			if parent == nil {
				parent = &listEntry{name: name[:i], nonExistent: true}
				byName[parent.name] = parent
			}
			parent.hasChildren = true
			parent.subChildren = parent.subChildren || subscribed
		}
	}

	l := make([]listEntry, 0, len(byName))
	for _, e := range byName {
		l = append(l, *e)
	}
	slices.SortFunc(l, func(a, b listEntry) int {
		switch {
		case a.name == b.name:
			return 0
		case a.name == "INBOX":
			return -1
		case b.name == "INBOX":
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return l
}

// attrs returns the LIST attributes of e.
func (e *listEntry) attrs(options *imap.ListOptions) []imap.MailboxAttr {
	var attrs []imap.MailboxAttr
	if e.nonExistent {
		attrs = append(attrs, imap.MailboxAttrNoSelect)
	}
	if e.hasChildren {
		attrs = append(attrs, imap.MailboxAttrHasChildren)
	} else {
		attrs = append(attrs, imap.MailboxAttrHasNoChildren)
	}
	if e.info.subscribed && (options.ReturnSubscribed || options.SelectSubscribed) {
		attrs = append(attrs, imap.MailboxAttrSubscribed)
	}
	// RFC 6154 lets a server return special-use attributes on every LIST;
	// Dovecot does, and clients that never ask RETURN (SPECIAL-USE) rely on
	// it.
	return append(attrs, e.info.specialUse...)
}

func (r *registry) list(u *imapmemserver.User, w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter and root name.
		return w.WriteList(&imap.ListData{
			Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect},
			Delim: delim,
		})
	}
	for i, p := range patterns {
		if strings.EqualFold(p, "INBOX") {
			patterns[i] = "INBOX"
		}
	}

	for _, e := range r.entries() {
		if !slices.ContainsFunc(patterns, func(p string) bool {
			return imapserver.MatchList(e.name, delim, ref, p)
		}) {
			continue
		}
		var childInfo *imap.ListDataChildInfo
		if options.SelectSubscribed && !e.info.subscribed {
			if !options.SelectRecursiveMatch || !e.subChildren {
				continue
			}
			childInfo = &imap.ListDataChildInfo{Subscribed: true}
		}
		if options.SelectSpecialUse && len(e.info.specialUse) == 0 {
			continue
		}
		data := imap.ListData{
			Attrs:     e.attrs(options),
			Delim:     delim,
			Mailbox:   e.name,
			ChildInfo: childInfo,
		}
		if options.ReturnStatus != nil && !e.nonExistent {
			status, err := u.Status(e.name, options.ReturnStatus)
			if err != nil {
				continue // deleted meanwhile
			}
			data.Status = fixStatus(status, options.ReturnStatus)
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}

// listData returns the LIST data of one existing mailbox, for the SELECT
// reply of IMAP4rev2 clients.
func (r *registry) listData(name string) *imap.ListData {
	for _, e := range r.entries() {
		if e.name == name && !e.nonExistent {
			return &imap.ListData{
				Attrs:   e.attrs(&imap.ListOptions{}),
				Delim:   delim,
				Mailbox: name,
			}
		}
	}
	return nil
}

// fixStatus fills in the STATUS items imapmemserver leaves nil but
// imapserver dereferences when they are asked for (it would panic and drop
// the connection).
func fixStatus(data *imap.StatusData, options *imap.StatusOptions) *imap.StatusData {
	if options.DeletedStorage && data.DeletedStorage == nil {
		var zero int64
		data.DeletedStorage = &zero
	}
	return data
}

// session is one IMAP connection to the demo server. It wraps
// imapmemserver's UserSession, adding what the package comment lists.
type session struct {
	srv      *Server
	conn     *imapserver.Conn
	us       *imapmemserver.UserSession // nil until login
	readOnly bool                       // selected with EXAMINE
}

var (
	_ imapserver.SessionIMAP4rev2      = (*session)(nil)
	_ imapserver.SessionUnauthenticate = (*session)(nil)
)

func (s *session) Close() error {
	if s.us == nil {
		return nil
	}
	return s.us.Close()
}

func (s *session) Login(username, password string) error {
	if err := s.srv.user.Login(username, password); err != nil {
		s.srv.logger.Info("demo IMAP login failed", "username", username)
		return imapserver.ErrAuthFailed
	}
	s.us = imapmemserver.NewUserSession(s.srv.user)
	return nil
}

func (s *session) Unauthenticate() error {
	err := s.us.Close()
	s.us = nil
	s.readOnly = false
	return err
}

func (s *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.readOnly = false
	data, err := s.us.Select(mailbox, options)
	if err != nil {
		return nil, err
	}
	s.readOnly = options != nil && options.ReadOnly
	if s.conn != nil && s.conn.EnabledCaps().Has(imap.CapIMAP4rev2) {
		data.List = s.srv.reg.listData(canonName(mailbox))
	}
	return data, nil
}

func (s *session) Unselect() error {
	s.readOnly = false
	return s.us.Unselect()
}

func (s *session) Create(mailbox string, options *imap.CreateOptions) error {
	return s.srv.reg.create(s.srv.user, mailbox, options, false)
}

func (s *session) Delete(mailbox string) error {
	return s.srv.reg.delete(s.srv.user, mailbox)
}

func (s *session) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	return s.srv.reg.rename(s.srv.user, mailbox, newName)
}

func (s *session) Subscribe(mailbox string) error {
	return s.srv.reg.subscribe(s.srv.user, mailbox, true)
}

func (s *session) Unsubscribe(mailbox string) error {
	return s.srv.reg.subscribe(s.srv.user, mailbox, false)
}

func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	return s.srv.reg.list(s.srv.user, w, ref, patterns, options)
}

func (s *session) Status(mailbox string, options *imap.StatusOptions) (*imap.StatusData, error) {
	data, err := s.us.Status(canonName(mailbox), options)
	if err != nil {
		return nil, err
	}
	return fixStatus(data, options), nil
}

func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	return s.us.Append(canonName(mailbox), r, options)
}

func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	return s.us.Poll(w, allowExpunge)
}

func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	return s.us.Idle(w, stop)
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	return s.us.Namespace()
}

func errReadOnly() error {
	return noErr("Mailbox is read-only (EXAMINE)")
}

func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if s.readOnly {
		// Nothing to do. Not an error: imapserver implements CLOSE as
		// Expunge + Unselect, and CLOSE must work after EXAMINE.
		return nil
	}
	return s.us.Expunge(w, uids)
}

func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	return s.us.Search(kind, criteria, options)
}

func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if s.readOnly && len(options.BodySection) > 0 {
		// imapmemserver sets \Seen on BODY[...] even after EXAMINE.
		o := *options
		o.BodySection = make([]*imap.FetchItemBodySection, len(options.BodySection))
		for i, bs := range options.BodySection {
			c := *bs
			c.Peek = true
			o.BodySection[i] = &c
		}
		options = &o
	}
	return s.us.Fetch(w, numSet, options)
}

func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if s.readOnly {
		return errReadOnly()
	}
	return s.us.Store(w, numSet, flags, options)
}

func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.us.Copy(numSet, canonName(dest))
}

func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.readOnly {
		return errReadOnly()
	}
	return s.us.Move(w, numSet, canonName(dest))
}

// slogPrintf adapts a *slog.Logger to imapserver.Logger.
type slogPrintf struct{ l *slog.Logger }

func (p slogPrintf) Printf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	if strings.Contains(msg, "panic") {
		p.l.Error("demo IMAP server: " + msg)
		return
	}
	p.l.Warn("demo IMAP server: " + msg)
}
