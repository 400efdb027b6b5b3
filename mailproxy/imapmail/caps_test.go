package imapmail

import (
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// TestCapsSayWhatSessionsDo: Caps is the one way a session says what it can
// do, so each optional side it implements is announced, and nothing it
// announces is missing.
func TestCapsSayWhatSessionsDo(t *testing.T) {
	var s mailproxy.Session = &imapSession{}
	c := s.Caps()
	_, deleter := s.(mailproxy.Deleter)
	_, filer := s.(mailproxy.Filer)
	_, raw := s.(mailproxy.RawReader)
	if deleter != c.Delete || filer != c.Files || raw != c.Raw {
		t.Errorf("Caps %+v, but implements Deleter %v, Filer %v, RawReader %v", c, deleter, filer, raw)
	}
	if (mailproxy.DeleterOf(s) != nil) != c.Delete || (mailproxy.FilerOf(s) != nil) != c.Files || (mailproxy.RawReaderOf(s) != nil) != c.Raw {
		t.Errorf("the ...Of helpers disagree with Caps %+v", c)
	}
}
