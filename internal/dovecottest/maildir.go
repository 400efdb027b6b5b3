package dovecottest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"
)

// Maildir returns the path of a folder's Maildir for user, whether or not
// it exists yet. The layout is Maildir++: INBOX (any case) is
// DIR/home/USER/Maildir itself; any other folder, with "/" as hierarchy
// separator, is the directory "." + its components in modified UTF-7
// joined by "." under it: "Big Folder" is Maildir/.Big Folder, "Work/2024"
// is Maildir/.Work.2024 and "Grüße" is Maildir/.Gr&APwA3w-e.
func (s *Server) Maildir(user, folder string) string {
	root := filepath.Join(s.Dir, "home", user, "Maildir")
	parts := splitFolder(folder)
	if len(parts) == 1 && parts[0] == "INBOX" {
		return root
	}
	enc := make([]string, len(parts))
	for i, p := range parts {
		enc[i] = EncodeMUTF7(p)
	}
	return filepath.Join(root, "."+strings.Join(enc, "."))
}

// splitFolder splits a folder name on "/" and upper-cases a leading INBOX.
func splitFolder(folder string) []string {
	parts := strings.Split(folder, "/")
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	return parts
}

// folderParts validates a folder name for the Maildir++ layout.
func folderParts(folder string) ([]string, error) {
	if folder == "" {
		return nil, errors.New("empty folder name")
	}
	parts := splitFolder(folder)
	for _, p := range parts {
		switch {
		case p == "":
			return nil, fmt.Errorf("folder %q has an empty hierarchy level (separator is \"/\")", folder)
		case strings.Contains(p, "."):
			return nil, fmt.Errorf("folder %q: Maildir++ cannot store '.' in a folder name", folder)
		case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return nil, fmt.Errorf("folder %q contains control characters", folder)
		}
	}
	return parts, nil
}

// Maildir info letters of the IMAP system flags.
var systemFlags = map[string]byte{
	"seen":     'S',
	"answered": 'R',
	"flagged":  'F',
	"deleted":  'T',
	"draft":    'D',
}

// parseFlags splits one flags entry of WriteMessages into Maildir letters
// of system flags and keywords.
func parseFlags(entry string) (letters []byte, keywords []string, err error) {
	for _, f := range strings.Fields(entry) {
		if c, ok := systemFlags[strings.ToLower(strings.TrimPrefix(f, `\`))]; ok {
			if !bytes.ContainsRune(letters, rune(c)) {
				letters = append(letters, c)
			}
			continue
		}
		if strings.HasPrefix(f, `\`) {
			return nil, nil, fmt.Errorf("unsupported flag %q", f)
		}
		if strings.ContainsAny(f, "(){%*\"\\]") || strings.ContainsFunc(f, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) {
			return nil, nil, fmt.Errorf("invalid keyword %q", f)
		}
		if !slices.Contains(keywords, f) {
			keywords = append(keywords, f)
		}
	}
	return letters, keywords, nil
}

// WriteMessages writes raw messages straight into a folder's Maildir, the
// way a delivery agent would, creating the user's Maildir if needed and a
// missing folder with "doveadm mailbox create -s" (so it is subscribed and
// running sessions list it). The folder name uses "/" as separator; INBOX
// is case-insensitive. It fails the test on error.
//
// flags is nil or has one entry per message. An entry is a space-separated
// list of IMAP flags: the system flags \Seen, \Answered, \Flagged, \Deleted
// and \Draft (the backslash and case are optional: "seen" works) and
// keywords such as $Forwarded or $Junk (at most 26 per folder, recorded in
// dovecot-keywords). A message with flags goes to cur/ with them in its
// Maildir info; one without goes to new/, so Dovecot sees it as new and
// \Recent.
//
// Messages are stored byte for byte as given. Their file names sort in
// slice order, and so do the UIDs Dovecot assigns to them, also across
// calls. Each file's modification time, which Dovecot reports as the
// INTERNALDATE, is the message's Date header when it parses. Files and
// directories are owned by the dovecot user. Writing is parallel: 100,000
// small messages take a few seconds.
//
// It is safe to call while the server runs, also concurrently: files are
// written to tmp/ and renamed into place (or, into a folder that this call
// created, written in place), and Dovecot picks them up at its next sync
// of the folder (SELECT, NOOP, STATUS...).
func (s *Server) WriteMessages(t testing.TB, user, folder string, msgs [][]byte, flags []string) {
	t.Helper()
	if err := s.writeMessages(user, folder, msgs, flags); err != nil {
		t.Fatalf("dovecottest: WriteMessages(%q, %q): %v", user, folder, err)
	}
}

func (s *Server) writeMessages(user, folder string, msgs [][]byte, flags []string) error {
	if !slices.ContainsFunc(s.Users, func(u User) bool { return u.Name == user }) {
		return fmt.Errorf("unknown user %q", user)
	}
	parts, err := folderParts(folder)
	if err != nil {
		return err
	}
	if flags != nil && len(flags) != len(msgs) {
		return fmt.Errorf("%d flags entries for %d messages", len(flags), len(msgs))
	}

	// Parse flags; collect keywords for the folder's dovecot-keywords.
	letters := make([][]byte, len(msgs))
	var perMsgKeywords [][]string
	var allKeywords []string
	for i, entry := range flags {
		l, kw, err := parseFlags(entry)
		if err != nil {
			return fmt.Errorf("message %d: %v", i, err)
		}
		letters[i] = l
		if len(kw) > 0 {
			if perMsgKeywords == nil {
				perMsgKeywords = make([][]string, len(msgs))
			}
			perMsgKeywords[i] = kw
			for _, k := range kw {
				if !slices.Contains(allKeywords, k) {
					allKeywords = append(allKeywords, k)
				}
			}
		}
	}

	s.mu.Lock()
	dir, fresh, err := s.ensureFolder(user, parts)
	var kwLetters map[string]byte
	if err == nil && len(allKeywords) > 0 {
		kwLetters, err = s.keywordLetters(dir, allKeywords)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for i, kw := range perMsgKeywords {
		for _, k := range kw {
			letters[i] = append(letters[i], kwLetters[k])
		}
	}
	for _, l := range letters {
		slices.Sort(l)
	}

	if len(msgs) == 0 {
		return nil
	}
	// Reserve one second of file-name time per message: Dovecot assigns
	// UIDs to new files in the order of that leading timestamp.
	first := s.clock.Add(int64(len(msgs))) - int64(len(msgs)) + 1
	pid := os.Getpid()

	workers := min(runtime.GOMAXPROCS(0)*4, 8, len(msgs)/16+1)
	var (
		next     atomic.Int64
		failed   atomic.Bool
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var name []byte
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				m := msgs[i]
				name = name[:0]
				name = strconv.AppendInt(name, first+int64(i), 10)
				name = append(name, ".M0P"...)
				name = strconv.AppendInt(name, int64(pid), 10)
				name = append(name, 'Q')
				name = strconv.AppendInt(name, int64(i), 10)
				name = append(name, ".thumbmail,S="...)
				name = strconv.AppendInt(name, int64(len(m)), 10)
				name = append(name, ",W="...)
				name = strconv.AppendInt(name, virtualSize(m), 10)
				sub := "new"
				if len(letters[i]) > 0 {
					sub = "cur"
					name = append(name, ":2,"...)
					name = append(name, letters[i]...)
				}
				if err := s.writeFile(dir, sub, string(name), m, fresh); err != nil {
					failed.Store(true)
					errOnce.Do(func() { firstErr = fmt.Errorf("message %d: %v", i, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// writeFile writes one message into sub (new or cur) of the Maildir dir:
// through tmp/ and a rename, as a delivery agent does, unless the folder
// is fresh (created by this call, so no Dovecot process looks at it yet),
// in which case the file is written in place, which is twice as fast.
func (s *Server) writeFile(dir, sub, name string, msg []byte, fresh bool) error {
	final := filepath.Join(dir, sub, name)
	path := final
	if !fresh {
		path = filepath.Join(dir, "tmp", name)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(msg)
	if err == nil {
		err = f.Chown(s.uid, s.gid)
	}
	if err == nil {
		if d, ok := headerDate(msg); ok {
			err = setMtime(f, path, d)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && path != final {
		err = os.Rename(path, final)
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// virtualSize is the message size with every bare LF counted as CRLF, the
// W= of Dovecot's Maildir file names.
func virtualSize(m []byte) int64 {
	n := int64(len(m))
	for i, c := range m {
		if c == '\n' && (i == 0 || m[i-1] != '\r') {
			n++
		}
	}
	return n
}

// headerDate returns the parsed Date header of a raw message.
func headerDate(m []byte) (time.Time, bool) {
	var val []byte
	in := false
	for len(m) > 0 {
		line := m
		if i := bytes.IndexByte(m, '\n'); i >= 0 {
			line, m = m[:i], m[i+1:]
		} else {
			m = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if in {
				val = append(val, line...)
			}
			continue
		}
		if in {
			break
		}
		if len(line) > 5 && bytes.EqualFold(line[:5], []byte("date:")) {
			in = true
			val = append(val, line[5:]...)
		}
	}
	if !in {
		return time.Time{}, false
	}
	d, err := mail.ParseDate(strings.TrimSpace(string(val)))
	return d, err == nil
}

// ensureFolder makes sure the user's Maildir and the folder exist and
// returns the folder's Maildir and whether it was created just now. s.mu
// is held.
//
// A new folder is created and subscribed with doveadm rather than by
// making directories: Dovecot's mailbox list index (dovecot.list.index)
// does not notice folders created behind its back, so a running session
// would not list them.
func (s *Server) ensureFolder(user string, parts []string) (dir string, fresh bool, err error) {
	root := s.Maildir(user, "INBOX")
	for _, d := range []string{filepath.Dir(root), root, filepath.Join(root, "new"), filepath.Join(root, "tmp"), filepath.Join(root, "cur")} {
		if fresh, err = s.mkdirOwned(d); err != nil {
			return "", false, err
		}
	}
	if len(parts) == 1 && parts[0] == "INBOX" {
		// Fresh when this call made cur/, the last one: no session has
		// opened the mailbox yet (logging in creates it).
		return root, fresh, nil
	}
	name := strings.Join(parts, "/")
	dir = s.Maildir(user, name)
	if _, err := os.Stat(filepath.Join(dir, "cur")); err == nil {
		return dir, false, nil
	}
	fresh = true
	if out, err := s.Doveadm("mailbox", "create", "-s", "-u", user, name); err != nil {
		if !strings.Contains(out, "already exists") {
			return "", false, fmt.Errorf("creating folder: %v", err)
		}
		fresh = false
		if _, err := s.Doveadm("mailbox", "subscribe", "-u", user, name); err != nil {
			return "", false, fmt.Errorf("subscribing folder: %v", err)
		}
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			return "", false, fmt.Errorf("doveadm created %q but not its Maildir where expected: %v", name, err)
		}
	}
	return dir, fresh, nil
}

// keywordLetters maps keywords to Maildir letters 'a'..'z' through the
// folder's dovecot-keywords file ("INDEX NAME" lines), adding new ones.
func (s *Server) keywordLetters(dir string, keywords []string) (map[string]byte, error) {
	letters := make(map[string]byte)
	err := s.updateLocked(filepath.Join(dir, "dovecot-keywords"), func(old []byte) ([]byte, error) {
		var used [26]bool
		for _, l := range strings.Split(string(old), "\n") {
			idx, name, ok := strings.Cut(l, " ")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil || n < 0 || n >= 26 {
				continue
			}
			used[n] = true
			letters[name] = byte('a' + n)
		}
		var add strings.Builder
		for _, k := range keywords {
			if _, ok := letters[k]; ok {
				continue
			}
			n := slices.Index(used[:], false)
			if n < 0 {
				return nil, fmt.Errorf("more than 26 keywords in %s", dir)
			}
			used[n] = true
			letters[k] = byte('a' + n)
			fmt.Fprintf(&add, "%d %s\n", n, k)
		}
		if add.Len() == 0 {
			return nil, nil
		}
		if len(old) > 0 && old[len(old)-1] != '\n' {
			old = append(old, '\n')
		}
		return append(old, add.String()...), nil
	})
	return letters, err
}

// updateLocked rewrites path under Dovecot's dotlock convention: create
// path.lock exclusively, write the new content into it and rename it over
// path. update returns nil content to leave the file unchanged.
func (s *Server) updateLocked(path string, update func(old []byte) ([]byte, error)) error {
	lock := path + ".lock"
	var f *os.File
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		f, err = os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			return err
		}
		if fi, err := os.Stat(lock); err == nil && time.Since(fi.ModTime()) > 30*time.Second {
			os.Remove(lock) // stale, as Dovecot would judge it
		}
		time.Sleep(10 * time.Millisecond)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		f.Close()
		os.Remove(lock)
		return err
	}
	data, err := update(old)
	if err == nil && data != nil {
		_, err = f.Write(data)
		if err == nil {
			err = f.Chown(s.uid, s.gid)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || data == nil {
		os.Remove(lock)
		return err
	}
	return os.Rename(lock, path)
}

var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// EncodeMUTF7 encodes a mailbox name in IMAP's modified UTF-7 (RFC 3501
// section 5.1.3), as Dovecot stores it on disk and sends it to clients
// that did not enable UTF8=ACCEPT.
func EncodeMUTF7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 2*len(u))
		for i, c := range u {
			buf[2*i], buf[2*i+1] = byte(c>>8), byte(c)
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
