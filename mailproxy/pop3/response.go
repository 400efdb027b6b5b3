package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// readLine reads one line of at most max octets, CRLF excluded, and
// returns it without its line ending. A bare LF is accepted as a line
// ending. The result may point into br's buffer: copy it before the next
// read. EOF before any octet is io.EOF; EOF inside a line is
// io.ErrUnexpectedEOF.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max+2 {
			return nil, fmt.Errorf("%w (over %d octets)", ErrLineTooLong, max)
		}
		switch {
		case err == nil && line == nil:
			line = frag // the common case: no copy
		default:
			line = append(line, frag...)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > max {
		return nil, fmt.Errorf("%w (over %d octets)", ErrLineTooLong, max)
	}
	return line, nil
}

// parseStatus splits a status line into its indicator and its text
// (RFC 1939 §3: "+OK" or "-ERR", then optionally a space and text). The
// indicators are matched without regard to case.
func parseStatus(line []byte) (ok bool, text string, err error) {
	var rest []byte
	switch {
	case hasPrefixFold(line, "+OK"):
		ok, rest = true, line[3:]
	case hasPrefixFold(line, "-ERR"):
		ok, rest = false, line[4:]
	default:
		return false, "", fmt.Errorf("%w: bad status line %s", ErrProtocol, quote(line))
	}
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' {
		return false, "", fmt.Errorf("%w: bad status line %s", ErrProtocol, quote(line))
	}
	return ok, string(bytes.TrimSpace(rest)), nil
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// readMultiline reads the body of a multi-line reply up to the line "."
// and returns its lines, dot-unstuffed (RFC 1939 §3: a line starting with
// "." has that "." removed). Each line is bounded by maxLine and the sum of
// line lengths plus 2 per line by maxTotal. EOF before the terminating line
// is io.ErrUnexpectedEOF.
func readMultiline(br *bufio.Reader, maxLine, maxTotal int) ([]string, error) {
	var lines []string
	total := 0
	for {
		line, err := readLine(br, maxLine)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) > 0 && line[0] == '.' {
			if len(line) == 1 {
				return lines, nil
			}
			line = line[1:]
		}
		total += len(line) + 2
		if total > maxTotal {
			return nil, fmt.Errorf("%w (over %d octets)", ErrResponseTooLarge, maxTotal)
		}
		lines = append(lines, string(line))
	}
}

// quote renders up to 64 octets of a server line for an error message.
func quote(b []byte) string {
	if len(b) > 64 {
		return strconv.QuoteToASCII(string(b[:64])) + "…"
	}
	return strconv.QuoteToASCII(string(b))
}
