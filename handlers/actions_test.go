package handlers

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/templates"
)

// mailbox counts messages with an IMAP client of its own, as another
// mail program would see them.
type mailbox struct {
	t          testing.TB
	addr       string
	user, pass string
}

func (m mailbox) count(folder string) int {
	m.t.Helper()
	c, err := imapclient.DialInsecure(m.addr, nil)
	if err != nil {
		m.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(m.user, m.pass).Wait(); err != nil {
		m.t.Fatalf("Login().Wait() = %v", err)
	}
	st, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		m.t.Fatalf("Status(%q).Wait() = %v", folder, err)
	}
	return int(*st.NumMessages)
}

var (
	tickRE      = regexp.MustCompile(`name="id" value="([^"]+)"`)
	undoFormRE  = regexp.MustCompile(`(?s)<form method="post" action="(/undo)".*?</form>`)
	hiddenRE    = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	radioRE     = regexp.MustCompile(`<input type="radio" name="to" value="([^"]*)"`)
	notAnUndoRE = regexp.MustCompile(`>Undo</button>`)
)

// ticks are the ids of a list page's checkboxes, newest first.
func ticks(body string) []string {
	var out []string
	for _, m := range tickRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// formFields reads the hidden fields of a form's HTML.
func formFields(form string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(form, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// act posts one action bar button and checks the 303 and its notice.
func act(t testing.TB, e *testEnv, c *http.Client, folder, action string, ids []string, extra url.Values, wantNotice string) string {
	t.Helper()
	form := url.Values{"action": {action}, "id": ids}
	for k, v := range extra {
		form[k] = v
	}
	r := e.do(c, "POST", "/f/"+templates.EncodeFolder(folder)+"/act", form)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || (wantNotice != "" && !strings.Contains(loc, "n="+wantNotice)) {
		t.Fatalf("POST act %s on %s = %d %q, want 303 with n=%s", action, folder, r.status, loc, wantNotice)
	}
	return loc
}

// undo follows a move's redirect, checks the notice offers Undo and taps it.
func undo(t testing.TB, e *testEnv, c *http.Client, loc string) string {
	t.Helper()
	page := e.get(c, loc)
	f := undoFormRE.FindString(page.body)
	if f == "" {
		t.Fatalf("GET %s: no Undo form in the notice", loc)
	}
	r := e.do(c, "POST", "/undo", formFields(f))
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=undone") {
		t.Fatalf("POST /undo = %d %q, want 303 with n=undone", r.status, r.header.Get("Location"))
	}
	return r.header.Get("Location")
}

// actionsScenario runs every action through the router, single and bulk,
// with undo, on the server behind e, counting with mb: nothing lost,
// nothing duplicated. odd is an existing folder with an awkward name.
func actionsScenario(t *testing.T, e *testEnv, c *http.Client, mb mailbox, odd string) {
	list := e.get(c, "/f/INBOX")
	ids := ticks(list.body)
	if len(ids) < 10 {
		t.Fatalf("INBOX page 1 has %d ticks", len(ids))
	}
	// The compact bars (issue 14): Archive and Delete at the top and the
	// bottom, the rest once, under More at the top.
	for _, want := range []string{`value="archive"`, `value="delete"`} {
		if strings.Count(list.body, want) != 2 {
			t.Errorf("list action bars (top and bottom) lack %s", want)
		}
	}
	for _, want := range []string{`value="read"`, `value="unread"`, `value="star"`, `value="unstar"`, `value="move"`, `value="junk"`} {
		if strings.Count(list.body, want) != 1 || !strings.Contains(list.body, `<details class="more"><summary>More</summary>`) {
			t.Errorf("list action bar's More lacks %s", want)
		}
	}
	inbox, archive, trash, junk := mb.count("INBOX"), mb.count("Archive"), mb.count("Trash"), mb.count("Junk")

	// Flags, bulk from the list.
	act(t, e, c, "INBOX", "unread", ids[:2], nil, "markedunread")
	body := e.get(c, "/f/INBOX").body
	for _, id := range ids[:2] {
		if !regexp.MustCompile(`<li class="u"><label><input type="checkbox" name="id" value="` + regexp.QuoteMeta(id) + `"`).MatchString(body) {
			t.Errorf("%s not unread after Mark unread", id)
		}
	}
	act(t, e, c, "INBOX", "read", ids[:2], nil, "markedread")
	if strings.Contains(e.get(c, "/f/INBOX").body, `<li class="u"><label><input type="checkbox" name="id" value="`+ids[0]+`"`) {
		t.Errorf("%s unread after Mark read", ids[0])
	}
	act(t, e, c, "INBOX", "star", ids[:2], nil, "starred")
	// From the message: Unstar returns to it, Mark unread to the list.
	msg := "/f/INBOX/" + ids[0]
	if m := e.get(c, msg); !strings.Contains(m.body, `value="unstar"`) {
		t.Errorf("starred message offers no Unstar")
	}
	if loc := act(t, e, c, "INBOX", "unstar", ids[:1], url.Values{"back": {"msg"}}, "unstarred"); !strings.HasPrefix(loc, msg+"?") {
		t.Errorf("Unstar from the message went to %q, want back to it", loc)
	}
	if m := e.get(c, msg); !strings.Contains(m.body, `value="star"`) {
		t.Errorf("unstarred message offers no Star")
	}
	if loc := act(t, e, c, "INBOX", "unread", ids[:1], url.Values{"back": {"msg"}}, "markedunread"); !strings.HasPrefix(loc, "/f/INBOX?") {
		t.Errorf("Mark unread from the message went to %q, want the list", loc)
	}
	act(t, e, c, "INBOX", "unstar", ids[1:2], nil, "unstarred")

	// Archive two (bulk), then undo.
	loc := act(t, e, c, "INBOX", "archive", ids[2:4], nil, "archived")
	if mb.count("INBOX") != inbox-2 || mb.count("Archive") != archive+2 {
		t.Errorf("after Archive: INBOX %d (want %d), Archive %d (want %d)", mb.count("INBOX"), inbox-2, mb.count("Archive"), archive+2)
	}
	undo(t, e, c, loc)
	if mb.count("INBOX") != inbox || mb.count("Archive") != archive {
		t.Errorf("after undo: INBOX %d (want %d), Archive %d (want %d)", mb.count("INBOX"), inbox, mb.count("Archive"), archive)
	}

	// Delete one from the message view: to Trash, then undo.
	ids = ticks(e.get(c, "/f/INBOX").body)
	loc = act(t, e, c, "INBOX", "delete", ids[:1], url.Values{"back": {"msg"}}, "trashed")
	if mb.count("INBOX") != inbox-1 || mb.count("Trash") != trash+1 {
		t.Errorf("after Delete: INBOX %d, Trash %d", mb.count("INBOX"), mb.count("Trash"))
	}
	undo(t, e, c, loc)
	if mb.count("INBOX") != inbox || mb.count("Trash") != trash {
		t.Errorf("after undoing Delete: INBOX %d, Trash %d", mb.count("INBOX"), mb.count("Trash"))
	}

	// Move three with the folder picker to the odd folder, then undo.
	oddCount := mb.count(odd)
	ids = ticks(e.get(c, "/f/INBOX").body)
	loc = act(t, e, c, "INBOX", "move", ids[:3], nil, "")
	if !strings.HasPrefix(loc, "/f/INBOX/move?") {
		t.Fatalf("Move… went to %q, want the folder picker", loc)
	}
	picker := e.get(c, loc)
	var targets []string
	for _, m := range radioRE.FindAllStringSubmatch(picker.body, -1) {
		targets = append(targets, html.UnescapeString(m[1]))
	}
	if !strings.Contains(strings.Join(targets, "\n"), odd) || formFields(picker.body)["id"] == nil {
		t.Fatalf("folder picker lacks %q or the ids: %q", odd, targets)
	}
	loc = act(t, e, c, "INBOX", "moveto", ids[:3], url.Values{"to": {odd}}, "moved")
	if mb.count("INBOX") != inbox-3 || mb.count(odd) != oddCount+3 {
		t.Errorf("after Move: INBOX %d, %s %d", mb.count("INBOX"), odd, mb.count(odd))
	}
	// Act inside the odd folder: star one there, archive one and undo.
	oddIDs := ticks(e.get(c, "/f/"+templates.EncodeFolder(odd)).body)
	if len(oddIDs) != oddCount+3 {
		t.Fatalf("odd folder lists %d messages, want %d", len(oddIDs), oddCount+3)
	}
	act(t, e, c, odd, "star", oddIDs[:1], nil, "starred")
	l2 := act(t, e, c, odd, "archive", oddIDs[:1], nil, "archived")
	if mb.count("Archive") != archive+1 {
		t.Errorf("archive from %s: Archive has %d", odd, mb.count("Archive"))
	}
	if back := undo(t, e, c, l2); !strings.HasPrefix(back, "/f/"+templates.EncodeFolder(odd)) {
		t.Errorf("undo went to %q, want the odd folder", back)
	}
	// Undoing the Move brings back the two that stayed; the one that was
	// archived and brought back has a new UID, so it stays: move it.
	undo(t, e, c, loc)
	if mb.count("INBOX") != inbox-1 || mb.count(odd) != oddCount+1 || mb.count("Archive") != archive {
		t.Errorf("after undoing Move: INBOX %d (want %d), %s %d (want %d), Archive %d", mb.count("INBOX"), inbox-1, odd, mb.count(odd), oddCount+1, mb.count("Archive"))
	}
	op := e.get(c, "/f/"+templates.EncodeFolder(odd))
	act(t, e, c, odd, "moveto", ticks(op.body)[:1], url.Values{"to": {"INBOX"}}, "moved") // the newest: the one brought back
	if mb.count("INBOX") != inbox || mb.count(odd) != oddCount {
		t.Errorf("after moving back: INBOX %d (want %d), %s %d (want %d)", mb.count("INBOX"), inbox, odd, mb.count(odd), oddCount)
	}

	// Junk and Not junk.
	ids = ticks(e.get(c, "/f/INBOX").body)
	act(t, e, c, "INBOX", "junk", ids[:1], nil, "junked")
	if mb.count("Junk") != junk+1 || mb.count("INBOX") != inbox-1 {
		t.Errorf("after Junk: Junk %d, INBOX %d", mb.count("Junk"), mb.count("INBOX"))
	}
	jl := e.get(c, "/f/Junk")
	if !strings.Contains(jl.body, `value="notjunk"`) {
		t.Errorf("Junk list offers no Not junk")
	}
	jids := ticks(jl.body)
	act(t, e, c, "Junk", "notjunk", jids[:1], nil, "notjunk")
	if mb.count("Junk") != junk || mb.count("INBOX") != inbox {
		t.Errorf("after Not junk: Junk %d, INBOX %d", mb.count("Junk"), mb.count("INBOX"))
	}

	// Delete inside Trash: confirmation, then for good.
	ids = ticks(e.get(c, "/f/INBOX").body)
	act(t, e, c, "INBOX", "delete", ids[:2], nil, "trashed")
	tids := ticks(e.get(c, "/f/Trash").body)
	loc = act(t, e, c, "Trash", "delete", tids[:2], nil, "")
	if !strings.HasPrefix(loc, "/f/Trash/expunge?") {
		t.Fatalf("Delete in Trash went to %q, want the confirmation", loc)
	}
	if mb.count("Trash") != trash+2 {
		t.Errorf("Trash changed before confirming: %d", mb.count("Trash"))
	}
	confirm := e.get(c, loc)
	if !strings.Contains(confirm.body, "for good") {
		t.Errorf("confirmation page: %s", confirm.body)
	}
	r := e.do(c, "POST", "/f/Trash/expunge", formFields(confirm.body))
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=expunged") {
		t.Errorf("POST expunge = %d %q", r.status, r.header.Get("Location"))
	}
	if mb.count("Trash") != trash || mb.count("INBOX") != inbox-2 {
		t.Errorf("after expunge: Trash %d (want %d), INBOX %d (want %d)", mb.count("Trash"), trash, mb.count("INBOX"), inbox-2)
	}
}

func TestActions(t *testing.T) {
	e := newEnv(t, nil)
	const odd = `Odd "q" & Grüße.v 1`
	if err := e.demo.CreateMailbox(odd); err != nil {
		t.Fatal(err)
	}
	c := e.login()
	actionsScenario(t, e, c, mailbox{t: t, addr: e.demo.Addr(), user: "demo", pass: "demo"}, odd)
}

// TestActionsWithoutMove: a server without MOVE and UIDPLUS. Archive
// copies, leaves the originals flagged \Deleted (no expunge), says so and
// offers no undo; deleting in Trash for good is refused.
func TestActionsWithoutMove(t *testing.T) {
	e := newEnv(t, &envOptions{caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapSpecialUse: {}}})
	mb := mailbox{t: t, addr: e.demo.Addr(), user: "demo", pass: "demo"}
	c := e.login()
	inbox, archive := mb.count("INBOX"), mb.count("Archive")
	ids := ticks(e.get(c, "/f/INBOX").body)
	loc := act(t, e, c, "INBOX", "archive", ids[:3], nil, "keptdeleted")
	if mb.count("INBOX") != inbox || mb.count("Archive") != archive+3 {
		t.Errorf("INBOX %d (want %d), Archive %d (want %d)", mb.count("INBOX"), inbox, mb.count("Archive"), archive+3)
	}
	page := e.get(c, loc)
	if !strings.Contains(page.body, "marked as deleted") || notAnUndoRE.MatchString(page.body) {
		t.Errorf("notice after a MOVE-less archive: wrong text or an Undo offered")
	}
	if m := e.get(c, "/f/INBOX/"+ids[0]); !strings.Contains(m.body, "Marked as deleted") {
		t.Errorf("an original left behind is not shown as marked deleted")
	}
	if n := strings.Count(e.get(c, "/f/INBOX").body, "(marked deleted)"); n != 3 {
		t.Errorf("the list marks %d rows as deleted, want the 3 originals", n)
	}
	tids := ticks(e.get(c, "/f/Trash").body)
	r := e.do(c, "POST", "/f/Trash/expunge", url.Values{"id": tids[:1]})
	if !strings.Contains(r.header.Get("Location"), "n=noexpunge") {
		t.Errorf("expunge without UIDPLUS = %d %q, want n=noexpunge", r.status, r.header.Get("Location"))
	}
}

// TestActionsRefused: a missing Archive, a failed copy, stale ids, a
// stale page, an undo into a reset folder and too many ids all change
// nothing and say why.
func TestActionsRefused(t *testing.T) {
	e := newEnv(t, nil)
	mb := mailbox{t: t, addr: e.demo.Addr(), user: "demo", pass: "demo"}
	raw, err := imapclient.DialInsecure(e.demo.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Login("demo", "demo").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := raw.Delete("Archive").Wait(); err != nil {
		t.Fatalf("Delete(Archive).Wait() = %v", err)
	}
	c := e.login()
	inbox := mb.count("INBOX")
	ids := ticks(e.get(c, "/f/INBOX").body)
	loc := act(t, e, c, "INBOX", "archive", ids[:1], nil, "noarchive")
	if !strings.Contains(e.get(c, loc).body, "no Archive folder") {
		t.Errorf("missing Archive notice not shown")
	}
	act(t, e, c, "INBOX", "moveto", ids[:2], url.Values{"to": {"Vanished"}}, "notmoved")
	_, uid, _ := strings.Cut(ids[0], "-")
	act(t, e, c, "INBOX", "delete", []string{"999-" + uid}, nil, "folderreset")
	if mb.count("INBOX") != inbox {
		t.Errorf("INBOX changed from %d to %d", inbox, mb.count("INBOX"))
	}
	if r := e.get(c, "/f/INBOX?page=2&top=300&v=999&before=200"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/f/INBOX?n=folderreset" {
		t.Errorf("stale page = %d %q, want 303 to page 1 with n=folderreset", r.status, r.header.Get("Location"))
	}
	if r := e.get(c, "/f/INBOX/999-"+uid); r.status != http.StatusSeeOther || r.header.Get("Location") != "/f/INBOX?n=folderreset" {
		t.Errorf("message of a stale UIDVALIDITY = %d %q, want 303 to page 1 with n=folderreset", r.status, r.header.Get("Location"))
	}
	r := e.do(c, "POST", "/undo", url.Values{"from": {"Trash"}, "to": {"INBOX"}, "id": {"999-1:3"}})
	if !strings.Contains(r.header.Get("Location"), "n=undoreset") {
		t.Errorf("undo of stale ids = %d %q, want n=undoreset", r.status, r.header.Get("Location"))
	}
	forged := "/f/INBOX?n=archived&u=" + url.QueryEscape(ids[0]) + "&uf=INBOX&ut=Trash"
	if r := e.get(c, forged); !strings.Contains(r.body, "Archived.") || notAnUndoRE.MatchString(r.body) {
		t.Errorf("a link made elsewhere shows an Undo button (or no notice)")
	}
	if r := e.get(c, forged+"&us=AAAAAAAAAAAAAAAAAAAAAA"); notAnUndoRE.MatchString(r.body) {
		t.Errorf("a forged seal shows an Undo button")
	}
	many := make([]string, maxBulk+1)
	for i := range many {
		many[i] = ids[0]
	}
	act(t, e, c, "INBOX", "read", many, nil, "toomany")
	if r := e.get(c, "/f/INBOX/act"); r.status == http.StatusOK || r.status == http.StatusSeeOther {
		t.Errorf("GET /f/INBOX/act = %d, want it refused", r.status)
	}
}

// TestMessageKeywords: keywords another program set are shown, escaped;
// "$" keywords are not.
func TestMessageKeywords(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	ids := ticks(e.get(c, "/f/INBOX").body)
	raw, err := imapclient.DialInsecure(e.demo.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Login("demo", "demo").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	_, u, _ := strings.Cut(ids[0], "-")
	uid, _ := strconv.ParseUint(u, 10, 32)
	if err := raw.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{"work", "$Label1"}}, nil).Close(); err != nil {
		t.Fatalf("Store().Close() = %v", err)
	}
	m := e.get(c, "/f/INBOX/"+ids[0])
	body := strings.ToLower(m.body) // keywords are case-insensitive; imapmemserver lowers them
	if !strings.Contains(body, "<span>work</span>") {
		t.Errorf("keywords not shown on the message page")
	}
	// Keywords mail programs keep for themselves ($Junk, $Label1...)
	// are not the user's labels (issue 14).
	if strings.Contains(body, "$label1") {
		t.Errorf("the $-keyword is shown on the message page")
	}
}

// TestUndoReturnsToPage: Undo brings the user back to the page that
// offered it (the list page the action left them on, or the next message
// an archive from a message led to), not to the folder's first page.
func TestUndoReturnsToPage(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	page2 := e.get(c, "/f/INBOX?page=2")
	ids := ticks(page2.body)
	top := regexp.MustCompile(`name="top" value="(\d+)"`).FindStringSubmatch(page2.body)
	if len(ids) < 3 || top == nil {
		t.Fatalf("INBOX page 2: %d ticks, top %v", len(ids), top)
	}
	loc := act(t, e, c, "INBOX", "archive", ids[:1], url.Values{"p": {"2"}, "top": {top[1]}}, "archived")
	if !strings.Contains(loc, "page=2") {
		t.Fatalf("Archive from page 2 went to %q", loc)
	}
	if back := undo(t, e, c, loc); !strings.HasPrefix(back, "/f/INBOX?") || !strings.Contains(back, "page=2") || !strings.Contains(back, "top="+top[1]) || strings.Contains(back, "u=") {
		t.Errorf("Undo from page 2 went to %q, want page 2 at the same anchor, without the offer", back)
	}

	// From a message: Archive goes on to the next one; Undo there opens
	// the message brought back (under its new id).
	titleRE := regexp.MustCompile(`<h1 class="subject">(.*?)</h1>`)
	archived := titleRE.FindStringSubmatch(e.get(c, "/f/INBOX/"+ids[1]).body)
	loc = act(t, e, c, "INBOX", "archive", ids[1:2], url.Values{"back": {"msg"}, "next": {ids[2]}}, "archived")
	next := "/f/INBOX/" + ids[2]
	if !strings.HasPrefix(loc, next+"?") {
		t.Fatalf("Archive from a message went to %q, want the next message %s", loc, next)
	}
	back := undo(t, e, c, loc)
	if !strings.HasPrefix(back, "/f/INBOX/") || strings.HasPrefix(back, next+"?") || strings.HasPrefix(back, "/f/INBOX/"+ids[1]+"?") {
		t.Fatalf("Undo from the next message went to %q, want the message brought back (a new id)", back)
	}
	if got := titleRE.FindStringSubmatch(e.get(c, back).body); archived == nil || got == nil || got[1] != archived[1] {
		t.Errorf("Undo opened %v, want the archived message %v", got, archived)
	}

	// A forged back that is not one of our pages is ignored.
	r := e.do(c, "POST", "/undo", url.Values{"from": {templates.EncodeFolder("Archive")}, "to": {templates.EncodeFolder("INBOX")}, "id": {"1-1"}, "back": {"//evil.example/f/x"}})
	if l := r.header.Get("Location"); !strings.HasPrefix(l, "/f/INBOX") {
		t.Errorf("Undo with a foreign back went to %q", l)
	}
}
