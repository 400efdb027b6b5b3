package pop3

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseStatus(t *testing.T) {
	tests := map[string]struct {
		ok      bool
		text    string
		wantErr error
	}{
		"+OK":               {ok: true},
		"+OK 2 320":         {ok: true, text: "2 320"},
		"+OK  spaced  ":     {ok: true, text: "spaced"},
		"+ok lower":         {ok: true, text: "lower"},
		"+OK\tTab":          {ok: true, text: "Tab"},
		"-ERR":              {},
		"-ERR no":           {text: "no"},
		"-err [AUTH] x":     {text: "[AUTH] x"},
		"+OKAY":             {wantErr: ErrProtocol},
		"-ERROR":            {wantErr: ErrProtocol},
		"+ continue":        {wantErr: ErrProtocol},
		"":                  {wantErr: ErrProtocol},
		"OK":                {wantErr: ErrProtocol},
		"* OK IMAP4 ready":  {wantErr: ErrProtocol},
		"220 smtp.example ": {wantErr: ErrProtocol},
	}
	for line, tt := range tests {
		ok, text, err := parseStatus([]byte(line))
		if ok != tt.ok || text != tt.text || !errIs(err, tt.wantErr) {
			t.Errorf("parseStatus(%q) = %v, %q, %v; want %v, %q, %v", line, ok, text, err, tt.ok, tt.text, tt.wantErr)
		}
	}
}

func TestReadLine(t *testing.T) {
	tests := map[string]struct {
		in      string
		max     int
		want    string
		wantErr error
	}{
		"crlf":          {in: "+OK\r\n", max: 10, want: "+OK"},
		"lf":            {in: "+OK\n", max: 10, want: "+OK"},
		"cr kept":       {in: "+OK\rx\r\n", max: 10, want: "+OK\rx"},
		"at max":        {in: "0123456789\r\n", max: 10, want: "0123456789"},
		"over max":      {in: "0123456789a\r\n", max: 10, wantErr: ErrLineTooLong},
		"over max lf":   {in: "0123456789ab\n", max: 10, wantErr: ErrLineTooLong},
		"eof":           {in: "", max: 10, wantErr: io.EOF},
		"eof mid line":  {in: "+OK", max: 10, wantErr: io.ErrUnexpectedEOF},
		"beyond buffer": {in: strings.Repeat("x", 40000) + "\r\n", max: 50000, want: strings.Repeat("x", 40000)},
		"huge":          {in: strings.Repeat("x", 100000), max: 50000, wantErr: ErrLineTooLong},
	}
	for name, tt := range tests {
		br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
		got, err := readLine(br, tt.max)
		if string(got) != tt.want || !errIs(err, tt.wantErr) {
			t.Errorf("%s: readLine() = %.40q, %v; want %.40q, %v", name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadMultiline(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []string
		wantErr error
	}{
		"empty":        {in: ".\r\n", want: nil},
		"lines":        {in: "1 2\r\n3 4\r\n.\r\n", want: []string{"1 2", "3 4"}},
		"stuffed":      {in: "..\r\n..x\r\n.y\r\n.\r\n", want: []string{".", ".x", "y"}},
		"blank line":   {in: "\r\n.\r\n", want: []string{""}},
		"bare LF":      {in: "a\n.\n", want: []string{"a"}},
		"after dot":    {in: "a\r\n.\r\nb\r\n", want: []string{"a"}},
		"no dot":       {in: "a\r\n", wantErr: io.ErrUnexpectedEOF},
		"nothing":      {in: "", wantErr: io.ErrUnexpectedEOF},
		"dot no CRLF":  {in: "a\r\n.", wantErr: io.ErrUnexpectedEOF},
		"dot space":    {in: ". \r\n", wantErr: io.ErrUnexpectedEOF},
		"line too big": {in: strings.Repeat("x", 101) + "\r\n.\r\n", wantErr: ErrLineTooLong},
		"too large":    {in: strings.Repeat("1 1\r\n", 300) + ".\r\n", wantErr: ErrResponseTooLarge},
	}
	for name, tt := range tests {
		br := bufio.NewReader(strings.NewReader(tt.in))
		got, err := readMultiline(br, 100, 1000)
		if !reflect.DeepEqual(got, tt.want) || !errIs(err, tt.wantErr) {
			t.Errorf("%s: readMultiline() = %q, %v; want %q, %v", name, got, err, tt.want, tt.wantErr)
		}
	}
}

// dotTests are the dot-unstuffing cases for dotReader, by wire form.
var dotTests = map[string]struct {
	want    string
	wantErr error
}{
	".\r\n":                      {want: ""},
	"a\r\n.\r\n":                 {want: "a\r\n"},
	"..foo\r\n.\r\n":             {want: ".foo\r\n"},
	".foo\r\n.\r\n":              {want: "foo\r\n"},
	"..\r\n.\r\n":                {want: ".\r\n"},
	"a\r\n..\r\n\r\n.\r\n":       {want: "a\r\n.\r\n\r\n"},
	"a.b\r\n.\r\n":               {want: "a.b\r\n"},
	"a\n.\n":                     {want: "a\n"},
	".\rx\r\n.\r\n":              {want: "\rx\r\n"},
	".\r.\r\n.\r\n":              {want: "\r.\r\n"},
	"\r\n\r\n.\r\n":              {want: "\r\n\r\n"},
	"a\r\n.\r\ntrailing\r\n":     {want: "a\r\n"},
	"":                           {wantErr: io.ErrUnexpectedEOF},
	"abc":                        {want: "abc", wantErr: io.ErrUnexpectedEOF},
	"abc\r\n":                    {want: "abc\r\n", wantErr: io.ErrUnexpectedEOF},
	"abc\r\n.":                   {want: "abc\r\n", wantErr: io.ErrUnexpectedEOF},
	"abc\r\n.\r":                 {want: "abc\r\n", wantErr: io.ErrUnexpectedEOF},
	"line one\r\nline two\r\n..": {want: "line one\r\nline two\r\n.", wantErr: io.ErrUnexpectedEOF},
}

func TestDotReader(t *testing.T) {
	readers := map[string]func(s string) *bufio.Reader{
		"whole": func(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) },
		"one byte": func(s string) *bufio.Reader {
			return bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(s)), 16)
		},
		"half bytes": func(s string) *bufio.Reader { return bufio.NewReaderSize(iotest.HalfReader(strings.NewReader(s)), 16) },
	}
	for rname, newReader := range readers {
		for in, tt := range dotTests {
			for _, bufSize := range []int{1, 3, 4096} {
				d := &dotReader{br: newReader(in)}
				got, err := readAllWith(d, bufSize)
				if string(got) != tt.want || !errIs(err, tt.wantErr) {
					t.Errorf("%s, buffer %d: dotReader(%q) = %q, %v; want %q, %v", rname, bufSize, in, got, err, tt.want, tt.wantErr)
				}
			}
		}
	}
}

// readAllWith reads d to the end with reads of bufSize octets. It returns
// a nil error at io.EOF.
func readAllWith(d *dotReader, bufSize int) ([]byte, error) {
	var out []byte
	buf := make([]byte, bufSize)
	for i := 0; ; i++ {
		n, err := d.read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if n == 0 && i > 1<<20 {
			return out, errors.New("no progress")
		}
	}
}
