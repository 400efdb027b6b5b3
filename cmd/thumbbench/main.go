// Command thumbbench measures thumbmail against a real Dovecot on loopback
// and prints every figure of issue 16's table with its budget, all
// measured in the same run: the raw IMAP floor, warm list pages on 2,000
// and 100,000 messages, a cold sign-in, opening messages (one with a
// 25 MB attachment), downloading that attachment, throughput under 8
// concurrent clients against a build of an older commit, a thousand
// signed-in sessions and page weights.
//
// Run it by hand from the module (Dovecot installed, as root):
//
//	go run ./cmd/thumbbench          # the full run, several minutes
//	go run ./cmd/thumbbench -quick   # smaller counts, about two minutes
//	go run ./cmd/thumbbench -json    # the same figures as JSON
//
// Ratios are the point: the machine may be shared and noisy, so every
// budget compares figures taken in the same run, interleaved where they
// are compared with each other.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
)

// result is one line of the table.
type result struct {
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Detail string  `json:"detail,omitempty"`
	Budget string  `json:"budget,omitempty"`
	Pass   *bool   `json:"pass,omitempty"`
	Error  string  `json:"error,omitempty"`
}

type config struct {
	quick                  bool
	jsonOut                bool
	base                   string
	n2k, n100k, sessions   int
	sessionUsers, perUser  int
	iters, coldIters       int
	duration               time.Duration
	bigMB                  int
	skipSessions, skipLoad bool
}

type bench struct {
	cfg     config
	tb      *benchTB
	srv     *dovecottest.Server
	cur     *instance // this checkout
	proxied *instance // this checkout, through a byte-counting proxy
	base    *instance // the base commit, or nil
	proxy   *countingProxy
	curBin  string
	results []result
}

func (b *bench) add(r result) {
	b.results = append(b.results, r)
	if !b.cfg.jsonOut {
		log.Printf("%s: %s", r.Figure, valueText(r))
	}
}

func (b *bench) fail(figure string, err error) {
	b.add(result{Figure: figure, Error: err.Error()})
}

func pass(ok bool) *bool { return &ok }

const password = "thumbbench-pw"

func main() {
	var c config
	flag.BoolVar(&c.quick, "quick", false, "smaller counts (10,000 instead of 100,000 messages, 100 sessions, shorter loads): about two minutes")
	flag.BoolVar(&c.jsonOut, "json", false, "print the results as JSON instead of a table")
	flag.StringVar(&c.base, "base", "3322e6e", "`commit` to compare throughput against (built from a temporary git worktree); empty to skip")
	flag.IntVar(&c.n2k, "small", 2000, "messages in the small INBOX")
	flag.IntVar(&c.n100k, "large", 100000, "messages in the large INBOX")
	flag.IntVar(&c.sessions, "sessions", 1000, "signed-in sessions for the memory figure")
	flag.IntVar(&c.iters, "n", 400, "requests per latency figure")
	flag.DurationVar(&c.duration, "load", 5*time.Second, "length of each throughput run")
	flag.IntVar(&c.bigMB, "big", 25, "`MB` of the big attachment")
	flag.BoolVar(&c.skipSessions, "no-sessions", false, "skip the many-sessions figure")
	flag.BoolVar(&c.skipLoad, "no-load", false, "skip the throughput figures")
	flag.Parse()
	c.sessionUsers, c.perUser, c.coldIters = 50, 200, 40
	if c.quick {
		c.n100k = min(c.n100k, 10000)
		c.sessions = min(c.sessions, 100)
		c.iters = min(c.iters, 100)
		c.duration = min(c.duration, 2*time.Second)
		c.coldIters = 15
	}
	log.SetFlags(log.Ltime)
	raiseFileLimit()

	b := &bench{cfg: c, tb: &benchTB{}}
	code := 0
	func() {
		defer func() {
			if r := recover(); r != nil {
				if a, ok := r.(errAbort); ok {
					log.Printf("thumbbench: %s", a.msg)
				} else {
					log.Printf("thumbbench: %v\n%s", r, debug.Stack())
				}
				code = 1
			}
		}()
		b.run()
	}()
	b.tb.cleanUp()
	if code == 0 {
		b.print()
	}
	os.Exit(code)
}

func (b *bench) run() {
	c := b.cfg
	root, err := moduleRoot()
	if err != nil {
		b.tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "thumbbench-")
	if err != nil {
		b.tb.Fatal(err)
	}
	b.tb.Cleanup(func() { os.RemoveAll(dir) })

	// Build this checkout and the base commit while Dovecot fills.
	b.curBin = filepath.Join(dir, "thumbmail")
	baseBin := filepath.Join(dir, "thumbmail-base")
	var builds sync.WaitGroup
	var curErr, baseErr error
	builds.Add(1)
	go func() {
		defer builds.Done()
		log.Printf("building this checkout")
		if curErr = buildThumbmail(root, b.curBin); curErr != nil {
			return
		}
		if c.base != "" {
			log.Printf("building %s", c.base)
			baseErr = buildBase(root, c.base, baseBin)
		}
	}()

	users := []dovecottest.User{{Name: "alice", Password: password}, {Name: "bob", Password: password}, {Name: "carol", Password: password}}
	for i := range c.sessionUsers {
		users = append(users, dovecottest.User{Name: userName("s", i), Password: password})
	}
	for i := range c.sessions {
		users = append(users, dovecottest.User{Name: userName("u", i), Password: password})
	}
	log.Printf("starting Dovecot with %d users", len(users))
	b.srv = dovecottest.Start(b.tb, &dovecottest.Options{
		Users:                users,
		MaxUserIPConnections: 2 * c.sessions,
		Extra: []string{
			"default_process_limit = " + fmt.Sprint(c.sessions+500),
			"default_client_limit = " + fmt.Sprint(4*c.sessions+1000),
			"service imap {\n  process_limit = " + fmt.Sprint(c.sessions+500) + "\n}",
		},
	})
	start := time.Now()
	small := mixedMessages(c.n2k)
	b.srv.WriteMessages(b.tb, "alice", "INBOX", small, nil)
	b.srv.WriteMessages(b.tb, "carol", "INBOX", small, nil)
	b.srv.WriteMessages(b.tb, "alice", "Big", [][]byte{bigMessage(c.bigMB << 20)}, nil)
	few := small[len(small)-c.perUser:]
	for i := range c.sessionUsers {
		b.srv.WriteMessages(b.tb, userName("s", i), "INBOX", few, nil)
	}
	small = nil
	log.Printf("writing %d messages for bob", c.n100k)
	b.srv.WriteMessages(b.tb, "bob", "INBOX", mixedMessages(c.n100k), nil)
	log.Printf("mailboxes filled in %v", time.Since(start).Round(time.Millisecond))

	builds.Wait()
	if curErr != nil {
		b.tb.Fatalf("building thumbmail: %v", curErr)
	}
	imapURL := b.srv.IMAPURL()
	if b.cur, err = startInstance(b.tb, "this checkout", b.curBin, imapURL); err != nil {
		b.tb.Fatal(err)
	}
	if b.proxy, err = newCountingProxy(b.tb, b.srv.IMAPAddr); err != nil {
		b.tb.Fatal(err)
	}
	if b.proxied, err = startInstance(b.tb, "this checkout, counted", b.curBin, "imap+insecure://"+b.proxy.addr); err != nil {
		b.tb.Fatal(err)
	}
	if c.base != "" {
		if baseErr != nil {
			b.fail("build of "+c.base, baseErr)
		} else if b.base, err = startInstance(b.tb, c.base, baseBin, imapURL); err != nil {
			b.fail("start of "+c.base, err)
			b.base = nil
		}
	}

	b.latency()
	b.coldSignIn()
	b.openMessages()
	if !c.skipLoad {
		b.throughput()
	}
	if !c.skipSessions {
		b.manySessions()
	}
	b.pageWeights()
}

// signedIn returns a browser signed in to in as user, its first list
// page loaded.
func (b *bench) signedIn(in *instance, user, folder string) *browser {
	br := newBrowser(in.url)
	if err := br.login(user, password); err != nil {
		b.tb.Fatalf("%s: %v", in.name, err)
	}
	if _, err := br.getOK("/f/" + folder); err != nil {
		b.tb.Fatalf("%s: %v", in.name, err)
	}
	return br
}

// latency interleaves the raw floor with thumbmail's warm list pages, so
// that the machine's noise falls on all of them alike.
func (b *bench) latency() {
	c := b.cfg
	log.Printf("latency: %d rounds of floor, list 2k, list %d", c.iters, c.n100k)
	raw, err := dialRaw(b.srv.IMAPAddr, "alice", password, "INBOX")
	if err != nil {
		b.tb.Fatal(err)
	}
	defer raw.close()
	alice := b.signedIn(b.cur, "alice", "INBOX")
	bob := b.signedIn(b.cur, "bob", "INBOX")
	var baseAlice *browser
	if b.base != nil {
		baseAlice = b.signedIn(b.base, "alice", "INBOX")
	}
	for range 5 { // warm: Dovecot's indexes, the row cache, connections
		raw.floor()
		alice.getOK("/f/INBOX")
		bob.getOK("/f/INBOX")
		if baseAlice != nil {
			baseAlice.getOK("/f/INBOX")
		}
	}
	var floor, flags, health, list2k, list100k, listBase []time.Duration
	for range c.iters {
		steps := []struct {
			into *[]time.Duration
			f    func() error
		}{
			{&floor, raw.floor},
			{&flags, raw.flags},
			{&health, func() error { _, err := alice.getOK("/healthz"); return err }},
			{&list2k, func() error { _, err := alice.getOK("/f/INBOX"); return err }},
			{&list100k, func() error { _, err := bob.getOK("/f/INBOX"); return err }},
		}
		if baseAlice != nil {
			steps = append(steps, struct {
				into *[]time.Duration
				f    func() error
			}{&listBase, func() error { _, err := baseAlice.getOK("/f/INBOX"); return err }})
		}
		for _, s := range steps {
			d, err := timed(s.f)
			if err != nil {
				b.tb.Fatalf("latency: %v", err)
			}
			*s.into = append(*s.into, d)
		}
	}
	fl, l2, l100 := percentiles(floor), percentiles(list2k), percentiles(list100k)
	b.add(result{Figure: "raw IMAP floor p50 (NOOP + FETCH 50 ENVELOPE FLAGS RFC822.SIZE UID, held connection)", Value: fl.p50, Unit: "ms"})
	b.add(result{Figure: "raw IMAP floor p99", Value: fl.p99, Unit: "ms"})
	b.add(result{Figure: "FETCH 50 (UID FLAGS) alone p50", Value: percentiles(flags).p50, Unit: "ms"})
	b.add(result{Figure: "HTTP round trip, no mail (/healthz) p50", Value: percentiles(health).p50, Unit: "ms"})
	b.add(result{Figure: fmt.Sprintf("warm list p50, %d", c.n2k), Value: l2.p50, Unit: "ms", Detail: fmt.Sprintf("%.2f × floor", l2.p50/fl.p50), Budget: "≤ 1.0 × floor p50", Pass: pass(l2.p50 <= fl.p50)})
	b.add(result{Figure: fmt.Sprintf("warm list p99, %d", c.n2k), Value: l2.p99, Unit: "ms", Detail: fmt.Sprintf("%.2f × floor p99", l2.p99/fl.p99), Budget: "≤ 2.0 × floor p99", Pass: pass(l2.p99 <= 2*fl.p99)})
	b.add(result{Figure: fmt.Sprintf("warm list p50, %d", c.n100k), Value: l100.p50, Unit: "ms", Detail: fmt.Sprintf("%.2f × the small one", l100.p50/l2.p50), Budget: "≤ 1.1 × the small one", Pass: pass(l100.p50 <= 1.1*l2.p50)})
	if baseAlice != nil {
		lb := percentiles(listBase)
		b.add(result{Figure: fmt.Sprintf("warm list p50, %d, %s (for reference)", c.n2k, b.cfg.base), Value: lb.p50, Unit: "ms", Detail: fmt.Sprintf("%.2f × floor; p99 %.2f ms", lb.p50/fl.p50, lb.p99)})
	}
}

// coldSignIn compares signing in and seeing the first page with doing
// the IMAP of it directly, alternately.
func (b *bench) coldSignIn() {
	n := b.cfg.coldIters
	log.Printf("cold sign-in: %d rounds", n)
	var direct, thumb, signIn, firstPage []time.Duration
	for round := range n + 2 { // two rounds to warm Dovecot's indexes first
		d, err := timed(func() error { return directColdList(b.srv.IMAPAddr, "carol", password) })
		if err != nil {
			b.fail("cold sign-in", err)
			return
		}
		if round >= 2 {
			direct = append(direct, d)
		}
		br := newBrowser(b.cur.url)
		if _, err := br.getOK("/login"); err != nil { // the sign-in form, before the clock starts
			b.fail("cold sign-in", err)
			return
		}
		var login time.Duration
		d, err = timed(func() error {
			var err error
			if login, err = timed(func() error { return br.login("carol", password) }); err != nil {
				return err
			}
			_, err = br.getOK("/f/INBOX")
			return err
		})
		if err != nil {
			b.fail("cold sign-in", err)
			return
		}
		if round >= 2 {
			thumb, signIn, firstPage = append(thumb, d), append(signIn, login), append(firstPage, d-login)
		}
		br.logout() // the last session: the row cache is dropped, next round is cold
	}
	dp, tp := percentiles(direct).p50, percentiles(thumb).p50
	b.add(result{Figure: "dial + LOGIN + SELECT + FETCH 50, directly, p50", Value: dp, Unit: "ms"})
	b.add(result{Figure: "cold sign-in to first list page p50", Value: tp, Unit: "ms", Detail: fmt.Sprintf("%.2f × direct; sign-in %.1f ms, first page %.1f ms", tp/dp, percentiles(signIn).p50, percentiles(firstPage).p50), Budget: "≤ 1.3 × direct", Pass: pass(tp <= 1.3*dp)})
}

// openMessages opens the newest message (first and again) and the one
// with the big attachment, counting the bytes read from IMAP, and
// downloads the attachment, watching the RSS.
func (b *bench) openMessages() {
	log.Printf("opening messages")
	alice := b.signedIn(b.cur, "alice", "INBOX")
	list, _ := alice.getOK("/f/INBOX")
	link, err := firstMatch(messageLinkRE, list)
	if err != nil {
		b.fail("open a message", err)
		return
	}
	var opens []time.Duration
	for range min(b.cfg.iters, 100) {
		d, err := timed(func() error { _, err := alice.getOK(link); return err })
		if err != nil {
			b.fail("open a message", err)
			return
		}
		opens = append(opens, d)
	}
	o := percentiles(opens)
	b.add(result{Figure: "open a message p50 (warm, with previous/next and conversation)", Value: o.p50, Unit: "ms", Detail: fmt.Sprintf("p99 %.2f ms", o.p99)})

	counted := b.signedIn(b.proxied, "alice", "Big")
	big, _ := counted.getOK("/f/Big")
	link, err = firstMatch(messageLinkRE, big)
	if err != nil {
		b.fail("open the big message", err)
		return
	}
	before := b.proxy.down.Load()
	page, err := counted.getOK(link)
	if err != nil {
		b.fail("open the big message", err)
		return
	}
	read := float64(b.proxy.down.Load()-before) / 1024
	b.add(result{Figure: fmt.Sprintf("open the message with the %d MB attachment: bytes read from IMAP", b.cfg.bigMB), Value: read, Unit: "KB", Budget: "≤ 256 KB", Pass: pass(read <= 256)})

	part, err := firstMatch(partLinkRE, page)
	if err != nil {
		b.fail("download the attachment", err)
		return
	}
	rss0 := b.proxied.rss()
	var got int64
	peak, err := peakRSS(b.proxied, func() error {
		resp, err := counted.c.Get(counted.base + part)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			got += int64(n)
			if err != nil {
				break
			}
		}
		return nil
	})
	if err != nil {
		b.fail("download the attachment", err)
		return
	}
	growth := float64(peak-rss0) / (1 << 20)
	ok := growth <= 8 && got >= int64(b.cfg.bigMB)<<20
	b.add(result{Figure: fmt.Sprintf("download the %d MB attachment: RSS growth", b.cfg.bigMB), Value: growth, Unit: "MB", Detail: fmt.Sprintf("%.1f MB received", float64(got)/(1<<20)), Budget: "≤ 8 MB", Pass: pass(ok)})
}

// pageWeights weighs the pages as sent, raw and gzipped.
func (b *bench) pageWeights() {
	log.Printf("page weights")
	alice := b.signedIn(b.cur, "alice", "INBOX")
	list, _ := alice.getOK("/f/INBOX")
	msg, err := firstMatch(messageLinkRE, list)
	if err != nil {
		b.fail("page weights", err)
		return
	}
	css, err := firstMatch(cssLinkRE, list)
	if err != nil {
		b.fail("page weights", err)
		return
	}
	for _, p := range []struct {
		name, path string
		raw, gz    float64 // budgets in KB, 0 for none
	}{
		{name: "list page (50 rows)", path: "/f/INBOX", raw: 20, gz: 5},
		{name: "message page", path: msg},
		{name: "compose page", path: "/compose"},
		{name: "CSS", path: css, raw: 8},
	} {
		raw, err := alice.weigh(p.path, "identity")
		if err != nil {
			b.fail(p.name, err)
			continue
		}
		gz, err := alice.weigh(p.path, "gzip")
		if err != nil {
			b.fail(p.name, err)
			continue
		}
		r := result{Figure: "page weight: " + p.name, Value: float64(raw) / 1024, Unit: "KB", Detail: fmt.Sprintf("%.1f KB gzipped", float64(gz)/1024)}
		var budgets []string
		ok := true
		if p.raw > 0 {
			budgets = append(budgets, fmt.Sprintf("≤ %.0f KB raw", p.raw))
			ok = ok && float64(raw)/1024 <= p.raw
		}
		if p.gz > 0 {
			budgets = append(budgets, fmt.Sprintf("≤ %.0f KB gzip", p.gz))
			ok = ok && float64(gz)/1024 <= p.gz
		}
		if len(budgets) > 0 {
			r.Budget, r.Pass = strings.Join(budgets, ", "), pass(ok)
		}
		b.add(r)
	}
}

func valueText(r result) string {
	if r.Error != "" {
		return "error: " + r.Error
	}
	v := fmt.Sprintf("%.2f %s", r.Value, r.Unit)
	if r.Unit == "req/s" || r.Unit == "KB" && r.Value >= 100 {
		v = fmt.Sprintf("%.0f %s", r.Value, r.Unit)
	}
	if r.Detail != "" {
		v += " (" + r.Detail + ")"
	}
	return v
}

func (b *bench) print() {
	if b.cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(b.results)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "figure\tmeasured\tbudget\t")
	for _, r := range b.results {
		verdict := ""
		if r.Pass != nil {
			verdict = "pass"
			if !*r.Pass {
				verdict = "FAIL"
			}
		}
		if r.Error != "" {
			verdict = "ERROR"
		}
		budget := r.Budget
		if verdict != "" {
			budget = strings.TrimSpace(budget + "  " + verdict)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t\n", r.Figure, valueText(r), budget)
	}
	w.Flush()
}
