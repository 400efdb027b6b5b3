package mailproxy_test

import (
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
)

// TestCapsSayWhatSessionsDo: Caps is the one way a session says what it can
// do, so every backend's sessions announce each optional side they
// implement, and implement each side they announce. Making a session does
// not dial.
func TestCapsSayWhatSessionsDo(t *testing.T) {
	pool := imapmail.NewPool(nil)
	defer pool.Close()
	pop := pop3mail.NewBackend(nil)
	defer pop.Close()
	creds := mailproxy.Credentials{Username: "u", Password: "p"}
	for name, s := range map[string]mailproxy.Session{"imap": pool.Session("a", creds), "pop3": pop.Session("b", creds)} {
		c := s.Caps()
		_, deleter := s.(mailproxy.Deleter)
		_, filer := s.(mailproxy.Filer)
		_, raw := s.(mailproxy.RawReader)
		if deleter != c.Delete || filer != c.Files || raw != c.Raw {
			t.Errorf("%s: Caps %+v, but implements Deleter %v, Filer %v, RawReader %v", name, c, deleter, filer, raw)
		}
		if (mailproxy.DeleterOf(s) != nil) != c.Delete || (mailproxy.FilerOf(s) != nil) != c.Files || (mailproxy.RawReaderOf(s) != nil) != c.Raw {
			t.Errorf("%s: the ...Of helpers disagree with Caps %+v", name, c)
		}
	}
}
