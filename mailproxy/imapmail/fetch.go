package imapmail

import (
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The only ways to FETCH or STORE on an IMAP connection.
//
// go-imap's client has one reader goroutine. An untagged FETCH response is
// handed to the pending command whose set matches it, item by item, and a
// body literal is handed over as a stream: the reader stops until whoever
// collects that command has read the literal. When two FETCH (or STORE,
// which answers with FETCH) commands are in flight and the code collects
// them one after the other, a server that answers the second before
// finishing the first (Dovecot runs FETCHes in parallel: a plain and an
// HTML-only message in one INBOX were enough) leaves the reader waiting for
// the second command's collector while that collector waits for the first
// command's tagged OK, which only the reader can read. Closing the
// connection does not help: go-imap's Close waits for the reader. The list
// page hung for the whole command deadline and beyond.
//
// So: at most one FETCH or STORE is in flight on a connection, and its
// responses are read as they arrive, before anything else is sent. These
// helpers are the only callers of Client.Fetch and Client.Store
// (TestOneFetchInFlight checks the source). Commands whose responses the
// reader decodes completely by itself (STATUS, SEARCH, LIST, NOOP) may
// still be pipelined around them.

// fetch sends one FETCH and reads all of its responses.
func (c *imapConn) fetch(set imap.NumSet, opts *imap.FetchOptions) ([]*imapclient.FetchMessageBuffer, error) {
	return c.c.Fetch(set, opts).Collect()
}

// store sends one STORE and reads all of its responses.
func (c *imapConn) store(set imap.NumSet, flags *imap.StoreFlags) error {
	return c.c.Store(set, flags, nil).Close()
}

// fetchStream sends one FETCH and hands each message to fn as it arrives,
// for bodies streamed to the browser; fn must read what it wants of each
// literal and return. Nothing else is sent until the command is done.
func (c *imapConn) fetchStream(set imap.NumSet, opts *imap.FetchOptions, fn func(*imapclient.FetchMessageData) error) error {
	cmd := c.c.Fetch(set, opts)
	defer cmd.Close()
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if err := fn(msg); err != nil {
			return err
		}
	}
	return cmd.Close()
}

// markDeleted adds \Deleted to set, silently: the first half of every
// expunge and of the move fallback.
func (c *imapConn) markDeleted(set imap.NumSet) error {
	return c.store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}})
}

// niceFetch is fetch as a nicety: ok is false when it failed or ran out
// of the nicety budget (the caller goes on without it).
func (c *imapConn) niceFetch(set imap.NumSet, opts *imap.FetchOptions) (bufs []*imapclient.FetchMessageBuffer, ok bool) {
	var err error
	if !c.nicety(func() { bufs, err = c.fetch(set, opts) }) || err != nil {
		return nil, false
	}
	return bufs, true
}

// nicety runs fn, something a page can live without (previews, the
// conversation list, sender fallbacks, previous/next links), under its own
// short budget: when the budget passes first, the connection is closed
// (go-imap cannot cancel a command otherwise), fn's commands fail and the
// page is shown without what fn would have added; the next request
// connects afresh. It reports whether fn finished in time. A connection
// made elsewhere (tests) has no timer and runs fn unbounded.
func (c *imapConn) nicety(fn func()) bool {
	if c.timer == nil || c.niceBudget <= 0 {
		fn()
		return true
	}
	if c.niceSpent >= c.niceBudget || connBroken(c) {
		return false
	}
	left := time.Until(c.deadline)
	budget := min(c.niceBudget-c.niceSpent, left)
	start := time.Now()
	c.timer.Reset(budget)
	fn()
	c.niceSpent += time.Since(start)
	if connBroken(c) {
		return false
	}
	c.timer.Reset(max(time.Until(c.deadline), time.Millisecond))
	return true
}
