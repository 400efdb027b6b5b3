package handlers

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/web"
)

// The browser suite (issue 14): a person's flows, tapped through in a
// real headless Chromium against thumbmail over a real Dovecot, at phone
// sizes, with JavaScript off, once in dark mode and once with JavaScript
// on. Every page of every flow is checked the way a phone shows it: no
// sideways scrolling, the app's own tap targets at least 44 px, text at
// least 14 px, and axe-core (the npm package, injected from the local
// file) reporting no serious or critical violation. The first screen is
// checked by element positions: mail, not buttons.
//
// Run alone: go test -run TestBrowserFlows ./handlers
// THUMBMAIL_AXE names axe.min.js (default: the paths in axePaths);
// THUMBMAIL_SCREENSHOTS names a folder for the phone-size PNGs of the
// main pages (the README's docs/screenshots).

// axePaths are where axe-core's npm package is looked for when
// THUMBMAIL_AXE is not set: `npm install axe-core` at the repository's
// root (node_modules is ignored by git), or installed globally.
var axePaths = []string{
	"../node_modules/axe-core/axe.min.js",
	"/usr/local/lib/node_modules/axe-core/axe.min.js",
	"/usr/lib/node_modules/axe-core/axe.min.js",
}

// findAxe returns axe-core's source, skipping the test when it is not
// installed (failing with THUMBMAIL_REQUIRE_REAL=1).
func findAxe(t *testing.T) string {
	t.Helper()
	paths := axePaths
	if p := os.Getenv("THUMBMAIL_AXE"); p != "" {
		paths = []string{p}
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	if os.Getenv("THUMBMAIL_REQUIRE_REAL") == "1" {
		t.Fatalf("axe-core not found (THUMBMAIL_AXE or %v) and THUMBMAIL_REQUIRE_REAL=1 (npm install axe-core)", paths)
	}
	t.Skipf("axe-core not installed (npm install axe-core; or set THUMBMAIL_AXE): skipping the browser suite")
	return ""
}

// variant is one way of looking at the pages.
type variant struct {
	name string
	w, h int64
	dark bool
	js   bool
}

var variants = []variant{
	{name: "360", w: 360, h: 740},
	{name: "240", w: 240, h: 320},
	{name: "360dark", w: 360, h: 740, dark: true},
	{name: "360js", w: 360, h: 740, js: true},
}

// The known messages on top of alice's INBOX (the newest, written last).
const (
	lunchSubject   = "Lunch on Friday?"
	offsiteSubject = "Team offsite in May"
	newsSubject    = "Spring newsletter"
	menuPDF        = "%PDF-1.4 menu: soup 4, salad 5\n"
)

func knownMessages() [][]byte {
	date := func(h int) string {
		return time.Date(2026, 4, 20, h, 0, 0, 0, time.UTC).Format(time.RFC1123Z)
	}
	news := "From: Garden Club <news@garden.example>\nTo: alice@localhost\nSubject: " + newsSubject + "\nDate: " + date(9) +
		"\nMessage-ID: <news-1@garden.example>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n" +
		`<html><body style="background:#ffffff;color:#222222"><table width="600"><tr><td><h2>Spring is here</h2>` +
		`<p>Seedlings are ready. <a href="https://garden.example/shop">Visit the shop</a>.</p>` +
		`<p><img src="https://garden.example/pixel.png" alt="flowers" width="300" height="200"></p>` +
		`<p style="color:#555555">You get this because you joined the club.</p></td></tr></table></body></html>` + "\n"
	offsite := "From: Carla Diaz <carla@example.org>\nTo: alice@localhost, bob@localhost\nSubject: " + offsiteSubject + "\nDate: " + date(10) +
		"\nMessage-ID: <offsite-1@example.org>\nContent-Type: text/plain; charset=utf-8\n\nHi both,\n\nthe offsite is on 12 May at the lake house.\nPlease tell me by Friday whether you come.\n\n> Last year we had the boat.\n> Let us do that again.\n\nCarla\n"
	lunch := "From: Bob <bob@localhost>\nTo: alice@localhost\nSubject: " + lunchSubject + "\nDate: " + date(11) +
		"\nMessage-ID: <lunch-1@localhost>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n" +
		"Shall we try the new place on Friday at noon?\nThe menu is attached.\n\nBob\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"menu.pdf\"\n\n" + menuPDF + "--b--\n"
	return [][]byte{crlf(news), crlf(offsite), crlf(lunch)}
}

// browserWorld is Dovecot (IMAP, POP3, submission), an MTA delivering
// to it, and two thumbmail routers: IMAP with sending, and POP3.
type browserWorld struct {
	imap, pop3 string // base URLs
}

func startBrowserWorld(t *testing.T) *browserWorld {
	t.Helper()
	var dcp atomic.Pointer[dovecottest.Server]
	relay, err := demo.StartSMTP(&demo.SMTPOptions{NoAuth: true, Deliver: func(sub demo.Submission) error {
		return deliverLocal(dcp.Load(), sub)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	users := []dovecottest.User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}, {Name: "carol", Password: "carol-pw"}}
	dc := dovecottest.Start(t, &dovecottest.Options{Users: users, Submission: true, SubmissionRelay: relay.Addr(), POP3: true})
	dcp.Store(dc)

	var inbox [][]byte
	for _, m := range dovecottest.RealWorld(14) {
		inbox = append(inbox, m.Raw)
	}
	inbox = append(inbox, knownMessages()...)
	dc.WriteMessages(t, "alice", "INBOX", inbox, nil)
	var pop [][]byte
	for range variants {
		pop = append(pop, knownMessages()...) // one newsletter to delete per variant
	}
	dc.WriteMessages(t, "carol", "INBOX", pop, nil)

	quiet := slog.New(slog.DiscardHandler)
	imapUp, _ := mailproxy.ParseUpstream(dc.IMAPURL(), "imap")
	smtpUp, err := mailproxy.ParseUpstream(dc.SubmissionURL(), "smtp")
	if err != nil {
		t.Fatal(err)
	}
	pool := imapmail.NewPool(&imapmail.PoolOptions{IMAP: imapUp, Logger: quiet})
	t.Cleanup(pool.Close)
	serve := func(mail mailproxy.Backend, submit *send.Submitter) string {
		sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("b", 40)}, Store: web.NewMemoryStore()})
		if err != nil {
			t.Fatal(err)
		}
		h := New(Config{Sessions: sm, Mail: mail, Logger: quiet, MailDomain: "localhost", Submit: submit,
			CannedReplies: []string{"Thanks!", "Yes", "No"}})
		srv := httptest.NewServer(h.Routes())
		t.Cleanup(srv.Close)
		return srv.URL
	}
	w := &browserWorld{}
	w.imap = serve(pool, send.NewSubmitter(&send.SubmitOptions{SMTP: smtpUp, Timeout: 10 * time.Second, Logger: quiet}))
	popUp, _ := mailproxy.ParseUpstream(dc.POP3URL(), "pop3")
	backend := pop3mail.NewBackend(&pop3mail.Options{POP3: popUp, Logger: quiet})
	t.Cleanup(backend.Close)
	w.pop3 = serve(backend, nil)
	return w
}

// TestBrowserFlows runs every flow in every variant.
func TestBrowserFlows(t *testing.T) {
	axe := findAxe(t)
	world := startBrowserWorld(t)
	host := strings.TrimPrefix(world.imap, "http://")
	bctx, _ := startBrowser(t, host)
	shots := os.Getenv("THUMBMAIL_SCREENSHOTS")
	start := time.Now()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			tb := newTab(t, bctx, v, axe)
			if d := os.Getenv("THUMBMAIL_SCREENSHOTS_ALL"); d != "" {
				tb.shots = filepath.Join(d, v.name) // every variant, for looking at
				os.MkdirAll(tb.shots, 0o755)
			} else if v.name == "360" {
				tb.shots = shots
			}
			tb.base = world.imap
			tb.imapFlows()
			tb.base = world.pop3
			tb.pop3Flow()
			t.Logf("%s: %d pages checked", v.name, tb.pages)
		})
	}
	t.Logf("browser suite: %d variants in %v", len(variants), time.Since(start).Round(time.Millisecond))
}

// tab is one browser tab, its cookies cleared first, set up as a phone
// of the variant.
type tab struct {
	t     *testing.T
	ctx   context.Context
	v     variant
	axe   string
	base  string
	shots string
	pages int
	// tabStops is the number of tab stops on the last page checked.
	tabStops int
	dl       string // download folder
	done     chan string
}

func newTab(t *testing.T, bctx context.Context, v variant, axe string) *tab {
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, v: v, axe: axe, dl: t.TempDir(), done: make(chan string, 4)}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			tb.done <- e.GUID
		}
	})
	features := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}
	if v.dark {
		features[0].Value = "dark"
	}
	err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(v.w, v.h, 1, true),
		emulation.SetTouchEmulationEnabled(true),
		emulation.SetEmulatedMedia().WithFeatures(features),
		emulation.SetScriptExecutionDisabled(!v.js),
		network.ClearBrowserCookies(),
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(tb.dl).WithEventsEnabled(true),
	)
	if err != nil {
		t.Fatalf("setting up the %s tab: %v", v.name, err)
	}
	return tb
}

// run runs actions that do not navigate.
func (tb *tab) run(what string, actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.v.name, what, err)
	}
}

// load runs actions that navigate (a link, a form) and waits for the
// new page, then checks it as page name.
func (tb *tab) load(name string, actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.v.name, name, err)
	}
	if resp != nil && resp.Status >= 400 {
		tb.t.Errorf("%s: %s answered %d", tb.v.name, name, resp.Status)
	}
	tb.check(name)
}

func (tb *tab) open(name, path string) { tb.t.Helper(); tb.load(name, chromedp.Navigate(tb.base+path)) }

// tap clicks the element matched by an XPath (a visible label reads
// best: //a[.='Compose']) and waits for the page it leads to.
func (tb *tab) tap(name, xpath string) {
	tb.t.Helper()
	tb.load(name, chromedp.Click(xpath, chromedp.BySearch, chromedp.NodeVisible))
}

// eval evaluates a JavaScript expression into out.
func (tb *tab) eval(what, js string, out any) {
	tb.t.Helper()
	tb.run(what, chromedp.Evaluate(js, out))
}

func (tb *tab) text() string {
	var s string
	tb.eval("reading the page", `document.body.innerText`, &s)
	return s
}

func (tb *tab) url() string {
	var s string
	tb.eval("reading the URL", `location.href`, &s)
	return s
}

func (tb *tab) wantText(where string, wants ...string) {
	tb.t.Helper()
	got := tb.text()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			tb.t.Errorf("%s: %s: page lacks %q; it says:\n%.600s", tb.v.name, where, w, got)
		}
	}
}

// pageCheckJS measures what a phone user meets: sideways scrolling, the
// app's own tap targets under 44 px and text under 14 px (mail content
// and visually hidden text aside).
const pageCheckJS = `(() => {
	const skip = el => el.closest('.body, .vh, .skip');
	const box = el => { const r = el.getBoundingClientRect(); return r.width && r.height && getComputedStyle(el).visibility !== 'hidden' ? r : null; };
	const name = el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).replace(/ /g, '.') : '') + ' "' + (el.innerText || el.value || el.name || '').trim().slice(0, 30) + '"';
	const out = {overflow: document.documentElement.scrollWidth - window.innerWidth, targets: [], small: [], broken: [], offscreen: [], tabStops: 0};
	out.tabStops = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), textarea, select, summary')].filter(el => el.tabIndex >= 0 && box(el)).length;
	const sel = 'a.btn, button, summary, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea, .msgs a, .msgs label, .folders a, .atts a, label.check, label.all, .pick label, .thread li > a';
	for (const el of document.querySelectorAll(sel)) {
		if (skip(el)) continue;
		const r = box(el);
		if (r && (r.height < 43.5 || r.width < 43.5)) out.targets.push(name(el) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
		if (r && (r.left < -0.5 || r.right > window.innerWidth + 0.5)) out.offscreen.push(name(el) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
	}
	for (const el of document.querySelectorAll('a.btn, button, .more summary')) {
		// A button's label broken over two lines ("Newe|r") is a control
		// too narrow (sentences that fold, like compose's "Cc, Bcc..."
		// summary, may wrap).
		if (skip(el) || !box(el)) continue;
		const range = document.createRange(); range.selectNodeContents(el);
		const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
		if (tops.size > 1) out.broken.push(name(el));
	}
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	while (walk.nextNode()) {
		const el = walk.currentNode.parentElement;
		if (!walk.currentNode.data.trim() || skip(el) || !box(el)) continue;
		const fs = parseFloat(getComputedStyle(el).fontSize);
		if (fs < 14) out.small.push(name(el) + ' ' + fs + 'px');
	}
	return out;
})()`

// axeRunJS runs axe-core on the page, mail content aside (its colours
// and markup are the sender's), and returns the serious and critical
// violations.
const axeRunJS = `axe.run({exclude: [['.html']]}, {resultTypes: ['violations']}).then(r => r.violations
	.filter(v => v.impact === 'serious' || v.impact === 'critical')
	.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' [' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ') + ']'))`

// check checks the page now shown (see pageCheckJS and axeRunJS).
func (tb *tab) check(name string) {
	tb.t.Helper()
	tb.pages++
	var m struct {
		Overflow  float64
		Targets   []string
		Small     []string
		Broken    []string
		Offscreen []string
		TabStops  int
	}
	tb.eval(name+": measuring", pageCheckJS, &m)
	if m.Overflow > 0 {
		tb.t.Errorf("%s: %s scrolls sideways by %v px", tb.v.name, name, m.Overflow)
	}
	for _, s := range m.Targets {
		tb.t.Errorf("%s: %s: tap target under 44 px: %s", tb.v.name, name, s)
	}
	for _, s := range m.Small {
		tb.t.Errorf("%s: %s: text under 14 px: %s", tb.v.name, name, s)
	}
	for _, s := range m.Offscreen {
		tb.t.Errorf("%s: %s: a control sticks out of the screen: %s", tb.v.name, name, s)
	}
	for _, s := range m.Broken {
		tb.t.Errorf("%s: %s: a control's label breaks over two lines: %s", tb.v.name, name, s)
	}
	tb.tabStops = m.TabStops
	var violations []string
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Run(ctx,
		// axe needs timers; the page itself has no script (and its CSP
		// allows none), so switching them on for the check changes nothing.
		emulation.SetScriptExecutionDisabled(false),
		chromedp.Evaluate(tb.axe, nil),
		chromedp.Evaluate(axeRunJS, &violations, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		emulation.SetScriptExecutionDisabled(!tb.v.js),
	)
	if err != nil {
		tb.t.Fatalf("%s: %s: running axe: %v", tb.v.name, name, err)
	}
	for _, v := range violations {
		tb.t.Errorf("%s: %s: axe: %s", tb.v.name, name, v)
	}
}

// readmeShots are the screenshots the README shows.
var readmeShots = map[string]bool{"signin": true, "inbox": true, "message": true, "quickreply": true}

// shot writes a PNG of the viewport as name.png when screenshots are
// asked for (THUMBMAIL_SCREENSHOTS: the README's; THUMBMAIL_SCREENSHOTS_ALL:
// every one of every variant).
func (tb *tab) shot(name string) {
	if tb.shots == "" || (tb.v.name == "360" && !readmeShots[name] && os.Getenv("THUMBMAIL_SCREENSHOTS_ALL") == "") {
		return
	}
	var png []byte
	tb.run("screenshot", chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join(tb.shots, name+".png"), png, 0o644); err != nil {
		tb.t.Errorf("writing %s.png: %v", name, err)
	}
}

// firstScreen checks the first-screen rules on the page as loaded (not
// scrolled): list rows, or a message's first line of text.
func (tb *tab) firstScreenList(where string) {
	tb.t.Helper()
	var bottoms []float64
	tb.eval("row positions", `window.scrollTo(0, 0), [...document.querySelectorAll('.msgs li')].slice(0, 5).map(li => li.getBoundingClientRect().bottom)`, &bottoms)
	want := 1
	if tb.v.h >= 700 {
		want = 5
	}
	if len(bottoms) < want {
		tb.t.Fatalf("%s: %s has %d rows", tb.v.name, where, len(bottoms))
	}
	if bottoms[want-1] > float64(tb.v.h) {
		tb.t.Errorf("%s: %s: row %d ends at y=%.0f, below the first screen (%d px)", tb.v.name, where, want, bottoms[want-1], tb.v.h)
	}
	var top float64
	tb.eval("row position", `document.querySelector('.msgs li').getBoundingClientRect().top`, &top)
	tb.t.Logf("%s: %s: first row at y=%.0f–%.0f, row %d ends at y=%.0f (screen %d)", tb.v.name, where, top, bottoms[0], want, bottoms[want-1], tb.v.h)
}

func (tb *tab) firstScreenMessage(where string) {
	tb.t.Helper()
	var bottom float64
	tb.eval("first line", `(() => {
		window.scrollTo(0, 0);
		const body = document.querySelector('.body');
		const w = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
		while (w.nextNode()) {
			if (!w.currentNode.data.trim()) continue;
			const r = document.createRange(); r.selectNodeContents(w.currentNode);
			const rects = r.getClientRects();
			if (rects.length) return rects[0].bottom;
		}
		return 1e6;
	})()`, &bottom)
	if bottom > float64(tb.v.h) {
		tb.t.Errorf("%s: %s: the first line of text ends at y=%.0f, below the first screen (%d px)", tb.v.name, where, bottom, tb.v.h)
	}
	tb.t.Logf("%s: %s: first line of text ends at y=%.0f (screen %d)", tb.v.name, where, bottom, tb.v.h)
}

// row is the XPath of a list row's link by its subject.
func row(subject string) string {
	return `//ul[@class="msgs"]//a[.//i[contains(., ` + xq(subject) + `)]]`
}

// tick is the XPath of a list row's checkbox by its subject.
func tick(subject string) string {
	return `//ul[@class="msgs"]/li[.//i[contains(., ` + xq(subject) + `)]]//input[@type="checkbox"]`
}

func button(label string) string {
	return `//*[self::button or self::a or self::summary][normalize-space(.)=` + xq(label) + `]`
}

// xq quotes s as an XPath string literal.
func xq(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}

func (tb *tab) signIn(user, pass string) {
	tb.t.Helper()
	tb.open("sign-in", "/login")
	tb.run("typing the sign-in form",
		chromedp.SendKeys("#username", user, chromedp.ByID),
		chromedp.SendKeys("#password", pass, chromedp.ByID))
	tb.shot("signin")
	tb.tap("inbox after sign-in", button("Sign in"))
	tb.wantText("after sign-in", "Inbox")
}

// imapFlows: sign in → inbox → message → quick reply → Sent; star,
// archive, Undo; search; attachment; draft; sign out.
func (tb *tab) imapFlows() {
	t := tb.t
	tag := "variant " + tb.v.name
	tb.signIn("alice", "alice-pw")
	tb.firstScreenList("Inbox")
	tb.t.Logf("%s: Inbox: %d tab stops", tb.v.name, tb.tabStops)
	tb.shot("inbox")
	var title string
	tb.eval("title", `document.title`, &title)
	if !strings.HasPrefix(title, "(") || !strings.Contains(title, "Inbox") {
		t.Errorf("%s: Inbox title %q lacks the unread count", tb.v.name, title)
	}

	// Open a message; quick reply; see it in Sent.
	tb.tap("message", row(lunchSubject))
	tb.firstScreenMessage("message")
	tb.shot("message")
	tb.run("opening More", chromedp.Click(`//div[contains(@class,"bar")]/details/summary`, chromedp.BySearch))
	tb.check("message with More open")
	tb.shot("message-more")
	tb.run("closing More", chromedp.Click(`//div[contains(@class,"bar")]/details/summary`, chromedp.BySearch))
	tb.wantText("message", "Shall we try the new place", "To: Bob <bob@localhost>")
	reply := "Noon works for me, " + tag + "."
	tb.run("typing the quick reply", chromedp.SendKeys("#qrtext", reply, chromedp.ByID))
	tb.run("scrolling to the quick reply", chromedp.ScrollIntoView("#qrtext", chromedp.ByID))
	tb.shot("quickreply")
	tb.tap("after the quick reply", `//form[@class="qr"]//button[normalize-space(.)="Send"]`)
	tb.wantText("after the quick reply", "Sent.")
	tb.tap("folders", button("‹ Inbox"))
	tb.tap("folders", button("Folders"))
	tb.tap("Sent", `//ul[@class="folders"]//a[.//span[.="Sent"]]`)
	tb.wantText("Sent", "Re: "+lunchSubject, tag)

	// Star from the list (back at the row), archive from the message
	// (on to the next message), Undo.
	tb.tap("folders", button("Folders"))
	tb.tap("Inbox", `//ul[@class="folders"]//a[.//span[.="Inbox"]]`)
	tb.run("ticking a row", chromedp.Click(tick(offsiteSubject), chromedp.BySearch))
	tb.run("opening More", chromedp.Click(`//form[@class="sel"]/div[@class="acts"]/details/summary`, chromedp.BySearch))
	tb.check("list with More open")
	tb.shot("list-more")
	tb.tap("after starring", `//form[@class="sel"]/div[@class="acts"]//button[.="Star"]`)
	tb.wantText("after starring", "Starred.")
	if u := tb.url(); !strings.Contains(u, "#m") {
		t.Errorf("%s: after starring the page is %s, not at the row", tb.v.name, u)
	}
	var starred bool
	tb.eval("star mark", `!!document.evaluate(`+"`"+tick(offsiteSubject)+"/ancestor::li//span[contains(@class,'star')]`"+`, document, null, 9, null).singleNodeValue`, &starred)
	if !starred {
		t.Errorf("%s: the starred row shows no star", tb.v.name)
	}
	tb.tap("message to archive", row(offsiteSubject))
	tb.tap("after archiving", button("Archive"))
	tb.wantText("after archiving", "Archived.")
	if strings.Contains(tb.text(), "the offsite is on 12 May") {
		t.Errorf("%s: after archiving, the archived message is still shown", tb.v.name)
	}
	var hasBody bool
	tb.eval("next message", `!!document.querySelector('.body, .empty')`, &hasBody)
	if !hasBody {
		t.Errorf("%s: archiving did not go on to the next message: %s", tb.v.name, tb.url())
	}
	// Undo there opens the message brought back.
	tb.tap("after Undo", button("Undo"))
	tb.wantText("after Undo", "Undone", offsiteSubject, "the offsite is on 12 May")
	tb.tap("Inbox after Undo", button("‹ Inbox"))
	tb.wantText("Inbox after Undo", offsiteSubject)
	// "‹ Inbox" lands at the message's row; the search box is at the top,
	// under the sticky bar, as a user scrolls back up to it.
	var top bool
	tb.eval("scrolling to the top", `window.scrollTo(0, 0), true`, &top)

	// Search in the folder, then in all folders (hits name their folder).
	tb.run("typing a search", chromedp.SendKeys(`input[type=search]`, "offsite", chromedp.ByQuery))
	tb.tap("search results", button("Search"))
	tb.wantText("search results", offsiteSubject)
	tb.run("ticking All folders", chromedp.Click(`input[name=all]`, chromedp.ByQuery))
	tb.run("typing a search", chromedp.SendKeys(`input[type=search]`, kb.End+strings.Repeat(kb.Backspace, 20)+"Noon works", chromedp.ByQuery))
	tb.tap("all-folder search results", button("Search"))
	tb.wantText("all-folder search results", "in Sent")

	// Download an attachment.
	tb.tap("folders", button("Folders"))
	tb.tap("Inbox", `//ul[@class="folders"]//a[.//span[.="Inbox"]]`)
	tb.tap("message with an attachment", row(lunchSubject))
	tb.run("tapping the attachment", chromedp.Click(`//ul[@class="atts"]//a`, chromedp.BySearch))
	select {
	case guid := <-tb.done:
		got, err := os.ReadFile(filepath.Join(tb.dl, guid))
		if err != nil || string(got) != strings.TrimSuffix(menuPDF, "\n") {
			t.Errorf("%s: downloaded %q (%v), want the attachment's bytes", tb.v.name, got, err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("%s: the attachment download did not complete", tb.v.name)
	}

	// Save a draft, find it in Drafts, resume it, send it.
	draft := "Plans " + tag
	tb.tap("compose", button("Compose"))
	tb.run("typing a draft",
		chromedp.SendKeys("#to", "bob@localhost", chromedp.ByID),
		chromedp.SendKeys("#subject", draft, chromedp.ByID),
		chromedp.SendKeys("#body", "Let us plan the trip.", chromedp.ByID))
	tb.tap("draft saved", button("Save draft"))
	tb.wantText("draft saved", "Draft saved.")
	tb.tap("folders", button("Folders"))
	tb.tap("Drafts", `//ul[@class="folders"]//a[.//span[.="Drafts"]]`)
	tb.tap("the draft", row(draft))
	page := tb.text()
	for _, want := range []string{"Edit", "Send", "Delete"} {
		tb.wantText("the draft", want)
	}
	var qr, junk bool
	tb.eval("draft page", `!!document.querySelector('.qr')`, &qr)
	tb.eval("draft page", `[...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'Junk')`, &junk)
	if qr || junk || strings.Contains(page, "Thanks!") {
		t.Errorf("%s: a draft opens with a quick reply, canned replies or Junk", tb.v.name)
	}
	tb.tap("draft resumed", button("Edit"))
	var subject string
	tb.eval("draft resumed", `document.querySelector('#subject').value`, &subject)
	if subject != draft {
		t.Errorf("%s: the resumed draft's subject is %q, want %q", tb.v.name, subject, draft)
	}
	tb.tap("draft sent", `//div[@class="sendbar"]/button[.="Send"]`)
	tb.wantText("draft sent", "Sent.")

	// A draft sent as it is, from its own page.
	ready := "Ready " + tag
	tb.tap("compose", button("Compose"))
	tb.run("typing a draft",
		chromedp.SendKeys("#to", "bob@localhost", chromedp.ByID),
		chromedp.SendKeys("#subject", ready, chromedp.ByID),
		chromedp.SendKeys("#body", "All set.", chromedp.ByID))
	tb.tap("draft saved", button("Save draft"))
	tb.tap("folders", button("Folders"))
	tb.tap("Drafts", `//ul[@class="folders"]//a[.//span[.="Drafts"]]`)
	tb.tap("the ready draft", row(ready))
	tb.tap("ready draft sent", `//div[contains(@class,"bar")]//button[.="Send"]`)
	tb.wantText("ready draft sent", "Sent.")
	if strings.Contains(tb.text(), ready) {
		t.Errorf("%s: the draft sent from its page is still in Drafts", tb.v.name)
	}

	// Sign out; Back shows nothing private.
	tb.tap("signed out", button("Sign out"))
	tb.wantText("signed out", "signed out")
	tb.load("back after signing out", chromedp.NavigateBack())
	if got := tb.text(); strings.Contains(got, lunchSubject) || strings.Contains(got, draft) || strings.Contains(got, "Bob") {
		t.Errorf("%s: Back after signing out shows private mail:\n%.400s", tb.v.name, got)
	}
}

// pop3Flow: a POP3 account signs in, reads, deletes, signs out.
func (tb *tab) pop3Flow() {
	tb.signIn("carol", "carol-pw")
	tb.firstScreenList("POP3 Inbox")
	tb.tap("POP3 message", row(newsSubject))
	if tb.v.dark {
		tb.shot("newsletter-dark")
		// HTML mail keeps its own colours on its own light surface.
		var colors []string
		tb.eval("mail surface", `(() => { const b = document.querySelector('.html'), a = b.querySelector('a'); return [getComputedStyle(b).backgroundColor, getComputedStyle(a).color, getComputedStyle(document.body).backgroundColor]; })()`, &colors)
		if len(colors) != 3 || colors[0] != "rgb(255, 255, 255)" || colors[1] != "rgb(11, 87, 208)" || colors[2] == colors[0] {
			tb.t.Errorf("%s: HTML mail in dark mode: surface, link, page = %v; want white, #0b57d0, dark", tb.v.name, colors)
		}
	}
	tb.tap("POP3 after delete", button("Delete"))
	tb.wantText("POP3 after delete", "Deleted.")
	tb.tap("POP3 signed out", button("Sign out"))
}
