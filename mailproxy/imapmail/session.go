package imapmail

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// imapSession is the Session of one request: the pooled entry plus the
// credentials to reconnect with.
type imapSession struct {
	e     *imapEntry
	creds mailproxy.Credentials
}

var _ mailproxy.Session = (*imapSession)(nil)

func (s *imapSession) do(ctx context.Context, fn func(*imapConn) error) error {
	return s.e.do(ctx, s.creds, true, fn)
}

// Caps reports IMAP's capabilities: folders, flags, move and search.
func (s *imapSession) Caps() mailproxy.Caps { return imapCaps }

// imapCaps is what IMAP offers.
var imapCaps = mailproxy.Caps{Folders: true, Flags: true, Move: true, Search: true, Files: true, Raw: true}

// Caps is what the pool's sessions support.
func (p *Pool) Caps() mailproxy.Caps { return imapCaps }

// Close logs out and forgets the connection.
func (s *imapSession) Close() error {
	s.e.pool.Logout(s.e.id)
	return nil
}

// specialOrder ranks special-use folders in the folder list.
var specialOrder = map[string]int{"inbox": 0, "drafts": 1, "sent": 2, "archive": 3, "junk": 4, "trash": 5, "": 6}

var specialAttrs = map[imap.MailboxAttr]string{
	imap.MailboxAttrSent:    "sent",
	imap.MailboxAttrDrafts:  "drafts",
	imap.MailboxAttrTrash:   "trash",
	imap.MailboxAttrJunk:    "junk",
	imap.MailboxAttrArchive: "archive",
}

// specialNames guesses special use from common names when the server does
// not say (no SPECIAL-USE).
var specialNames = map[string]string{
	"sent": "sent", "sent items": "sent", "sent messages": "sent", "sent mail": "sent",
	"drafts": "drafts", "draft": "drafts",
	"trash": "trash", "deleted items": "trash", "deleted messages": "trash", "bin": "trash",
	"junk": "junk", "spam": "junk", "junk e-mail": "junk", "junk email": "junk",
	"archive": "archive", "archives": "archive",
}

// Folders lists every folder with unread and total counts: LIST-STATUS
// when the server offers it, otherwise LIST and then one pipelined STATUS
// per folder.
func (s *imapSession) Folders(ctx context.Context) ([]mailproxy.Folder, error) {
	var out []mailproxy.Folder
	err := s.do(ctx, func(c *imapConn) error {
		out = nil
		statusOpts := &imap.StatusOptions{NumMessages: true, NumUnseen: true}
		listOpts := &imap.ListOptions{}
		useListStatus := c.caps.Has(imap.CapListStatus) || c.caps.Has(imap.CapIMAP4rev2)
		if useListStatus {
			listOpts.ReturnStatus = statusOpts
		}
		hasSpecialUse := c.caps.Has(imap.CapSpecialUse) || c.caps.Has(imap.CapIMAP4rev2)
		if hasSpecialUse {
			listOpts.ReturnSpecialUse = true
		}
		list, err := c.c.List("", "*", listOpts).Collect()
		if err != nil {
			return err
		}
		var pending []*statusWait
		for _, l := range list {
			f := folderFromList(l, hasSpecialUse)
			if l.Status != nil {
				fillCounts(&f, l.Status)
			} else if !f.NoSelect {
				pending = append(pending, &statusWait{idx: len(out), cmd: c.c.Status(l.Mailbox, statusOpts)})
			}
			out = append(out, f)
		}
		for _, p := range pending {
			data, err := p.cmd.Wait()
			if err != nil {
				continue // a folder that vanished or refuses STATUS keeps zero counts
			}
			fillCounts(&out[p.idx], data)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortFolders(out)
	return out, nil
}

type statusWait struct {
	idx int
	cmd interface {
		Wait() (*imap.StatusData, error)
	}
}

func fillCounts(f *mailproxy.Folder, st *imap.StatusData) {
	if st.NumMessages != nil {
		f.Total = int(*st.NumMessages)
	}
	if st.NumUnseen != nil {
		f.Unread = int(*st.NumUnseen)
	}
}

func folderFromList(l *imap.ListData, hasSpecialUse bool) mailproxy.Folder {
	f := mailproxy.Folder{Name: l.Mailbox, Display: l.Mailbox}
	if l.Delim != 0 {
		parts := strings.Split(l.Mailbox, string(l.Delim))
		f.Depth = len(parts) - 1
		f.Display = parts[len(parts)-1]
	}
	for _, a := range l.Attrs {
		for attr, sp := range specialAttrs {
			if strings.EqualFold(string(a), string(attr)) {
				f.Special = sp
			}
		}
		switch strings.ToLower(string(a)) {
		case `\noselect`, `\nonexistent`:
			f.NoSelect = true
		}
	}
	if strings.EqualFold(l.Mailbox, "INBOX") {
		f.Special = "inbox"
		f.Display = "Inbox"
	} else if f.Special == "" && !hasSpecialUse && f.Depth == 0 {
		f.Special = specialNames[strings.ToLower(l.Mailbox)]
	}
	return f
}

// specialFolder returns the name of the folder with special use use
// ("sent", "drafts", "trash", "junk", "archive"): the one marked by
// SPECIAL-USE (RFC 6154), or on servers without it a top-level folder
// with a common name ("Deleted Items", "Spam"...). The answer is cached for
// the connection's life. ErrNotFound when there is none.
func (c *imapConn) specialFolder(use string) (string, error) {
	if c.specials == nil {
		hasSpecialUse := c.caps.Has(imap.CapSpecialUse) || c.caps.Has(imap.CapIMAP4rev2)
		list, err := c.c.List("", "*", &imap.ListOptions{ReturnSpecialUse: hasSpecialUse}).Collect()
		if err != nil {
			return "", err
		}
		specials := map[string]string{}
		for _, l := range list {
			f := folderFromList(l, hasSpecialUse)
			if f.NoSelect || f.Special == "" {
				continue
			}
			if _, dup := specials[f.Special]; !dup {
				specials[f.Special] = f.Name
			}
		}
		if hasSpecialUse {
			// A server that has SPECIAL-USE but marks nothing (or not
			// this use) still may have "Trash": fall back to names.
			for _, l := range list {
				f := folderFromList(l, false)
				if f.NoSelect || f.Special == "" || f.Depth != 0 {
					continue
				}
				if _, ok := specials[f.Special]; !ok {
					specials[f.Special] = f.Name
				}
			}
		}
		c.specials = specials
	}
	name, ok := c.specials[use]
	if !ok {
		return "", fmt.Errorf("%w: no %s folder", mailproxy.ErrNotFound, use)
	}
	return name, nil
}

// sortFolders puts INBOX, then special-use folders, then the rest as a
// tree (parents before children, siblings by name).
func sortFolders(fs []mailproxy.Folder) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		// Special folders only lead when they are top level.
		ra, rb := specialOrder[""], specialOrder[""]
		if a.Depth == 0 {
			ra = specialOrder[a.Special]
		}
		if b.Depth == 0 {
			rb = specialOrder[b.Special]
		}
		if ra != rb {
			return ra < rb
		}
		return strings.ToLower(a.Name) < strings.ToLower(b.Name)
	})
}

// msgID builds the opaque message id "UIDVALIDITY-UID".
func msgID(validity uint32, uid imap.UID) string {
	return strconv.FormatUint(uint64(validity), 10) + "-" + strconv.FormatUint(uint64(uid), 10)
}

// parseMsgID splits an id made by msgID.
func parseMsgID(id string) (validity uint32, uid imap.UID, err error) {
	v, u, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%w: bad message id %q", mailproxy.ErrNotFound, id)
	}
	vv, err1 := strconv.ParseUint(v, 10, 32)
	uu, err2 := strconv.ParseUint(u, 10, 32)
	if err1 != nil || err2 != nil || uu == 0 {
		return 0, 0, fmt.Errorf("%w: bad message id %q", mailproxy.ErrNotFound, id)
	}
	return uint32(vv), imap.UID(uu), nil
}

// selectFor selects folder and checks that id belongs to its current
// UIDVALIDITY.
func (c *imapConn) selectFor(folder, id string) (imap.UID, error) {
	validity, uid, err := parseMsgID(id)
	if err != nil {
		return 0, err
	}
	if err := c.sel(folder); err != nil {
		return 0, err
	}
	if validity != c.uidValidity {
		return 0, fmt.Errorf("%w (%w): UIDVALIDITY of %q changed", mailproxy.ErrFolderReset, mailproxy.ErrNotFound, folder)
	}
	return uid, nil
}
