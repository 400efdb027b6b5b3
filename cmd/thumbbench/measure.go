package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// transport is shared by every browser: keep-alive connections, as a
// browser (or a reverse proxy) holds them.
var transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}

// rawTransport asks for gzip itself and does not decode it, to weigh
// pages as they travel.
var rawTransport = &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}

// browser is one signed-in (or not yet) user agent: a cookie jar,
// redirects not followed, gzip asked for and decoded (as browsers do).
type browser struct {
	base string
	c    *http.Client
}

func newBrowser(base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: base, c: &http.Client{Jar: jar, Transport: transport, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, []byte, error) {
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// getOK is get that wants 200.
func (b *browser) getOK(path string) ([]byte, error) {
	status, body, err := b.get(path)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("GET %s = %d", path, status)
	}
	return body, err
}

// weigh fetches path as sent with the given Accept-Encoding.
func (b *browser) weigh(path, encoding string) (int, error) {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.Header.Set("Accept-Encoding", encoding)
	c := &http.Client{Jar: b.c.Jar, Transport: rawTransport, Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s = %d", path, resp.StatusCode)
	}
	if encoding == "gzip" && resp.Header.Get("Content-Encoding") != "gzip" {
		// Not compressed by thumbmail: weigh what gzip would make.
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(body)
		w.Close()
		return z.Len(), err
	}
	return len(body), err
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// post sends a form with the anti-forgery token of page.
func (b *browser) post(page, path string, form url.Values) (int, error) {
	_, body, err := b.get(page)
	if err != nil {
		return 0, err
	}
	if m := csrfRE.FindSubmatch(body); m != nil {
		form.Set("csrf", html.UnescapeString(string(m[1])))
	}
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// login signs in; the first list page is left to the caller.
func (b *browser) login(user, password string) error {
	status, err := b.post("/login", "/login", url.Values{"username": {user}, "password": {password}})
	if err == nil && status != http.StatusSeeOther {
		err = fmt.Errorf("POST /login as %s = %d", user, status)
	}
	return err
}

func (b *browser) logout() error {
	_, err := b.post("/folders", "/logout", url.Values{})
	return err
}

var (
	messageLinkRE = regexp.MustCompile(`href="(/f/[^"/?]+/[0-9]+-[0-9]+)[?"]`)
	partLinkRE    = regexp.MustCompile(`href="(/f/[^"]+/part/[^"]+)"`)
	cssLinkRE     = regexp.MustCompile(`rel="stylesheet" href="([^"]+)"`)
)

func firstMatch(re *regexp.Regexp, body []byte) (string, error) {
	m := re.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("no %s in the page", re)
	}
	return html.UnescapeString(string(m[1])), nil
}

// stats are percentiles of durations, in milliseconds.
type stats struct{ p50, p99 float64 }

func percentiles(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s)) + 0.5)
		return float64(s[min(max(i-1, 0), len(s)-1)]) / 1e6
	}
	return stats{p50: at(0.5), p99: at(0.99)}
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// rawFloor is a held, selected IMAP connection doing what a list page
// would do at the least, straight from go-imap.
type rawFloor struct {
	c *imapclient.Client
	n uint32
}

func dialRaw(addr, user, password, folder string) (*rawFloor, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	data, err := c.Select(folder, nil).Wait()
	if err != nil {
		c.Close()
		return nil, err
	}
	return &rawFloor{c: c, n: data.NumMessages}, nil
}

func (r *rawFloor) lastPage() imap.SeqSet {
	return imap.SeqSet{imap.SeqRange{Start: max(r.n, 50) - 49, Stop: r.n}}
}

// floor is NOOP + FETCH 50 (ENVELOPE FLAGS RFC822.SIZE UID).
func (r *rawFloor) floor() error {
	if err := r.c.Noop().Wait(); err != nil {
		return err
	}
	_, err := r.c.Fetch(r.lastPage(), &imap.FetchOptions{Envelope: true, Flags: true, RFC822Size: true, UID: true}).Collect()
	return err
}

// flags is FETCH 50 (UID FLAGS) alone.
func (r *rawFloor) flags() error {
	_, err := r.c.Fetch(r.lastPage(), &imap.FetchOptions{Flags: true, UID: true}).Collect()
	return err
}

func (r *rawFloor) close() { r.c.Logout().Wait(); r.c.Close() }

// directColdList is dial + LOGIN + SELECT + FETCH 50 envelopes.
func directColdList(addr, user, password string) error {
	r, err := dialRaw(addr, user, password, "INBOX")
	if err != nil {
		return err
	}
	defer r.close()
	_, err = r.c.Fetch(r.lastPage(), &imap.FetchOptions{Envelope: true, Flags: true, RFC822Size: true, UID: true}).Collect()
	return err
}

// loadResult is what a load run measured.
type loadResult struct {
	reqs, errs int64
	rps        float64
	lat        stats
	firstErr   string
}

// load runs clients goroutines for d, each asking for path again and
// again as one of the browsers (round robin).
func load(browsers []*browser, clients int, d time.Duration, path string) loadResult {
	var reqs, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr string
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for k := 0; time.Now().Before(deadline); k++ {
				b := browsers[(i+k*clients)%len(browsers)]
				t, err := timed(func() error { _, err := b.getOK(path); return err })
				reqs.Add(1)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, t)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	return loadResult{reqs: reqs.Load(), errs: errs.Load(), rps: float64(reqs.Load()-errs.Load()) / el.Seconds(), lat: percentiles(lat), firstErr: firstErr}
}

// peakRSS samples in's RSS every few milliseconds while f runs and
// returns the highest value seen.
func peakRSS(in *instance, f func() error) (int64, error) {
	stop := make(chan struct{})
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if r := in.rss(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := f()
	close(stop)
	<-done
	if r := in.rss(); r > peak.Load() {
		peak.Store(r)
	}
	return peak.Load(), err
}

// userName is the name of the i-th generated user.
func userName(prefix string, i int) string { return fmt.Sprintf("%s%04d", prefix, i) }
