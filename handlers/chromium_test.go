package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/debugger"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findChromium returns the headless browser to test with, skipping the
// test when none is installed (failing with THUMBMAIL_REQUIRE_REAL=1).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("THUMBMAIL_REQUIRE_REAL") == "1" {
		t.Fatal("chromium not found and THUMBMAIL_REQUIRE_REAL=1 (Debian: apt-get install chromium)")
	}
	t.Skip("chromium not installed (Debian: apt-get install chromium); skipping the browser test")
	return ""
}

// browserWatch records, for the page being loaded, everything a hostile
// message could make a browser do: run script (any script the page
// compiles, reported by the debugger), open a dialog, log to the console,
// make a request to a host other than ours, or open a frame.
type browserWatch struct {
	local string // host:port of our server
	mu    sync.Mutex
	seen  []string
	// allowRemoteImages accepts image requests elsewhere (?images=1).
	allowRemoteImages bool
}

func (w *browserWatch) add(format string, args ...any) {
	w.mu.Lock()
	w.seen = append(w.seen, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *browserWatch) reset(allowRemoteImages bool) {
	w.mu.Lock()
	w.seen = nil
	w.allowRemoteImages = allowRemoteImages
	w.mu.Unlock()
}

func (w *browserWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen
	w.seen = nil
	return s
}

func (w *browserWatch) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *debugger.EventScriptParsed:
			// Our own Runtime.evaluate calls have no URL; anything the page
			// compiles (script elements, handlers, javascript: URLs) does.
			if ev.URL != "" {
				w.add("script compiled: %s (%d bytes)", ev.URL, ev.Length)
			}
		case *page.EventJavascriptDialogOpening:
			w.add("dialog %s: %q", ev.Type, ev.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(false))
		case *runtime.EventConsoleAPICalled:
			w.add("console.%s", ev.Type)
		case *page.EventFrameAttached:
			w.add("frame attached %s", ev.FrameID)
		case *page.EventWindowOpen:
			w.add("window.open %s", ev.URL)
		case *network.EventRequestWillBeSent:
			u, err := url.Parse(ev.Request.URL)
			if err != nil || u.Host != w.local || (u.Scheme != "http" && u.Scheme != "https") {
				w.mu.Lock()
				allowed := w.allowRemoteImages && ev.Type == network.ResourceTypeImage &&
					(u.Scheme == "http" || u.Scheme == "https")
				w.mu.Unlock()
				if !allowed {
					w.add("request to %s (%s)", ev.Request.URL, ev.Type)
				}
			}
		case *network.EventWebSocketCreated:
			w.add("websocket %s", ev.URL)
		}
	})
}

// startBrowser starts one headless Chromium for the whole test.
func startBrowser(t *testing.T, local string) (context.Context, *browserWatch) {
	t.Helper()
	bin := findChromium(t)
	// Not t.TempDir: Chromium's helper processes may still be writing
	// profile files for a moment after the browser exits.
	profile, err := os.MkdirTemp("", "thumbmail-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// No real DNS: a request that slipped through must not leave
		// the machine (it is still seen and reported).
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		chromedp.Cancel(ctx) // closes the browser and waits for it
		cancel()
		cancelA()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	w := &browserWatch{local: local}
	w.listen(ctx)
	// The first Run starts the browser and binds it to ctx: it must not
	// be a context that ends sooner.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	start, cancelStart := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStart()
	err = chromedp.Run(start,
		network.Enable(),
		page.Enable(),
		runtime.Enable(),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := debugger.Enable().Do(ctx)
			return err
		}),
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorDeny),
	)
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx, w
}

// visit loads u, lets timers and animations run briefly, and returns what
// the page did plus the markers hostile payloads set.
func visit(ctx context.Context, w *browserWatch, u string, allowRemoteImages bool) ([]string, error) {
	w.reset(allowRemoteImages)
	nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var marker, href string
	err := chromedp.Run(nctx,
		chromedp.Navigate(u),
		chromedp.Sleep(30*time.Millisecond),
		chromedp.Evaluate(`String(window.__x) + (document.cookie ? " cookie" : "")`, &marker),
		chromedp.Evaluate(`location.href`, &href),
	)
	if err != nil {
		return nil, err
	}
	seen := w.take()
	if marker != "undefined" {
		seen = append(seen, "marker window.__x = "+marker)
	}
	if href != u {
		seen = append(seen, "navigated away to "+href)
	}
	return seen, nil
}

// TestChromiumHostileCorpus loads every hostile vector's message page in
// a real headless Chromium and fails on any script compiled, dialog,
// console call, frame, or request to a non-local host. A control page
// without our CSP first proves the hooks see what the vectors attempt.
func TestChromiumHostileCorpus(t *testing.T) {
	e := newEnv(t, nil)
	local := strings.TrimPrefix(e.srv.URL, "http://")
	ctx, w := startBrowser(t, local)

	// The control: the same kinds of payload, served without protection,
	// on a page of our host.
	control := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		fmt.Fprint(rw, `<script>window.__x=1;alert(1);fetch('http://evil.example/ctl')</script><img src="http://evil.example/img">`)
	}))
	defer control.Close()
	w.local = strings.TrimPrefix(control.URL, "http://")
	seen, err := visit(ctx, w, control.URL+"/", false)
	if err != nil {
		t.Fatalf("loading the control page: %v", err)
	}
	got := strings.Join(seen, "\n")
	for _, want := range []string{"script compiled", "dialog alert", "request to http://evil.example/ctl", "request to http://evil.example/img", "marker window.__x = 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("the browser hook missed %q on the control page; saw:\n%s", want, got)
		}
	}
	w.local = local

	c := e.login()
	vectors := e.putHostileCorpus(c)
	var cookies []*network.CookieParam
	for _, k := range c.Jar.Cookies(mustURL(e.srv.URL)) {
		cookies = append(cookies, &network.CookieParam{Name: k.Name, Value: k.Value, URL: e.srv.URL, HTTPOnly: true})
	}
	if err := chromedp.Run(ctx, network.SetCookies(cookies)); err != nil {
		t.Fatalf("setting the session cookie: %v", err)
	}
	start := time.Now()
	for _, v := range vectors {
		for _, images := range []bool{false, true} {
			u := e.srv.URL + v.url
			if images {
				u += "?images=1"
			}
			seen, err := visit(ctx, w, u, images)
			if err != nil {
				t.Errorf("%s: loading %s: %v", v.name, u, err)
				continue
			}
			for _, s := range seen {
				t.Errorf("%s (images=%v): %s", v.name, images, s)
			}
		}
	}
	// The session cookie is HttpOnly: no script could have read it, and
	// the check above would have reported any that ran.
	var title string
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+vectors[0].url), chromedp.Title(&title)); err != nil || strings.Contains(title, "Sign in") {
		t.Errorf("the browser was not signed in (title %q, %v): the pages tested were not message pages", title, err)
	}
	t.Logf("%d vectors, %d page loads in %v", len(vectors), 2*len(vectors), time.Since(start).Round(time.Millisecond))
}

var _ = cdp.FrameID("") // cdp is used by the event types' fields
