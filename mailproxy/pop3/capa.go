package pop3

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Caps is a server's reply to CAPA (RFC 2449 §5). Capabilities may differ
// before and after authentication and before and after STLS, so ask again
// after either.
type Caps struct {
	// Top: the TOP command is available (RFC 2449 §6.1).
	Top bool
	// User: USER/PASS is available (RFC 2449 §6.2).
	User bool
	// SASL lists the AUTH mechanisms, upper-cased (RFC 2449 §6.3,
	// RFC 5034 §3).
	SASL []string
	// RespCodes: "-ERR" text starting with "[" is a response code
	// (RFC 2449 §6.4).
	RespCodes bool
	// AuthRespCode: the server sends [AUTH] on authentication failures
	// (RFC 3206 §6).
	AuthRespCode bool
	// LoginDelay is the minimum time between logins, nil if not
	// announced (RFC 2449 §6.5).
	LoginDelay *LoginDelay
	// Pipelining: the server accepts several commands at once (RFC 2449
	// §6.6). This client does not pipeline.
	Pipelining bool
	// Expire is how long the server keeps messages, nil if not announced
	// (RFC 2449 §6.7).
	Expire *Expire
	// UIDL: the UIDL command is available (RFC 2449 §6.8).
	UIDL bool
	// Implementation is the free-form server name, "" if not announced
	// (RFC 2449 §6.9).
	Implementation string
	// STLS: the STLS command is available (RFC 2595 §4).
	STLS bool
	// UTF8: the UTF8 command is available (RFC 6856 §2). This client
	// does not send it.
	UTF8 bool
	// Lines holds every capability line as received, dot-unstuffed.
	Lines []string
}

// LoginDelay is the LOGIN-DELAY capability (RFC 2449 §6.5).
type LoginDelay struct {
	// Delay is the minimum time between two logins of the same user.
	Delay time.Duration
	// PerUser: the delay may differ between users ("USER" argument,
	// only sent after authentication).
	PerUser bool
}

// Expire is the EXPIRE capability (RFC 2449 §6.7).
type Expire struct {
	// Never: the server keeps messages until they are deleted.
	Never bool
	// Days is the number of days the server keeps a message after it was
	// first retrieved by RETR or TOP. Zero means the server may delete a
	// message as soon as it was retrieved, even without DELE.
	Days int
	// PerUser: the policy may differ between users.
	PerUser bool
}

// Has reports whether the reply contains the capability keyword name,
// without regard to case.
func (c Caps) Has(name string) bool {
	for _, l := range c.Lines {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// HasSASL reports whether mech is among the AUTH mechanisms, without
// regard to case.
func (c Caps) HasSASL(mech string) bool {
	return slices.Contains(c.SASL, strings.ToUpper(mech))
}

// Capabilities sends CAPA and parses the reply (RFC 2449 §5). A server
// without CAPA answers "-ERR", returned as an [*Error].
func (c *Client) Capabilities() (Caps, error) {
	if _, err := c.cmd("CAPA"); err != nil {
		return Caps{}, err
	}
	lines, err := c.readLines("CAPA")
	if err != nil {
		return Caps{}, err
	}
	caps := parseCaps(lines)
	cached := caps
	cached.SASL = slices.Clone(caps.SASL)
	c.caps = &cached
	return caps, nil
}

// parseCaps parses the lines of a CAPA reply. Unknown capabilities and
// malformed arguments are skipped (RFC 2449 §5: "capabilities ... unknown
// to the client are ignored").
func parseCaps(lines []string) Caps {
	caps := Caps{Lines: lines}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		args := f[1:]
		switch strings.ToUpper(f[0]) {
		case "TOP":
			caps.Top = true
		case "USER":
			caps.User = true
		case "SASL":
			for _, m := range args {
				m = strings.ToUpper(m)
				if !slices.Contains(caps.SASL, m) {
					caps.SASL = append(caps.SASL, m)
				}
			}
		case "RESP-CODES":
			caps.RespCodes = true
		case "AUTH-RESP-CODE":
			caps.AuthRespCode = true
		case "LOGIN-DELAY":
			if len(args) == 0 {
				continue
			}
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 0 || n > 1<<30 {
				continue
			}
			caps.LoginDelay = &LoginDelay{
				Delay:   time.Duration(n) * time.Second,
				PerUser: len(args) > 1 && strings.EqualFold(args[1], "USER"),
			}
		case "PIPELINING":
			caps.Pipelining = true
		case "EXPIRE":
			if len(args) == 0 {
				continue
			}
			e := &Expire{PerUser: len(args) > 1 && strings.EqualFold(args[1], "USER")}
			if strings.EqualFold(args[0], "NEVER") {
				e.Never = true
			} else {
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 0 {
					continue
				}
				e.Days = n
			}
			caps.Expire = e
		case "UIDL":
			caps.UIDL = true
		case "IMPLEMENTATION":
			caps.Implementation = strings.TrimSpace(strings.TrimSpace(l)[len(f[0]):])
		case "STLS":
			caps.STLS = true
		case "UTF8":
			caps.UTF8 = true
		}
	}
	return caps
}
