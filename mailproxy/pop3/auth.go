package pop3

import (
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// StartTLS upgrades the connection with STLS (RFC 2595 §4). A nil cfg
// means Options.TLSConfig; an empty ServerName is filled in from the
// address given to Dial. A "-ERR" (STLS not offered, or TLS not set up on
// the server) is returned as an [*Error] and the connection stays usable
// in plain text, though Login and friends will refuse to use it unless
// Options.AllowInsecureAuth is set. Any other failure closes it.
//
// Capabilities learnt before STLS are forgotten (RFC 2595 §4): call
// Capabilities again if you need them.
func (c *Client) StartTLS(cfg *tls.Config) error {
	if err := c.ready(); err != nil {
		return err
	}
	if c.isTLS {
		return fmt.Errorf("%w: STLS: the connection is already TLS", ErrInvalidArgument)
	}
	if cfg == nil {
		cfg = c.tlsConfig
	}
	cfg = tlsConfig(cfg, c.serverName)
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		// Caught here rather than by the handshake, which would leave
		// the connection broken.
		return fmt.Errorf("%w: STLS: no ServerName in the TLS configuration", ErrInvalidArgument)
	}
	if _, err := c.cmd("STLS"); err != nil {
		return err
	}
	// Anything the server sent after "+OK" arrived before the TLS
	// handshake, in clear text: an attacker could have injected it, so
	// it must not be read as the reply to a later command (the STARTTLS
	// command injection class of bugs; RFC 2595 §4 lets the client
	// trust only what comes after the handshake).
	if c.br.Buffered() > 0 {
		return c.fail(fmt.Errorf("%w: STLS: data received before the TLS handshake", ErrProtocol))
	}
	tc := tls.Client(c.conn, cfg)
	c.setDeadline()
	if err := tc.Handshake(); err != nil {
		return c.fail(fmt.Errorf("pop3: STLS: TLS handshake: %w", err))
	}
	c.conn = tc
	c.br.Reset(tc)
	c.isTLS = true
	c.caps = nil
	return nil
}

// checkAuth returns why credentials must not be sent, or nil.
func (c *Client) checkAuth(user, pass string) error {
	if err := c.ready(); err != nil {
		return err
	}
	if !c.isTLS && !c.allowInsecure {
		return ErrInsecureAuth
	}
	if strings.ContainsAny(user, "\r\n\x00") || strings.ContainsAny(pass, "\r\n\x00") {
		return fmt.Errorf("%w: user name or password contains CR, LF or NUL", ErrInvalidArgument)
	}
	return nil
}

// Login authenticates with AUTH PLAIN when the server lists PLAIN among
// its SASL mechanisms, and with USER and PASS otherwise (RFC 1939 §7). It
// sends CAPA first unless Capabilities was already called; a server
// without CAPA gets USER and PASS.
//
// Login refuses to run over a connection that is not TLS, returning
// [ErrInsecureAuth] without sending anything, unless
// Options.AllowInsecureAuth is set. A refusal is an [*Error]: test it with
// errors.Is against [ErrAuth] (wrong credentials), [ErrInUse] (the
// maildrop is locked by another session), [ErrLoginDelay], [ErrSysTemp]
// and [ErrSysPerm].
func (c *Client) Login(user, pass string) error {
	if err := c.checkAuth(user, pass); err != nil {
		return err
	}
	caps := c.caps
	if caps == nil {
		got, err := c.Capabilities()
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				return err
			}
		} else {
			caps = &got
		}
	}
	if caps != nil && caps.HasSASL("PLAIN") {
		return c.AuthPlain(user, pass)
	}
	if _, err := c.cmd("USER", user); err != nil {
		return err
	}
	if _, err := c.cmd("PASS", pass); err != nil {
		return err
	}
	c.loggedIn()
	return nil
}

// APOP authenticates with the APOP command (RFC 1939 §7): the password is
// not sent, only the MD5 digest of the greeting's timestamp followed by the
// password. It returns [ErrUnsupported] if the greeting had no timestamp.
//
// The digest still lets an eavesdropper guess the password offline, so
// APOP too refuses to run without TLS unless Options.AllowInsecureAuth is
// set. Errors are as for Login.
func (c *Client) APOP(user, pass string) error {
	if err := c.checkAuth(user, pass); err != nil {
		return err
	}
	if c.timestamp == "" {
		return fmt.Errorf("%w: APOP: no timestamp in the greeting", ErrUnsupported)
	}
	if user == "" || strings.ContainsAny(user, " \t") {
		return fmt.Errorf("%w: APOP: user name is empty or contains white space", ErrInvalidArgument)
	}
	if _, err := c.cmd("APOP", user, apopDigest(c.timestamp, pass)); err != nil {
		return err
	}
	c.loggedIn()
	return nil
}

// apopDigest is the lower-case hex MD5 of timestamp followed by secret
// (RFC 1939 §7).
func apopDigest(timestamp, secret string) string {
	sum := md5.Sum([]byte(timestamp + secret))
	return hex.EncodeToString(sum[:])
}

// AuthPlain authenticates with AUTH PLAIN (RFC 5034, RFC 4616), with an
// empty authorization identity. The credentials go with the command as an
// initial response, unless that would make the command longer than 255
// octets (RFC 5034 §4) or Options.DisableInitialResponse is set; then they
// go in answer to the server's "+" continuation. It does not check that
// the server offers PLAIN. Errors are as for Login.
func (c *Client) AuthPlain(user, pass string) error {
	if err := c.checkAuth(user, pass); err != nil {
		return err
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	initial := !c.noInitialResp && len("AUTH PLAIN ")+len(resp)+2 <= maxCommandLength
	var err error
	if initial {
		err = c.send("AUTH", "PLAIN", resp)
	} else {
		err = c.send("AUTH", "PLAIN")
	}
	if err != nil {
		return err
	}
	sent := initial
	for {
		line, err := readLine(c.br, c.maxLine)
		if err != nil {
			return c.fail(fmt.Errorf("pop3: AUTH: %w", err))
		}
		// RFC 5034 §4: a continuation is "+" optionally followed by a
		// space and a base64 challenge; PLAIN's challenge is empty and
		// ignored.
		if len(line) > 0 && line[0] == '+' && (len(line) == 1 || line[1] == ' ') {
			if sent {
				// A second challenge: PLAIN has no second step.
				// Cancel the exchange with "*" and expect "-ERR".
				if err := c.send("*"); err != nil {
					return err
				}
				if _, err := c.readStatus("AUTH"); err == nil {
					return c.fail(fmt.Errorf("%w: AUTH: server accepted a cancelled exchange", ErrProtocol))
				} else if _, ok := errors.AsType[*Error](err); !ok {
					return err
				}
				return fmt.Errorf("%w: AUTH: unexpected second challenge", ErrProtocol)
			}
			if err := c.send(resp); err != nil {
				return err
			}
			sent = true
			continue
		}
		ok, text, err := parseStatus(line)
		if err != nil {
			return c.fail(fmt.Errorf("pop3: AUTH: %w", err))
		}
		if !ok {
			return parseError("AUTH", text)
		}
		if !sent {
			return c.fail(fmt.Errorf("%w: AUTH: success before credentials were sent", ErrProtocol))
		}
		c.loggedIn()
		return nil
	}
}

// loggedIn records the move to the TRANSACTION state. Capabilities may
// change with it (RFC 2449 §5).
func (c *Client) loggedIn() {
	c.caps = nil
}
