package discover

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// found is what one discovery step found for a domain: at most one
// server of each kind (a zero Host is none).
type found struct {
	imap, pop3, smtp mailproxy.Upstream
	// imapLocal and pop3Local: the server's autoconfig entry signs in
	// with the address's local part (%EMAILLOCALPART%).
	imapLocal, pop3Local bool
}

func (f found) hasMail() bool { return f.imap.Host != "" || f.pop3.Host != "" }

// set fills the slot of up's protocol unless it is taken (the first one
// found wins: files and records list servers in preference order).
func (f *found) set(up mailproxy.Upstream) {
	var slot *mailproxy.Upstream
	switch up.Protocol {
	case "imap":
		slot = &f.imap
	case "pop3":
		slot = &f.pop3
	case "smtp":
		slot = &f.smtp
	default:
		return
	}
	if slot.Host == "" {
		*slot = up
	}
}

// Table is the operator's table of domains and their servers (step 2 of
// discovery), read from a small file:
//
//	# domain        servers: IMAP and/or POP3, and SMTP, as upstream URLs
//	example.org     imaps://imap.example.org smtps://smtp.example.org
//	isp.example     pop3s://pop.isp.example:995 smtp://smtp.isp.example
//	gmail.com       imaps://imap.gmail.com smtps://smtp.gmail.com
//
// A domain reached through its MX host's domain (step 4) uses the same
// table. Plain-text (+insecure) URLs are refused: discovery never
// chooses them. The servers listed are the operator's own choice, so
// the Guard trusts them like the pinned upstreams (Trust).
type Table map[string]found

// LoadTable reads a table file (see Table).
func LoadTable(path string) (Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ParseTable(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTable reads a table (see Table) from r.
func ParseTable(r io.Reader) (Table, error) {
	t := Table{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		domain, ok := normalDomain(fields[0])
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not a domain", n, fields[0])
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: no server for %s", n, domain)
		}
		var f found
		for _, raw := range fields[1:] {
			up, err := mailproxy.ParseUpstream(raw, "")
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			if up.Security == mailproxy.SecurityNone {
				return nil, fmt.Errorf("line %d: %s: plain-text servers cannot be used for discovery", n, raw)
			}
			f.set(up)
		}
		if !f.hasMail() {
			return nil, fmt.Errorf("line %d: no IMAP or POP3 server for %s", n, domain)
		}
		t[domain] = f
	}
	return t, sc.Err()
}

// trust tells g that every server of the table is the operator's.
func (t Table) trust(g *Guard) {
	for _, f := range t {
		for _, up := range []mailproxy.Upstream{f.imap, f.pop3, f.smtp} {
			if up.Host != "" {
				g.Trust(up)
			}
		}
	}
}
