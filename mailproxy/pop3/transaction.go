package pop3

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MessageInfo describes one message of the maildrop. LIST fills Number
// and Size, UIDL fills Number and UID.
//
// Number is valid in this session only; UID is the message's stable
// identity across sessions (RFC 1939 §7). See the package documentation.
type MessageInfo struct {
	// Number is the message number, from 1.
	Number int
	// Size is the size in octets as the server counts it (RFC 1939 §5:
	// with CRLF line endings, before byte-stuffing). Servers are known to
	// get it slightly wrong; treat it as an estimate.
	Size int64
	// UID is the unique-id: 1 to 70 octets in the range 0x21 to 0x7E
	// (RFC 1939 §7). This client accepts up to 512 octets.
	UID string
}

// maxUIDLength is the longest unique-id accepted. RFC 1939 §7 says 70,
// but some servers send longer ones.
const maxUIDLength = 512

// Stat returns the number of messages in the maildrop and their total
// size in octets (RFC 1939 §5, STAT). Messages marked deleted are not
// counted.
func (c *Client) Stat() (count int, size int64, err error) {
	text, err := c.cmd("STAT")
	if err != nil {
		return 0, 0, err
	}
	// "+OK nn mm"; text after mm is tolerated.
	f := strings.Fields(text)
	if len(f) >= 2 {
		count, err1 := parseNumber(f[0])
		size, err2 := parseSize(f[1])
		if err1 == nil && err2 == nil {
			return count, size, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: STAT: bad reply %s", ErrProtocol, quote([]byte(text)))
}

// List returns the number and size of every message not marked deleted
// (RFC 1939 §5, LIST without argument). Lines that do not parse are
// skipped.
func (c *Client) List() ([]MessageInfo, error) {
	lines, err := c.multi("LIST")
	if err != nil {
		return nil, err
	}
	msgs := make([]MessageInfo, 0, len(lines))
	for _, l := range lines {
		if m, ok := parseListLine(l); ok {
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// ListOne returns the size of message n (RFC 1939 §5, LIST msg). A
// message that does not exist or is marked deleted is an [*Error].
func (c *Client) ListOne(n int) (MessageInfo, error) {
	text, err := c.cmdMsg("LIST", n)
	if err != nil {
		return MessageInfo{}, err
	}
	m, ok := parseListLine(text)
	if !ok || m.Number != n {
		return MessageInfo{}, fmt.Errorf("%w: LIST: bad reply %s", ErrProtocol, quote([]byte(text)))
	}
	return m, nil
}

// Uidl returns the number and unique-id of every message not marked
// deleted (RFC 1939 §7, UIDL without argument). Lines that do not parse
// are skipped. UIDL is optional: a server without it answers "-ERR".
func (c *Client) Uidl() ([]MessageInfo, error) {
	lines, err := c.multi("UIDL")
	if err != nil {
		return nil, err
	}
	msgs := make([]MessageInfo, 0, len(lines))
	for _, l := range lines {
		if m, ok := parseUidlLine(l); ok {
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// UidlOne returns the unique-id of message n (RFC 1939 §7, UIDL msg).
func (c *Client) UidlOne(n int) (MessageInfo, error) {
	text, err := c.cmdMsg("UIDL", n)
	if err != nil {
		return MessageInfo{}, err
	}
	m, ok := parseUidlLine(text)
	if !ok || m.Number != n {
		return MessageInfo{}, fmt.Errorf("%w: UIDL: bad reply %s", ErrProtocol, quote([]byte(text)))
	}
	return m, nil
}

// Top returns the header of message n, the blank line after it and the
// first lines lines of its body (RFC 1939 §7, TOP msg n). TOP is optional:
// a server without it answers "-ERR". The reader is as for Retr.
func (c *Client) Top(n, lines int) (io.ReadCloser, error) {
	if lines < 0 {
		return nil, fmt.Errorf("%w: TOP: negative line count %d", ErrInvalidArgument, lines)
	}
	if _, err := c.cmdMsg("TOP", n, strconv.Itoa(lines)); err != nil {
		return nil, err
	}
	return c.openBody("TOP"), nil
}

// Retr returns message n (RFC 1939 §5, RETR) as a stream, dot-unstuffed,
// with line endings as the server sent them (CRLF). Read it to io.EOF or
// close it before the next command; until then other methods return
// [ErrReaderOpen]. Close discards what was not read. A connection that
// ends before the final "." is io.ErrUnexpectedEOF, not a short message.
func (c *Client) Retr(n int) (io.ReadCloser, error) {
	if _, err := c.cmdMsg("RETR", n); err != nil {
		return nil, err
	}
	return c.openBody("RETR"), nil
}

// Dele marks message n as deleted (RFC 1939 §5). The server removes it
// only when the session ends with Quit; Rset, Close or a broken connection
// keep it.
func (c *Client) Dele(n int) error {
	_, err := c.cmdMsg("DELE", n)
	return err
}

// Rset unmarks every message marked as deleted in this session
// (RFC 1939 §5).
func (c *Client) Rset() error {
	_, err := c.cmd("RSET")
	return err
}

// Noop does nothing but check that the server is alive (RFC 1939 §5).
func (c *Client) Noop() error {
	_, err := c.cmd("NOOP")
	return err
}

// Quit ends the session (RFC 1939 §6). After authentication the server
// enters the UPDATE state and removes the messages marked by Dele; "+OK"
// means it did, and a "-ERR" (returned as an [*Error]) means some could not
// be removed. The connection is closed in every case, except that Quit
// returns [ErrReaderOpen] and does nothing while a message reader is open.
func (c *Client) Quit() error {
	if c.body != nil && c.err == nil && !c.closed.Load() {
		return ErrReaderOpen
	}
	_, err := c.cmd("QUIT")
	c.Close()
	return err
}

// cmdMsg sends a command whose first argument is a message number.
func (c *Client) cmdMsg(cmd string, n int, args ...string) (string, error) {
	if n < 1 {
		return "", fmt.Errorf("%w: %s: message number %d", ErrInvalidArgument, cmd, n)
	}
	return c.cmd(cmd, append([]string{strconv.Itoa(n)}, args...)...)
}

// multi sends a command and reads its multi-line reply.
func (c *Client) multi(cmd string) ([]string, error) {
	if _, err := c.cmd(cmd); err != nil {
		return nil, err
	}
	return c.readLines(cmd)
}

// parseListLine parses a scan listing, "msg size" (RFC 1939 §5); text
// after the size is tolerated.
func parseListLine(l string) (MessageInfo, bool) {
	f := strings.Fields(l)
	if len(f) < 2 {
		return MessageInfo{}, false
	}
	n, err := parseNumber(f[0])
	if err != nil || n < 1 {
		return MessageInfo{}, false
	}
	size, err := parseSize(f[1])
	if err != nil {
		return MessageInfo{}, false
	}
	return MessageInfo{Number: n, Size: size}, true
}

// parseUidlLine parses a unique-id listing, "msg unique-id" (RFC 1939
// §7).
func parseUidlLine(l string) (MessageInfo, bool) {
	f := strings.Fields(l)
	if len(f) != 2 {
		return MessageInfo{}, false
	}
	n, err := parseNumber(f[0])
	if err != nil || n < 1 || !validUID(f[1]) {
		return MessageInfo{}, false
	}
	return MessageInfo{Number: n, UID: f[1]}, true
}

// parseNumber parses a message number or count: decimal digits only.
func parseNumber(s string) (int, error) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// parseSize parses a size in octets: decimal digits only.
func parseSize(s string) (int64, error) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}

// validUID checks the unique-id syntax of RFC 1939 §7, allowing up to
// maxUIDLength octets.
func validUID(s string) bool {
	if s == "" || len(s) > maxUIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
