package pop3

import (
	"errors"
	"strings"
)

// Sentinels matched by [errors.Is] against an [*Error] (see [Error.Is]).
var (
	// ErrAuth means the server refused the credentials: a "-ERR" to USER,
	// PASS, APOP or AUTH without a response code that says otherwise, or
	// any reply carrying the [AUTH] code (RFC 3206 §5).
	ErrAuth = errors.New("pop3: authentication failed")
	// ErrInUse means the maildrop is locked by another session: the
	// [IN-USE] code (RFC 2449 §8.1.2), or a codeless "-ERR" to an
	// authentication command whose text speaks of a lock or of the
	// mailbox being busy or in use (RFC 1939 §7's own examples, "-ERR
	// unable to lock maildrop", carry no code).
	ErrInUse = errors.New("pop3: maildrop in use")
	// ErrLoginDelay means the user logged in too soon after the last
	// login: the [LOGIN-DELAY] code (RFC 2449 §8.1.1).
	ErrLoginDelay = errors.New("pop3: login too soon")
	// ErrSysTemp means a temporary server-side failure: [SYS/TEMP]
	// (RFC 3206 §4). Trying again later may succeed.
	ErrSysTemp = errors.New("pop3: temporary server failure")
	// ErrSysPerm means a permanent server-side failure: [SYS/PERM]
	// (RFC 3206 §4). Trying again will not help without an administrator.
	ErrSysPerm = errors.New("pop3: permanent server failure")
)

// Errors the client produces itself.
var (
	// ErrInsecureAuth means an authentication method was called on a
	// connection that is not TLS and [Options.AllowInsecureAuth] is not
	// set (RFC 2595 §2.2). Nothing was sent.
	ErrInsecureAuth = errors.New("pop3: refusing to authenticate over an unencrypted connection")
	// ErrReaderOpen means a message reader from Retr or Top is still
	// open: close it (or read it to io.EOF) before the next command.
	ErrReaderOpen = errors.New("pop3: a message reader is still open")
	// ErrClosed means the Client was closed, by Close or Quit.
	ErrClosed = errors.New("pop3: client closed")
	// ErrProtocol wraps every reply the client cannot make sense of.
	ErrProtocol = errors.New("pop3: protocol error")
	// ErrLineTooLong means a reply line exceeded [Options.MaxLineLength].
	ErrLineTooLong = errors.New("pop3: reply line too long")
	// ErrResponseTooLarge means a multi-line reply (LIST, UIDL, CAPA)
	// exceeded [Options.MaxResponseSize].
	ErrResponseTooLarge = errors.New("pop3: multi-line reply too large")
	// ErrMessageTooLarge means a message streamed by Retr or Top
	// exceeded [Options.MaxMessageSize].
	ErrMessageTooLarge = errors.New("pop3: message too large")
	// ErrUnsupported means the server does not offer what was asked, for
	// example APOP without a timestamp in the greeting (RFC 1939 §7).
	ErrUnsupported = errors.New("pop3: not supported by the server")
	// ErrInvalidArgument means an argument cannot be sent: a message
	// number below 1, or a CR, LF or NUL in a user name or password.
	// Nothing was sent.
	ErrInvalidArgument = errors.New("pop3: invalid argument")
)

// Error is a "-ERR" reply (RFC 1939 §3). The connection stays usable.
//
// Text is the server's own words: log it, but do not show it to end
// users, since it may reveal details of the server.
type Error struct {
	// Cmd is the command keyword that was refused ("PASS", "RETR"), or ""
	// for a negative greeting. It never holds the command's arguments.
	Cmd string
	// Code is the extended response code without its brackets, for
	// example "IN-USE" or "SYS/TEMP" (RFC 2449 §8), or "" if none.
	Code string
	// Text is the rest of the reply line.
	Text string
}

// Error formats the reply as "pop3: CMD: -ERR [CODE] text".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pop3: ")
	if e.Cmd == "" {
		b.WriteString("greeting")
	} else {
		b.WriteString(e.Cmd)
	}
	b.WriteString(": -ERR")
	if e.Code != "" {
		b.WriteString(" [")
		b.WriteString(e.Code)
		b.WriteString("]")
	}
	if e.Text != "" {
		b.WriteString(" ")
		b.WriteString(e.Text)
	}
	return b.String()
}

// Is reports whether the reply matches one of the sentinels [ErrAuth],
// [ErrInUse], [ErrLoginDelay], [ErrSysTemp] or [ErrSysPerm]. An error
// matches at most one of them.
//
// Response codes are hierarchical and unknown detail is ignored (RFC 2449
// §8): "IN-USE/FOO" is IN-USE. Without a known code, a refused USER, PASS,
// APOP or AUTH is ErrAuth, unless its text speaks of a lock, a busy or an
// in-use mailbox, which is ErrInUse: servers often lock the maildrop
// without saying [IN-USE], and telling "wrong password" from "try again
// later" matters to the user.
func (e *Error) Is(target error) bool {
	k := e.kind()
	return k != nil && k == target
}

// kind classifies the reply as one sentinel, or nil.
func (e *Error) kind() error {
	top, sub, _ := strings.Cut(strings.ToUpper(e.Code), "/")
	switch top {
	case "IN-USE":
		return ErrInUse
	case "LOGIN-DELAY":
		return ErrLoginDelay
	case "AUTH":
		return ErrAuth
	case "SYS":
		switch {
		case sub == "TEMP" || strings.HasPrefix(sub, "TEMP/"):
			return ErrSysTemp
		case sub == "PERM" || strings.HasPrefix(sub, "PERM/"):
			return ErrSysPerm
		}
		// SYS with unknown detail: a server failure, not a bad password.
		return nil
	}
	switch e.Cmd {
	case "USER", "PASS", "APOP", "AUTH":
		if speaksOfLock(e.Text) {
			return ErrInUse
		}
		return ErrAuth
	}
	return nil
}

// speaksOfLock reports whether text contains one of the words servers use
// for a locked maildrop: "lock", "locked", "locking", "busy", "in use".
// Words are compared whole, so "blocked" does not count.
func speaksOfLock(text string) bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return r < 'a' || r > 'z'
	})
	for i, w := range words {
		switch w {
		case "lock", "locked", "locking", "busy":
			return true
		case "in":
			if i+1 < len(words) && words[i+1] == "use" {
				return true
			}
		}
	}
	return false
}

// parseError splits the text of a "-ERR" reply into code and text. A
// leading bracketed token is a response code (RFC 2449 §8) when it has the
// resp-code syntax; the client accepts codes even when the server did not
// announce RESP-CODES, as several servers send them regardless.
func parseError(cmd, text string) *Error {
	e := &Error{Cmd: cmd, Text: text}
	if !strings.HasPrefix(text, "[") {
		return e
	}
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return e
	}
	code := text[1:end]
	if !validCode(code) {
		return e
	}
	e.Code = code
	e.Text = strings.TrimLeft(text[end+1:], " ")
	return e
}

// validCode checks resp-code = "[" resp-level *("/" resp-level) "]" and
// resp-level = 1*<any CHAR except SP, CRLF, "[", "]" and "/"> (RFC 2449
// §8, with CHAR being US-ASCII 1-127 per RFC 5234 and controls excluded).
func validCode(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for level := range strings.SplitSeq(code, "/") {
		if level == "" {
			return false
		}
		for i := 0; i < len(level); i++ {
			ch := level[i]
			if ch <= ' ' || ch >= 0x7f || ch == '[' || ch == ']' {
				return false
			}
		}
	}
	return true
}
