package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/discover"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/mailproxy/send"
)

// mail is the wired mail side: the backend (one pinned protocol, or the
// discovery router serving IMAP and POP3 accounts side by side) and the
// submitter.
type mail struct {
	backend  mailproxy.Backend
	submit   *send.Submitter
	upstream string // for the start-up log line
	router   bool   // accounts choose their protocol and servers
}

// newMail builds the backends from the flags. Every connection, to a
// pinned server or a discovered one, goes through one Guard; the
// operator's pinned servers and domain table are trusted to it (they may
// be on private addresses and ports), anything else must be public (or
// private with -allow-private-upstreams) and on a mail port.
func newMail(c *config, tlsCfg *tls.Config, log *slog.Logger, observe mailproxy.Observer) (*mail, error) {
	guard := discover.NewGuard(&discover.GuardOptions{AllowPrivate: c.allowPrivate})
	var imapUp, pop3Up, smtpUp mailproxy.Upstream
	var err error
	if c.imap != "" {
		if imapUp, err = mailproxy.ParseUpstream(c.imap, "imap"); err != nil {
			return nil, err
		}
	}
	if c.pop3 != "" {
		if pop3Up, err = mailproxy.ParseUpstream(c.pop3, "pop3"); err != nil {
			return nil, err
		}
	}
	if c.smtp != "" {
		if smtpUp, err = mailproxy.ParseUpstream(c.smtp, "smtp"); err != nil {
			return nil, err
		}
		if c.mailDomain == "" {
			c.mailDomain = smtpUp.Host
		}
	}
	var table discover.Table
	if c.domainTable != "" {
		if table, err = discover.LoadTable(c.domainTable); err != nil {
			return nil, fmt.Errorf("-domain-table: %w", err)
		}
	}
	allow, ok := discover.ParseAllowlist(c.allowDomains)
	if !ok {
		return nil, fmt.Errorf("-allow-domains: patterns are domains, *.domain or *")
	}
	if c.discover && len(allow) == 0 {
		return nil, errors.New("-discover needs -allow-domains (the domains it may serve; * for any)")
	}
	for _, up := range []mailproxy.Upstream{imapUp, pop3Up, smtpUp} {
		if up.Host != "" {
			guard.Trust(up)
		}
	}
	imapOpts := &imapmail.PoolOptions{IMAP: imapUp, TLSConfig: tlsCfg, Guard: guard, ForwardClient: c.forwardClient, Logger: log, Observe: observe}
	pop3Opts := &pop3mail.Options{POP3: pop3Up, TLSConfig: tlsCfg, Guard: guard, ForwardClient: c.forwardClient, Logger: log, ForgetAfter: c.sessionIdle, Observe: observe}
	m := &mail{}
	// Accounts choose their protocol and servers only where the operator
	// asked for it; otherwise one pinned server, as always.
	routed := c.discover || c.userServers || table != nil
	switch {
	case !routed && imapUp.Host != "" && pop3Up.Host != "":
		return nil, errors.New("give -imap or -pop3, not both (or add -discover, -domain-table or -user-servers: then users may choose POP3)")
	case routed:
		if c.discover && (imapUp.Host != "" || pop3Up.Host != "") {
			log.Warn("-discover is not used while -imap or -pop3 is pinned: every account uses the pinned server")
		}
		// A discovered server that accepts but never greets must fail
		// before the failure floor (8 s), like every other failure:
		// connecting, TLS and the greeting get 6 s (the password's
		// answer keeps its own, longer deadline).
		imapOpts.DialTimeout, pop3Opts.DialTimeout = 6*time.Second, 6*time.Second
		f := discover.NewFinder(discover.Options{
			IMAP: imapUp, POP3: pop3Up, SMTP: smtpUp,
			Discover: c.discover, UserServers: c.userServers, Allow: allow, Table: table,
			Guard: guard, TLSConfig: tlsCfg, Logger: log,
		})
		m.backend = discover.NewRouter(imapmail.NewPool(imapOpts), pop3mail.NewBackend(pop3Opts), f)
		m.upstream, m.router = "per account", true
		// Accounts may bring their own submission server.
		m.submit = send.NewSubmitter(&send.SubmitOptions{SMTP: smtpUp, TLSConfig: tlsCfg, Guard: guard, ForwardClient: c.forwardClient, Logger: log})
		return m, nil
	case pop3Up.Host != "":
		m.backend, m.upstream = pop3mail.NewBackend(pop3Opts), pop3Up.String()
	case imapUp.Host != "":
		m.backend, m.upstream = imapmail.NewPool(imapOpts), imapUp.String()
	default:
		return nil, errors.New("no mail server: give -imap imaps://mail.example.org or -pop3 pop3s://mail.example.org, or -discover with -allow-domains (or -demo to try the sample mail)")
	}
	if smtpUp.Host != "" {
		m.submit = send.NewSubmitter(&send.SubmitOptions{SMTP: smtpUp, TLSConfig: tlsCfg, Guard: guard, ForwardClient: c.forwardClient, Logger: log})
	}
	return m, nil
}
