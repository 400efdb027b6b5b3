package send

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// smtpXClient tells a submission server that offers XCLIENT (Postfix,
// to smtpd_authorized_xclient_hosts) whose mail this is, before go-smtp
// takes the connection: it reads the greeting, sends EHLO, and when the
// reply lists XCLIENT sends XCLIENT ADDR= PORT=. Postfix answers a
// successful XCLIENT with a new greeting. It returns the greeting go-smtp
// is to read (the new one, or the first when XCLIENT was not offered or
// was refused); go-smtp then says EHLO itself, which RFC 5321 §4.1.4
// allows again at any time.
func smtpXClient(conn net.Conn, localName string, client netip.AddrPort) (string, error) {
	r := bufio.NewReaderSize(conn, 4096)
	greeting, code, err := readSMTPReply(r)
	if err != nil {
		return "", fmt.Errorf("reading the greeting: %w", err)
	}
	if code != 220 {
		return greeting, nil // go-smtp reports the refusal
	}
	if _, err := io.WriteString(conn, "EHLO "+localName+"\r\n"); err != nil {
		return "", err
	}
	ehlo, code, err := readSMTPReply(r)
	if err != nil {
		return "", fmt.Errorf("EHLO: %w", err)
	}
	offered := false
	for _, l := range strings.Split(ehlo, "\r\n") {
		if len(l) > 4 {
			kw, _, _ := strings.Cut(strings.ToUpper(l[4:]), " ")
			offered = offered || kw == "XCLIENT"
		}
	}
	if code != 250 || !offered {
		return greeting, nil
	}
	cmd := "XCLIENT ADDR=" + xclientAddr(client.Addr())
	if client.Port() != 0 {
		cmd += " PORT=" + strconv.Itoa(int(client.Port()))
	}
	if _, err := io.WriteString(conn, cmd+"\r\n"); err != nil {
		return "", err
	}
	again, code, err := readSMTPReply(r)
	if err != nil {
		return "", fmt.Errorf("XCLIENT: %w", err)
	}
	if r.Buffered() > 0 {
		return "", errors.New("server sent data after its XCLIENT reply")
	}
	if code == 220 {
		return again, nil
	}
	return greeting, nil // refused: the session goes on as the gateway
}

// xclientAddr spells an address as Postfix's XCLIENT wants it: IPv6 with
// the "IPV6:" prefix (RFC 5321 address literal syntax).
func xclientAddr(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return "IPV6:" + a.String()
	}
	return a.String()
}

// readSMTPReply reads one (possibly multi-line) reply, at most 64 lines
// of 4 KiB, and returns it with CRLFs and its code.
func readSMTPReply(r *bufio.Reader) (string, int, error) {
	var b strings.Builder
	for range 64 {
		line, err := readSMTPLine(r)
		if err != nil {
			return "", 0, err
		}
		if len(line) < 3 {
			return "", 0, fmt.Errorf("malformed reply %.100q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return "", 0, fmt.Errorf("malformed reply %.100q", line)
		}
		b.WriteString(line + "\r\n")
		if len(line) == 3 || line[3] != '-' {
			return b.String(), code, nil
		}
	}
	return "", 0, errors.New("reply too long")
}

// prefixConn replays prefix before reading from the connection.
type prefixConn struct {
	net.Conn
	prefix io.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if c.prefix != nil {
		n, err := c.prefix.Read(p)
		if err == io.EOF {
			c.prefix, err = nil, nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return c.Conn.Read(p)
}

// readSMTPLine reads one line of at most 4 KiB, without its CRLF.
func readSMTPLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", errors.New("line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}
