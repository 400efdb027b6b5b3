package imapmail

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
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

	// Signing out drops the user on every server, nobody else.
	rc.dropUser("Alice")
	for _, u := range []*userCache{alice, aliceB} {
		if r := rc.rows(u, "Sent", 1, []imap.UID{5}); r[0] != nil {
			t.Error("alice's rows kept after dropUser")
		}
		rc.putRow(u, "Sent", 1, 9, &cachedRow{})
	}
	if entries, _ := rc.stats(); entries != 2 {
		t.Errorf("after dropUser(alice) and late puts: %d entries, want bob's 2", entries)
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
