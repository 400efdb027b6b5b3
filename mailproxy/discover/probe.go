package discover

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// probe is step 6: the conventional names (imap., pop3., pop., smtp.,
// mail.) on their well-known ports, implicit TLS first (RFC 8314 §5.1),
// then STARTTLS. All candidates are tried at once; the first one in this
// order that greets as its protocol, with a certificate valid for its
// name, wins for each protocol. No password is sent.
func (f *Finder) probe(ctx context.Context, domain string, needMail, needSMTP bool) found {
	p := f.o.Ports
	type cand struct {
		up mailproxy.Upstream
		ok bool
	}
	var cands []*cand
	add := func(proto string, sec mailproxy.Security, port string, names ...string) {
		for _, n := range names {
			cands = append(cands, &cand{up: mailproxy.Upstream{Protocol: proto, Security: sec, Host: n + "." + domain, Port: port}})
		}
	}
	if needMail {
		add("imap", mailproxy.SecurityTLS, p.IMAPS, "imap", "mail")
		add("imap", mailproxy.SecurityStartTLS, p.IMAP, "imap", "mail")
		add("pop3", mailproxy.SecurityTLS, p.POP3S, "pop3", "pop", "mail")
		add("pop3", mailproxy.SecurityStartTLS, p.POP3, "pop3", "pop", "mail")
	}
	if needSMTP {
		add("smtp", mailproxy.SecurityTLS, p.SMTPS, "smtp", "mail")
		add("smtp", mailproxy.SecurityStartTLS, p.Submission, "smtp", "mail")
	}
	var wg sync.WaitGroup
	for _, c := range cands {
		wg.Go(func() {
			err := f.probeOne(ctx, c.up)
			c.ok = err == nil
			if err != nil {
				f.o.Logger.Debug("probe", "server", c.up.String(), "err", err)
			}
		})
	}
	wg.Wait()
	var out found
	for _, c := range cands {
		if c.ok {
			out.set(c.up)
		}
	}
	return out
}

// verify probes what a step found (all at once) and keeps what answers.
func (f *Finder) verify(ctx context.Context, r found) found {
	ups := []mailproxy.Upstream{r.imap, r.pop3, r.smtp}
	ok := make([]bool, len(ups))
	var wg sync.WaitGroup
	for i, up := range ups {
		if up.Host == "" {
			continue
		}
		wg.Go(func() {
			err := f.probeOne(ctx, up)
			ok[i] = err == nil
			if err != nil {
				f.o.Logger.Debug("verify", "server", up.String(), "err", err)
			}
		})
	}
	wg.Wait()
	out := found{imapLocal: r.imapLocal, pop3Local: r.pop3Local}
	for i, up := range ups {
		if ok[i] {
			out.set(up)
		}
	}
	return out
}

// greetings are what each protocol's server says first.
var greetings = map[string]string{"imap": "* OK", "pop3": "+OK", "smtp": "220"}

// probeOne connects to up through the Guard and checks that it greets as
// its protocol, over TLS (implicit, or after STARTTLS/STLS) with a
// certificate for up.Host.
func (f *Finder) probeOne(ctx context.Context, up mailproxy.Upstream) error {
	conn, err := f.o.Guard.Dial(ctx, up)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.o.TLSConfig != nil {
		cfg = f.o.TLSConfig.Clone()
	}
	cfg.ServerName = up.Host
	if up.Security == mailproxy.SecurityTLS {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		return readGreeting(bufio.NewReader(tc), up.Protocol)
	}
	r := bufio.NewReader(conn)
	if err := readGreeting(r, up.Protocol); err != nil {
		return err
	}
	if err := startTLS(conn, r, up.Protocol); err != nil {
		return err
	}
	if r.Buffered() > 0 {
		return errors.New("data after the STARTTLS answer")
	}
	return tls.Client(conn, cfg).HandshakeContext(ctx)
}

// readGreeting reads the server's first reply (SMTP's may be several
// lines, RFC 5321 §4.2.1).
func readGreeting(r *bufio.Reader, proto string) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, greetings[proto]) {
			return fmt.Errorf("greeting %.40q is not %s", line, proto)
		}
		if proto != "smtp" || !strings.HasPrefix(line, "220-") {
			return nil
		}
	}
}

// startTLS asks for TLS in the protocol's words: IMAP STARTTLS (RFC 9051
// §6.2.1), POP3 STLS (RFC 2595 §4), SMTP EHLO then STARTTLS (RFC 3207).
func startTLS(w io.Writer, r *bufio.Reader, proto string) error {
	switch proto {
	case "imap":
		io.WriteString(w, "P1 STARTTLS\r\n")
		for {
			line, err := readLine(r)
			if err != nil {
				return err
			}
			if strings.HasPrefix(line, "* ") {
				continue
			}
			if !strings.HasPrefix(line, "P1 OK") {
				return errors.New("STARTTLS refused")
			}
			return nil
		}
	case "pop3":
		io.WriteString(w, "STLS\r\n")
		if line, err := readLine(r); err != nil || !strings.HasPrefix(line, "+OK") {
			return errors.New("STLS refused")
		}
		return nil
	}
	io.WriteString(w, "EHLO thumbmail\r\n")
	offered := false
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "250") {
			return errors.New("EHLO refused")
		}
		offered = offered || strings.EqualFold(strings.TrimSpace(line[min(4, len(line)):]), "STARTTLS")
		if !strings.HasPrefix(line, "250-") {
			break
		}
	}
	if !offered {
		return errors.New("no STARTTLS")
	}
	io.WriteString(w, "STARTTLS\r\n")
	if line, err := readLine(r); err != nil || !strings.HasPrefix(line, "220") {
		return errors.New("STARTTLS refused")
	}
	return nil
}

// readLine reads one line of at most 1 KB without its line end.
func readLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for b.Len() <= 1024 {
		line, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b.Write(line)
		if !isPrefix {
			return b.String(), nil
		}
	}
	return "", errors.New("line too long")
}
