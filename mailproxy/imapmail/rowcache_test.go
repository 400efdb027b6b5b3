package imapmail

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/thumbmail/thumbmail/mailproxy"
)

func TestRowCacheBoundedLRU(t *testing.T) {
	rc := newRowCache(64 << 10)
	u := rc.user(cacheUserKey("imap://mail.example:143", "Alice"))
	rc.checkValidity(u, "INBOX", 7)
	row := func(i int) *cachedRow {
		return &cachedRow{subject: strings.Repeat("s", 100), preview: strings.Repeat("p", 90)}
	}
	for i := 1; i <= 1000; i++ {
		rc.putRow(u, "INBOX", 7, imap.UID(i), row(i))
		if i%100 == 0 {
			// Touch UID 1: it is now the most recently used.
			if got := rc.rows(u, "INBOX", 7, []imap.UID{1}); got[0] == nil {
				t.Fatalf("UID 1 evicted after %d rows of a 64 KB cache", i)
			}
		}
	}
	entries, used := rc.stats()
	if used > 64<<10 || entries == 0 || entries >= 1000 {
		t.Fatalf("stats() = %d entries, %d bytes; want some, at most 64 KB", entries, used)
	}
	got := rc.rows(u, "INBOX", 7, []imap.UID{2, 1000, 1})
	if got[0] != nil || got[1] == nil || got[2] == nil {
		t.Errorf("rows(2, 1000) = %v; want the oldest evicted, the newest and the one used kept", got)
	}
}

func TestRowCacheValidityAndUsers(t *testing.T) {
	rc := newRowCache(0)
	alice := rc.user(cacheUserKey("imap://a:143", "alice"))
	aliceB := rc.user(cacheUserKey("imap://b:143", "alice"))
	bob := rc.user(cacheUserKey("imap://a:143", "bob"))
	if rc.user(cacheUserKey("imap://a:143", "ALICE ")) != alice {
		t.Fatal("ALICE and alice have separate caches")
	}
	for _, u := range []*userCache{alice, aliceB, bob} {
		rc.checkValidity(u, "INBOX", 1)
		rc.checkValidity(u, "Sent", 1)
		rc.putRow(u, "INBOX", 1, 5, &cachedRow{subject: "hello"})
		rc.putRow(u, "Sent", 1, 5, &cachedRow{subject: "sent"})
	}

	// A new UIDVALIDITY drops that mailbox only, and a late put for the
	// old one is refused.
	rc.checkValidity(alice, "INBOX", 2)
	if r := rc.rows(alice, "INBOX", 1, []imap.UID{5}); r[0] != nil {
		t.Error("INBOX row of the old UIDVALIDITY kept")
	}
	rc.putRow(alice, "INBOX", 1, 6, &cachedRow{})
	if r := rc.rows(alice, "INBOX", 1, []imap.UID{6}); r[0] != nil {
		t.Error("a row of the old UIDVALIDITY was stored after the change")
	}
	if r := rc.rows(alice, "Sent", 1, []imap.UID{5}); r[0] == nil || r[0].subject != "sent" {
		t.Error("Sent lost its rows when INBOX was reset")
	}
	if r := rc.rows(bob, "INBOX", 1, []imap.UID{5}); r[0] == nil {
		t.Error("bob lost his rows when alice's INBOX was reset")
	}

	// Signing out drops that account: the name on that server, not the
	// same name on another server, nobody else.
	rc.dropUser(cacheUserKey("imap://a:143", "Alice"))
	if r := rc.rows(alice, "Sent", 1, []imap.UID{5}); r[0] != nil {
		t.Error("alice's rows kept after dropUser")
	}
	rc.putRow(alice, "Sent", 1, 9, &cachedRow{})
	if r := rc.rows(aliceB, "Sent", 1, []imap.UID{5}); r[0] == nil {
		t.Error("alice's rows on another server dropped with hers")
	}
	if entries, _ := rc.stats(); entries != 4 {
		t.Errorf("after dropUser(alice on a) and a late put: %d entries, want alice on b's and bob's 4", entries)
	}
}

// TestRowCacheKeyedByAccountServer: the same name on two servers (accounts
// that chose or discovered their own) is two caches, whatever the pinned
// server; signing out of one leaves the other's rows.
func TestRowCacheKeyedByAccountServer(t *testing.T) {
	pinned, _ := mailproxy.ParseUpstream("imap://pinned.example", "imap")
	p := NewPool(&PoolOptions{IMAP: pinned})
	defer p.Close()
	account := func(host string) mailproxy.Credentials {
		up, _ := mailproxy.ParseUpstream("imaps://"+host, "imap")
		return mailproxy.Credentials{Username: "alice@example.org", Password: "x", Servers: &mailproxy.Servers{Mail: up, Source: "user"}}
	}
	a := p.Session("s1", account("a.example")).(*imapSession).rowsOfSession()
	b := p.Session("s2", account("b.example")).(*imapSession).rowsOfSession()
	own := p.Session("s3", mailproxy.Credentials{Username: "alice@example.org", Password: "x"}).(*imapSession).rowsOfSession()
	if a == b || a == own || b == own {
		t.Fatal("one row cache for the same name on different servers")
	}
	for _, u := range []*userCache{a, b} {
		p.rows.checkValidity(u, "INBOX", 1)
		p.rows.putRow(u, "INBOX", 1, 5, &cachedRow{subject: "x"})
	}
	p.Logout("s1")
	if r := p.rows.rows(a, "INBOX", 1, []imap.UID{5}); r[0] != nil {
		t.Error("the signed-out account's rows kept")
	}
	if r := p.rows.rows(b, "INBOX", 1, []imap.UID{5}); r[0] == nil {
		t.Error("signing out of a.example dropped the rows of the same name on b.example")
	}
}

func TestRowCacheOpenedMessagesCapped(t *testing.T) {
	rc := newRowCache(0)
	u := rc.user(cacheUserKey("s", "alice"))
	for i := 1; i <= openedPerUser+5; i++ {
		rc.putMessage(u, "INBOX", 1, imap.UID(i), &cachedMessage{text: "body"})
		rc.putRow(u, "INBOX", 1, imap.UID(i), &cachedRow{})
	}
	for i := 1; i <= openedPerUser+5; i++ {
		got := rc.message(u, "INBOX", 1, imap.UID(i)) != nil
		if want := i > 5; got != want {
			t.Errorf("message %d cached = %v, want %v (the last %d opened)", i, got, want, openedPerUser)
		}
	}
	if entries, _ := rc.stats(); entries != openedPerUser+openedPerUser+5 {
		t.Errorf("%d entries, want %d rows and %d messages", entries, openedPerUser+5, openedPerUser)
	}
	if len(u.opened) != openedPerUser {
		t.Errorf("opened list holds %d keys, want %d", len(u.opened), openedPerUser)
	}
}
