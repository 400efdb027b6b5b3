package main

import (
	"fmt"
	"log"
	"sync"
	"time"
)

// throughput runs 8 clients on one session and on 50 sessions against
// this checkout and the base commit, alternately.
func (b *bench) throughput() {
	c := b.cfg
	type target struct {
		in         *instance
		one, fifty []*browser
	}
	targets := []*target{{in: b.cur}}
	if b.base != nil {
		targets = append(targets, &target{in: b.base})
	}
	for _, t := range targets {
		t.one = []*browser{b.signedIn(t.in, "alice", "INBOX")}
		for i := range c.sessionUsers {
			t.fifty = append(t.fifty, b.signedIn(t.in, userName("s", i), "INBOX"))
		}
	}
	for _, shape := range []struct {
		name string
		pick func(*target) []*browser
	}{
		{"one session", func(t *target) []*browser { return t.one }},
		{fmt.Sprintf("%d sessions", c.sessionUsers), func(t *target) []*browser { return t.fifty }},
	} {
		var res []loadResult
		for _, t := range targets {
			log.Printf("load: 8 clients, %s, %s, %v", shape.name, t.in.name, c.duration)
			load(shape.pick(t), 8, time.Second, "/f/INBOX") // warm-up
			res = append(res, load(shape.pick(t), 8, c.duration, "/f/INBOX"))
		}
		cur := res[0]
		r := result{Figure: "8 clients, " + shape.name + ", list pages: req/s", Value: cur.rps, Unit: "req/s",
			Detail: fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, %d errors", cur.lat.p50, cur.lat.p99, cur.errs)}
		if cur.firstErr != "" {
			r.Detail += " (" + cur.firstErr + ")"
		}
		if len(res) > 1 {
			bs := res[1]
			r.Detail += fmt.Sprintf("; %s: %.0f req/s, p99 %.1f ms, %d errors → %.2f ×", c.base, bs.rps, bs.lat.p99, bs.errs, cur.rps/bs.rps)
			r.Budget = "≥ 3 × " + c.base + ", no errors"
			r.Pass = pass(cur.rps >= 3*bs.rps && cur.errs == 0)
		} else {
			r.Budget = "≥ 3 × base (not built)"
		}
		b.add(r)
	}
}

// manySessions signs in many users on a fresh instance and weighs it.
func (b *bench) manySessions() {
	n := b.cfg.sessions
	log.Printf("signing in %d sessions", n)
	in, err := startInstance(b.tb, "sessions", b.curBin, b.srv.IMAPURL())
	if err != nil {
		b.fail("signed-in sessions", err)
		return
	}
	first := b.signedIn(in, userName("u", 0), "INBOX")
	first.getOK("/f/INBOX")
	time.Sleep(500 * time.Millisecond)
	rss0, socks0 := in.rss(), in.sockets()
	keep := make([]*browser, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for range 4 { // thumbmail lets one address have 4 sign-ins in flight
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				br := newBrowser(in.url)
				if err := br.login(userName("u", i), password); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				keep[i] = br
			}
		}()
	}
	start := time.Now()
	for i := 1; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(start)
	if firstErr != nil {
		b.fail("signed-in sessions", firstErr)
		return
	}
	time.Sleep(2 * time.Second)
	rss1, socks1 := in.rss(), in.sockets()
	per := float64(rss1-rss0) / float64(n-1) / 1024
	b.add(result{Figure: fmt.Sprintf("%d signed-in sessions with live connections: RSS each", n), Value: per, Unit: "KB",
		Detail: fmt.Sprintf("%d more sockets; RSS %.1f → %.1f MB; signed in in %v", socks1-socks0, float64(rss0)/(1<<20), float64(rss1)/(1<<20), took.Round(time.Millisecond)),
		Budget: "≤ 45 KB", Pass: pass(per <= 45 && socks1-socks0 >= n-1)})
}
