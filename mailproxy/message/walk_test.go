package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

func TestDecodeHeaderText(t *testing.T) {
	tests := map[string]string{
		"":                                        "",
		"Plain subject":                           "Plain subject",
		"=?utf-8?q?caf=C3=A9?=":                   "café",
		"=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=":       "éé",
		"=?utf-8?q?a?=  \r\n =?utf-8?q?b?=":       "ab",
		"=?utf-8?q?a?= b =?utf-8?q?c?=":           "a b c",
		"=?utf-8?Q?=E2=82?= =?utf-8?Q?=AC?=":      "€",
		"=?utf-8?q?Hello_World?=":                 "Hello World",
		"=?x-unknown?q?caf=E9?=":                  "café",
		"=?x-unknown?q?caf=C3=A9?=":               "café",
		"=?utf8?q?ok?=":                           "ok",
		"=?latin1?q?caf=E9?=":                     "café",
		"=?cp1252?q?=80_and_=93q=94?=":            "€ and “q”",
		"=?ks_c_5601-1987?B?vsiz58fPvLy/5A==?=":   "안녕하세요",
		"=?gb2312?B?1tDOxA==?=":                   "中文",
		"=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=":      "テスト",
		"=?windows-1251?B?z/Do4uXy?=":             "Привет",
		"=?utf-16le?B?YQBiAA==?=":                 "ab",
		"=?utf-7?q?Hi_+AGEAYgBj-?=":               "Hi abc",
		"=?utf-8*en?q?lang?=":                     "lang",
		"=?utf-8?x?bad?=":                         "=?utf-8?x?bad?=",
		"=?utf-8?q?unclosed":                      "=?utf-8?q?unclosed",
		"=??q?nocharset?=":                        "=??q?nocharset?=",
		"=?utf-8?q?bad=ZZescape?=":                "bad=ZZescape",
		"=?utf-8?b?w6k!!?=":                       "é",
		"=?utf-8?q?line=0Abreak?=":                "line break",
		"prefix=?utf-8?q?X?=suffix":               "prefixXsuffix",
		"Re:=?utf-8?q?_caf=C3=A9?=bar":            "Re: cafébar",
		"raw caf\xe9":                             "raw café",
		"raw UTF-8 café":                          "raw UTF-8 café",
		"a\x00b\rc\nd\x07e\tf":                    "a b c d e\tf",
		"Folded\r\n subject":                      "Folded subject",
		"Folded\n\tsubject":                       "Folded\tsubject",
		"=?utf-8?q?=FF=FE?=":                      "\uFFFD",
		"  spaced  ":                              "spaced",
		"=?utf-8?q?a?= =?iso-8859-1?q?=E9?=":      "aé",
		"=?us-ascii?q?mislabelled_=C3=A9?=":       "mislabelled é",
		"=?iso-8859-1?q?=E9?= plain =?utf-8?q??=": "é plain",
	}
	for in, want := range tests {
		if got := DecodeHeaderText(in); got != want {
			t.Errorf("DecodeHeaderText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	tests := map[string][]mailproxy.Address{
		"":                                                 nil,
		"Ann <ann@example.com>, bob@example.com":           {{Name: "Ann", Email: "ann@example.com"}, {Name: "", Email: "bob@example.com"}},
		`"Doe, John" <jd@example.com>`:                     {{Name: "Doe, John", Email: "jd@example.com"}},
		`Doe, John <jd@example.com>`:                       {{Name: "Doe, John", Email: "jd@example.com"}},
		`Broken <no-at-sign>`:                              {{Name: "Broken", Email: "no-at-sign"}},
		`undisclosed-recipients:;`:                         {{Name: "undisclosed-recipients", Email: ""}},
		`Team: a@example.org, b@example.org;`:              {{Name: "", Email: "a@example.org"}, {Name: "", Email: "b@example.org"}},
		`=?utf-8?q?Ren=C3=A9?= <r@example.org>`:            {{Name: "René", Email: "r@example.org"}},
		`"=?utf-8?q?Ren=C3=A9?=" <r@example.org>`:          {{Name: "René", Email: "r@example.org"}},
		`=?x-unknown?q?Caf=E9?= <c@example.org>`:           {{Name: "Café", Email: "c@example.org"}},
		"J\xfcrgen <j@example.de>":                         {{Name: "Jürgen", Email: "j@example.de"}},
		`Just A Name`:                                      {{Name: "Just A Name", Email: ""}},
		`a@example.org (Ann Example)`:                      {{Name: "Ann Example", Email: "a@example.org"}},
		`<only@example.org>`:                               {{Name: "", Email: "only@example.org"}},
		`Ann <ann@example.com>,, ,bob@example.com`:         {{Name: "Ann", Email: "ann@example.com"}, {Name: "", Email: "bob@example.com"}},
		`Ann <ann@example.com>, Broken <x>, c@example.com`: {{Name: "Ann", Email: "ann@example.com"}, {Name: "Broken", Email: "x"}, {Name: "", Email: "c@example.com"}},
		"Ann\r\n <ann@example.com>":                        {{Name: "Ann", Email: "ann@example.com"}},
		`"Quote \"Q\" Person" <q@example.com>`:             {{Name: `Quote "Q" Person`, Email: "q@example.com"}},
	}
	for in, want := range tests {
		if got := ParseAddressList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseAddressList(%q) = %#v, want %#v", in, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	utc := func(s string) string { return s }
	tests := map[string]string{
		"Mon, 2 Jan 2006 15:04:05 -0700":         utc("2006-01-02T15:04:05-07:00"),
		"Mon, 2 Jan 2006 15:04:05 -0700 (MST)":   "2006-01-02T15:04:05-07:00",
		"2 Jan 2006 15:04:05 EST":                "2006-01-02T15:04:05-05:00",
		"Tue, 16 Apr 2024 10:02:33 CEST":         "2024-04-16T10:02:33+02:00",
		"Mon, 2 Jan 06 15:04:05 GMT":             "2006-01-02T15:04:05Z",
		"Thu, 1 Jan 2015 5:04 +0100":             "2015-01-01T05:04:00+01:00",
		"mon, 02 jan 2006 15:04:05 +0000":        "2006-01-02T15:04:05Z",
		"Tue, 16 Apr 2024 10:02:33":              "2024-04-16T10:02:33Z",
		"Thursday, 27-Jun-2024 16:05:06 CEST":    "2024-06-27T16:05:06+02:00",
		"Fri Jun 28 17:00:00 2024":               "2024-06-28T17:00:00Z",
		"Fri Jun 28 17:00:00 PDT 2024":           "2024-06-28T17:00:00-07:00",
		"2024-06-28T17:00:00+02:00":              "2024-06-28T17:00:00+02:00",
		"2024-06-28 17:00:00":                    "2024-06-28T17:00:00Z",
		"Fri, 28 Jun 2024 17:00:00 GMT+0200":     "2024-06-28T17:00:00+02:00",
		"Fri, 28 Jun 2024 17:00:00 UTC+5:30":     "2024-06-28T17:00:00+05:30",
		"Fri, 28 Jun 2024 17:00:00 +02:00":       "2024-06-28T17:00:00+02:00",
		"Fri,  28  Jun  2024\r\n 17:00:00 +0000": "2024-06-28T17:00:00Z",
		"June 28, 2024 5:00 PM":                  "2024-06-28T17:00:00Z",
		"sometime last week":                     "0001-01-01T00:00:00Z",
		"":                                       "0001-01-01T00:00:00Z",
	}
	for in, want := range tests {
		if got := parseDate(in).Format(time.RFC3339); got != want {
			t.Errorf("parseDate(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseMediaHeader(t *testing.T) {
	tests := map[string]struct {
		value string
		param string
		want  string
	}{
		"plain":            {`text/plain; charset="utf-8"`, "charset", "utf-8"},
		"upper type":       {`Text/HTML; Charset=ISO-8859-1`, "charset", "ISO-8859-1"},
		"unquoted blanks":  {`attachment; filename=my file.pdf`, "filename", "my file.pdf"},
		"semicolon quoted": {`attachment; filename="a;b.txt"`, "filename", "a;b.txt"},
		"unclosed quote":   {`attachment; filename="open.txt`, "filename", "open.txt"},
		"rfc2231 latin1":   {`attachment; filename*=iso-8859-1''R%E9sum%E9.pdf`, "filename", "Résumé.pdf"},
		"rfc2231 utf8":     {`attachment; filename*=UTF-8'en'%E2%82%AC.txt`, "filename", "€.txt"},
		"rfc2231 cont":     {"attachment;\r\n filename*0*=utf-8''%E2%82%AC-;\r\n filename*1=\"rates.txt\"", "filename", "€-rates.txt"},
		"rfc2231 beats":    {`attachment; filename="fallback.txt"; filename*=utf-8''real.txt`, "filename", "real.txt"},
		"rfc2231 bad pct":  {`attachment; filename*=utf-8''100%.txt`, "filename", "100%.txt"},
		"stray semicolons": {`multipart/mixed;; boundary="b1";`, "boundary", "b1"},
		"type blanks":      {`multipart / mixed; boundary=x`, "", "multipart/mixed"},
	}
	for name, tt := range tests {
		mp := ParseMediaHeader(tt.value)
		got := mp.Value
		if tt.param != "" {
			got = mp.Params[tt.param]
		}
		if got != tt.want {
			t.Errorf("%s: parseMediaHeader(%q)[%q] = %q, want %q", name, tt.value, tt.param, got, tt.want)
		}
	}
}

// malformedWant is what ParseMessage must make of one file of
// testdata/malformed.
type malformedWant struct {
	subject   string
	from      string // display name, or address when there is no name
	body      string // a substring of the shown text or HTML; "" means no body
	html      bool   // the body is HTML
	problem   string // a substring of one problem; "" means no problems
	atts      []string
	blocked   bool
	dateEmpty bool
}

var malformedWants = map[string]malformedWant{
	"attachment-only.eml":           {subject: "Scan", from: "Scanner", atts: []string{"1 scan.pdf application/pdf"}},
	"bad-base64.eml":                {subject: "Bad base64", from: "Base Sixty-Four", body: "Hello world, this is base64.", problem: "damaged"},
	"bad-qp.eml":                    {subject: "Bad quoted-printable", from: "Quoted Printable", body: "100=ZZ euros, café and a soft break, then =4 at the end", problem: "damaged"},
	"bare-lf.eml":                   {subject: "Bare LF multipart", from: "Unix Mailer", body: "Plain with bare LF."},
	"body-without-blank-line.eml":   {subject: "No blank line", from: "Hasty", body: "Hello, this body follows the header directly.\nThere is no empty line", dateEmpty: true},
	"cr-only.eml":                   {subject: "Classic Mac OS line endings", from: "Old Mac", body: "Line one.\nLine two."},
	"date-ctime.eml":                {subject: "ctime date", from: "Date Tester", body: "asctime-style date."},
	"date-garbage.eml":              {subject: "Unparseable date", from: "Date Tester", body: "The date cannot be read.", dateEmpty: true},
	"date-odd-formats.eml":          {subject: "Odd date", from: "Date Tester", body: "full weekday"},
	"empty-body.eml":                {subject: "Nothing inside", from: "Empty"},
	"encoded-word-mid-word.eml":     {subject: "Re: cafébar and prefixésuffix", from: "René", body: "Encoded-words glued"},
	"flowed-alternative.eml":        {subject: "Format flowed with empty plain part", from: "Flowed", body: "<div>Only the <i>HTML</i> part has text.</div>", html: true},
	"from-no-address.eml":           {subject: "From without address", from: "Just A Name", body: "Who sent this?"},
	"header-continuation.eml":       {subject: "Folded subject", from: "Folding Tester", body: "Body after folded headers.", problem: "header lines were damaged"},
	"header-no-colon.eml":           {subject: "Weekly digest", from: "Newsletter", body: "weekly digest", problem: "header lines were damaged"},
	"header-only.eml":               {subject: "Headers and nothing else", from: "Header Only"},
	"html-only-scripts.eml":         {subject: "Big sale!", from: "Marketing", body: "<p>Everything <b>50%</b> off.</p>", html: true, blocked: true},
	"huge-single-line.eml":          {subject: "One very long line", from: "Long Liner", body: "lorem ipsum lorem ipsum END"},
	"iso-2022-jp-subject.eml":       {subject: "テスト メール", from: "テスト", body: "こんにちは"},
	"mbox-from-line.eml":            {subject: "Starts with an mbox From line", from: "Mbox Export", body: "Exported from an mbox file."},
	"missing-boundary-param.eml":    {subject: "No boundary", from: "Broken Mailer", body: "It should be shown as text.", problem: "no boundary"},
	"missing-closing-boundary.eml":  {subject: "Missing closing boundary", from: "Cut Off", body: "First part text.", atts: []string{"2 dot.png image/png"}},
	"misspelt-charsets.eml":         {subject: "中文 and latin1 café", from: "안녕하세요", body: "Charset names"},
	"nested-4-levels.eml":           {subject: "Four levels deep", from: "Nested Sender", body: "Plain alternative at level three.", atts: []string{"1.1.2.2 attachment-1-1-2-2.gif image/gif", "1.2 data.csv text/csv", "2 final.pdf application/pdf"}},
	"no-content-type.eml":           {subject: "No MIME headers at all", from: "plain@example.com", body: "Just plain old RFC 822 text.\nNo MIME-Version"},
	"nul-bytes.eml":                 {subject: "Nul in subject", from: "Nul Sender", body: "Body withNULbytes."},
	"raw-8bit-latin1-header.eml":    {subject: "Grüße aus Köln", from: "Jürgen Müller", body: "Schöne Grüße!"},
	"raw-8bit-utf8-header.eml":      {subject: "Привет, мир", from: "Дмитрий Иванов", body: "Это тело письма."},
	"related-cid.eml":               {subject: "Inline logo", from: "Newsletter", body: `<img src="/cid/logo.png@example.com" alt="logo"/>`, html: true, atts: []string{"2 logo.png image/png"}},
	"rfc2047-filename.eml":          {subject: "RFC 2047 file name", from: "Outlook User", body: "overview attached", atts: []string{"2 Übersicht.pdf application/pdf", "3 attachment-3.png image/png"}},
	"rfc2231-filenames.eml":         {subject: "RFC 2231 file names", from: "Attachments", body: "Two files attached.", atts: []string{"2 Résumé.pdf application/pdf", "3 €-rates.txt text/plain"}},
	"rfc822-attachment.eml":         {subject: "Fwd: original", from: "Forwarder", body: "See the attached message.", atts: []string{"2 The original ✓.eml message/rfc822"}},
	"unknown-charset.eml":           {subject: "Café crème", from: "Claire Dubois", body: "Bonjour à tous, le café est prêt.", problem: `unknown character set "x-mac-klingon"`},
	"unknown-transfer-encoding.eml": {subject: "Unknown transfer encoding", from: "Old Mailer", body: "claims an encoding nobody knows", problem: `unknown transfer encoding "x-foo-encoding"`},
	"windows-1251-body.eml":         {subject: "Привет", from: "Sergey", body: "Привет, это письмо в кодировке windows-1251."},
	"wrong-boundary.eml":            {subject: "Wrong boundary", from: "Wrong Boundary", body: "The real text part.", problem: "wrong part boundary", atts: []string{"2 report.pdf application/pdf"}},
}

func malformedFiles(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "malformed", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test messages: %v", err)
	}
	return files
}

func TestParseMessageMalformed(t *testing.T) {
	files := malformedFiles(t)
	if len(files) < 25 {
		t.Errorf("only %d malformed messages", len(files))
	}
	seen := map[string]bool{}
	cid := func(c string) string { return "/cid/" + c }
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		want, ok := malformedWants[name]
		if !ok {
			t.Errorf("%s: no expectations", name)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := ParseMessage(bytes.NewReader(data), 0, mailproxy.ViewOptions{}, cid)
		if m == nil {
			t.Fatalf("ParseMessage(%s) = nil", name)
		}
		if m.Subject != want.subject {
			t.Errorf("ParseMessage(%s).Subject = %q, want %q", name, m.Subject, want.subject)
		}
		if len(m.From) == 0 || m.From[0].String() != want.from {
			t.Errorf("ParseMessage(%s).From = %#v, want %q", name, m.From, want.from)
		}
		if m.Body.Text != "" && m.Body.HTML != "" {
			t.Errorf("ParseMessage(%s).Body has both Text and HTML", name)
		}
		shown := m.Body.Text
		if want.html {
			shown = m.Body.HTML
		}
		switch {
		case want.body == "" && (m.Body.Text != "" || m.Body.HTML != ""):
			t.Errorf("ParseMessage(%s).Body = %+v, want none", name, m.Body)
		case want.body != "" && !strings.Contains(shown, want.body):
			t.Errorf("ParseMessage(%s).Body = %q, want it to contain %q", name, shown, want.body)
		}
		if m.Body.RemoteBlocked != want.blocked {
			t.Errorf("ParseMessage(%s).Body.RemoteBlocked = %v, want %v", name, m.Body.RemoteBlocked, want.blocked)
		}
		if bad := activeContent(m.Body.HTML); bad != "" {
			t.Errorf("ParseMessage(%s).Body.HTML has %s: %q", name, bad, m.Body.HTML)
		}
		if onAttrRe.MatchString(m.Body.HTML) || strings.Contains(m.Body.HTML, "javascript:") {
			t.Errorf("ParseMessage(%s).Body.HTML is not safe: %q", name, m.Body.HTML)
		}
		switch {
		case want.problem == "" && len(m.Problems) > 0:
			t.Errorf("ParseMessage(%s).Problems = %q, want none", name, m.Problems)
		case want.problem != "" && !strings.Contains(strings.Join(m.Problems, "\n"), want.problem):
			t.Errorf("ParseMessage(%s).Problems = %q, want one containing %q", name, m.Problems, want.problem)
		}
		var atts []string
		for _, a := range m.Attachments {
			atts = append(atts, a.Part+" "+a.Name+" "+a.Type)
		}
		if !reflect.DeepEqual(atts, want.atts) {
			t.Errorf("ParseMessage(%s).Attachments = %q, want %q", name, atts, want.atts)
		}
		if m.Date.IsZero() != want.dateEmpty {
			t.Errorf("ParseMessage(%s).Date = %v, want empty: %v", name, m.Date, want.dateEmpty)
		}
	}
	for name := range malformedWants {
		if !seen[name] {
			t.Errorf("%s: expected in testdata/malformed", name)
		}
	}
}

func TestParseMessageFields(t *testing.T) {
	raw := "From: \"Ann Example\" <ann@example.com>\r\n" +
		"Reply-To: list@example.com\r\n" +
		"To: Bob <bob@example.com>, carol@example.com\r\n" +
		"Cc: =?utf-8?q?D=C3=A9bora?= <deb@example.com>\r\n" +
		"Subject: =?utf-8?q?Hello?=\r\n" +
		"Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n" +
		"Message-ID: <id-1@example.com>\r\n" +
		"In-Reply-To: <id-0@example.com> (comment)\r\n" +
		"References: <id-a@example.com>\r\n <id-0@example.com>\r\n" +
		"\r\n" +
		"Hi\r\n"
	m := ParseMessage(strings.NewReader(raw), 0, mailproxy.ViewOptions{}, nil)
	addrs := func(l []mailproxy.Address) string {
		var s []string
		for _, a := range l {
			s = append(s, a.Name+" <"+a.Email+">")
		}
		return strings.Join(s, ", ")
	}
	got := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s|%v|%q", addrs(m.From), addrs(m.ReplyTo), addrs(m.To), addrs(m.Cc), m.Subject,
		m.Date.Format(time.RFC3339), m.MessageID, m.InReplyTo, m.References, m.Body.Text)
	want := `Ann Example <ann@example.com>| <list@example.com>|Bob <bob@example.com>,  <carol@example.com>|Débora <deb@example.com>|Hello|2006-01-02T15:04:05-07:00|id-1@example.com|id-0@example.com|[id-a@example.com id-0@example.com]|"Hi\n"`
	if got != want {
		t.Errorf("ParseMessage fields = %s\nwant %s", got, want)
	}
}

func TestParseMessageLimits(t *testing.T) {
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789\r\n", 1000)
	m := ParseMessage(strings.NewReader(big), 200, mailproxy.ViewOptions{}, nil)
	if !strings.Contains(strings.Join(m.Problems, " "), "too large") {
		t.Errorf("ParseMessage(12 kB, max 200).Problems = %q, want one about size", m.Problems)
	}
	if len(m.Body.Text) > 200 {
		t.Errorf("ParseMessage(12 kB, max 200) body is %d bytes", len(m.Body.Text))
	}
	if m := ParseMessage(nil, 0, mailproxy.ViewOptions{}, nil); m == nil {
		t.Errorf("ParseMessage(nil) = nil")
	}
	if m := ParseMessage(strings.NewReader(""), 0, mailproxy.ViewOptions{}, nil); m == nil || m.Body.Text != "" || len(m.Problems) != 0 {
		t.Errorf("ParseMessage(\"\") = %+v", m)
	}
	// A reader that fails half-way.
	m = ParseMessage(io.MultiReader(strings.NewReader("Subject: x\r\n\r\nabc"), errReader{}), 0, mailproxy.ViewOptions{}, nil)
	if m.Subject != "x" || !strings.Contains(strings.Join(m.Problems, " "), "could not be read") {
		t.Errorf("ParseMessage(failing reader) = %q, %q", m.Subject, m.Problems)
	}
	// Deep nesting stops at maxDepth without recursion trouble.
	var sb strings.Builder
	sb.WriteString("Subject: deep\r\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&sb, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	sb.WriteString("Content-Type: text/plain\r\n\r\ndeep text\r\n")
	m = ParseMessage(strings.NewReader(sb.String()), 0, mailproxy.ViewOptions{}, nil)
	if !strings.Contains(strings.Join(m.Problems, " "), "nested too deeply") {
		t.Errorf("ParseMessage(50 levels).Problems = %q", m.Problems)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestParseMessageBodyChoice(t *testing.T) {
	alt := func(plain, html string) string {
		return "Subject: s\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n" +
			"--a\r\nContent-Type: text/plain\r\n\r\n" + plain + "\r\n" +
			"--a\r\nContent-Type: text/html\r\n\r\n" + html + "\r\n--a--\r\n"
	}
	tests := map[string]struct {
		raw        string
		text, html string
	}{
		"alternative plain": {alt("plain", "<p>html</p>"), "plain", ""},
		"alternative blank": {alt(" ", "<p>html</p>"), "", "<p>html</p>"},
		"html only":         {"Content-Type: text/html\r\n\r\n<b>b</b>", "", "<b>b</b>"},
		"html meta charset": {"Content-Type: text/html\r\n\r\n<meta charset=\"iso-8859-1\"><p>caf\xe9</p>", "", "<p>café</p>"},
		"mixed footer": {"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nbody\r\n" +
			"--m\r\nContent-Type: text/plain\r\n\r\nfooter\r\n--m--\r\n", "body\n\nfooter", ""},
		"flowed":       {"Content-Type: text/plain; format=flowed\r\n\r\nsoft \r\nbreak\r\n> quoted \r\n> on\r\n", "soft break\n> quoted on\n", ""},
		"flowed delsp": {"Content-Type: text/plain; format=flowed; delsp=yes\r\n\r\nsoft \r\nbreak\r\n", "softbreak\n", ""},
		"related start": {"Content-Type: multipart/related; boundary=r; start=\"<root@x>\"\r\n\r\n" +
			"--r\r\nContent-Type: text/plain\r\n\r\nnot root\r\n" +
			"--r\r\nContent-Type: text/html\r\nContent-ID: <root@x>\r\n\r\n<i>root</i>\r\n--r--\r\n", "", "<i>root</i>"},
		"preamble only": {"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts here\r\n", "no parts here\n", ""},
		"part without header": {"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nno header line\r\nsecond\r\n--b--\r\n",
			"no header line\nsecond", ""},
	}
	for name, tt := range tests {
		m := ParseMessage(strings.NewReader(tt.raw), 0, mailproxy.ViewOptions{}, nil)
		if m.Body.Text != tt.text || m.Body.HTML != tt.html {
			t.Errorf("%s: ParseMessage body = %q, %q, want %q, %q", name, m.Body.Text, m.Body.HTML, tt.text, tt.html)
		}
	}
}

func TestExtractPart(t *testing.T) {
	tests := map[string]struct {
		file, part string
		name, typ  string
		content    string // a prefix of the decoded content
	}{
		"single part":         {"attachment-only.eml", "1", "scan.pdf", "application/pdf", "%PDF-1.4\n"},
		"text part":           {"bare-lf.eml", "2", "attachment-2.html", "text/html", "<p>HTML with bare LF.</p>"},
		"nested image":        {"nested-4-levels.eml", "1.1.2.2", "attachment-1-1-2-2.gif", "image/gif", "GIF89a"},
		"nested csv":          {"nested-4-levels.eml", "1.2", "data.csv", "text/csv", "a,b\r\n1,2"},
		"last part":           {"nested-4-levels.eml", "2", "final.pdf", "application/pdf", "%PDF-1.4"},
		"rfc822 whole":        {"rfc822-attachment.eml", "2", "The original ✓.eml", "message/rfc822", "From: Original Author"},
		"rfc822 inner text":   {"rfc822-attachment.eml", "2.1", "attachment-2-1.txt", "text/plain", "Inner text."},
		"rfc822 inner zip":    {"rfc822-attachment.eml", "2.2", "inner.zip", "application/zip", "PK\x05\x06"},
		"missing closing":     {"missing-closing-boundary.eml", "2", "dot.png", "image/png", "\x89PNG"},
		"wrong boundary":      {"wrong-boundary.eml", "2", "report.pdf", "application/pdf", "%PDF-1.4"},
		"rfc2231":             {"rfc2231-filenames.eml", "3", "€-rates.txt", "text/plain", "1 EUR = 1.08 USD"},
		"cr only":             {"cr-only.eml", "1", "attachment-1.txt", "text/plain", "Line one.\nLine two."},
		"qp":                  {"bad-qp.eml", "1", "attachment-1.txt", "text/plain", "Price: 100=ZZ euros, caf\xc3\xa9"},
		"related inline logo": {"related-cid.eml", "2", "logo.png", "image/png", "\x89PNG"},
	}
	for name, tt := range tests {
		f, err := os.Open(filepath.Join("..", "..", "testdata", "malformed", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		a, r, err := ExtractPart(f, tt.part)
		if err != nil {
			t.Errorf("%s: ExtractPart(%s, %q) = %v", name, tt.file, tt.part, err)
			f.Close()
			continue
		}
		data, err := io.ReadAll(r)
		f.Close()
		if err != nil {
			t.Errorf("%s: reading part: %v", name, err)
		}
		if a.Part != tt.part || a.Name != tt.name || a.Type != tt.typ || !bytes.HasPrefix(data, []byte(tt.content)) {
			t.Errorf("%s: ExtractPart(%s, %q) = %q %q %q, %q; want %q %q, %q…", name, tt.file, tt.part, a.Part, a.Name, a.Type, data, tt.name, tt.typ, tt.content)
		}
	}
	for _, part := range []string{"", "0", "3", "1.9", "2.1", "abc", "1..2", "01", "1.", "-1"} {
		f, _ := os.Open(filepath.Join("..", "..", "testdata", "malformed", "missing-closing-boundary.eml"))
		if _, _, err := ExtractPart(f, part); !errors.Is(err, mailproxy.ErrNotFound) {
			t.Errorf("ExtractPart(missing-closing-boundary.eml, %q) = %v, want ErrNotFound", part, err)
		}
		f.Close()
	}
	// A multipart is not a downloadable part.
	f, _ := os.Open(filepath.Join("..", "..", "testdata", "malformed", "nested-4-levels.eml"))
	defer f.Close()
	if _, _, err := ExtractPart(f, "1.1"); !errors.Is(err, mailproxy.ErrNotFound) {
		t.Errorf("ExtractPart(nested-4-levels.eml, \"1.1\") = %v, want ErrNotFound", err)
	}
}

// TestExtractPartMatchesParseMessage checks that every attachment that
// ParseMessage lists is found by ExtractPart, with the same metadata and
// as many bytes as its Size.
func TestExtractPartMatchesParseMessage(t *testing.T) {
	for _, f := range malformedFiles(t) {
		data, _ := os.ReadFile(f)
		checkPartsExtract(t, filepath.Base(f), data)
	}
}

func checkPartsExtract(t *testing.T, name string, data []byte) {
	m := ParseMessage(bytes.NewReader(data), 0, mailproxy.ViewOptions{}, nil)
	for i, want := range m.Attachments {
		if i >= 20 {
			break // each ExtractPart reads the message again
		}
		got, r, err := ExtractPart(bytes.NewReader(data), want.Part)
		if err != nil {
			t.Errorf("%s: ExtractPart(%q) = %v", name, want.Part, err)
			continue
		}
		n, _ := io.Copy(io.Discard, r)
		got.Size = n
		if got != want {
			t.Errorf("%s: ExtractPart(%q) = %+v, ParseMessage listed %+v", name, want.Part, got, want)
		}
	}
}

// bigMessage streams a message with one base64 attachment of size bytes
// without holding it in memory.
type bigMessage struct {
	head, tail []byte
	left       int64 // base64 bytes of the attachment still to send
}

// bigLine is one line of base64 for zero bytes.
var bigLine = strings.Repeat("A", 76) + "\r\n"

func newBigMessage(size int64) *bigMessage {
	return &bigMessage{
		head: []byte("Subject: big\r\nContent-Type: multipart/mixed; boundary=BIG\r\n\r\n--BIG\r\n" +
			"Content-Type: text/plain\r\n\r\nsee attachment\r\n--BIG\r\nContent-Type: application/octet-stream; name=big.bin\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n"),
		tail: []byte("\r\n--BIG--\r\n"),
		left: size / 3 * 4,
	}
}

func (b *bigMessage) Read(p []byte) (int, error) {
	if len(b.head) > 0 {
		n := copy(p, b.head)
		b.head = b.head[n:]
		return n, nil
	}
	n := 0
	for len(p)-n >= len(bigLine) && b.left > 0 {
		k := copy(p[n:], bigLine[:min(int64(76), b.left)])
		n += k
		b.left -= int64(k)
		n += copy(p[n:], "\r\n")
	}
	if n > 0 {
		return n, nil
	}
	if len(b.tail) > 0 {
		n := copy(p, b.tail)
		b.tail = b.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

func TestExtractPartStreams(t *testing.T) {
	const size = 12 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a, r, err := ExtractPart(newBigMessage(size), "2")
	if err != nil {
		t.Fatalf("ExtractPart(big, \"2\") = %v", err)
	}
	n, err := io.Copy(io.Discard, r)
	runtime.ReadMemStats(&after)
	if err != nil || n != size || a.Name != "big.bin" {
		t.Errorf("ExtractPart(big, \"2\") = %q, %d bytes, %v; want big.bin, %d bytes", a.Name, n, err, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("ExtractPart of a %d MiB part allocated %d MiB", size>>20, alloc>>20)
	}
}

func FuzzParseMessage(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "malformed", "*.eml"))
	hostile, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "hostile", "*.eml"))
	for _, file := range append(files, hostile...) {
		if data, err := os.ReadFile(file); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n--a--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := ParseMessage(bytes.NewReader(data), 0, mailproxy.ViewOptions{}, func(c string) string { return "/c/" + c })
		if m == nil {
			t.Fatal("ParseMessage = nil")
		}
		if len(m.Attachments) > maxParts || len(m.Problems) > 20 {
			t.Fatalf("ParseMessage: %d attachments, %d problems", len(m.Attachments), len(m.Problems))
		}
		if n := len(m.Body.Text) + len(m.Body.HTML) + len(m.Subject); n > 16*len(data)+1024 {
			t.Fatalf("ParseMessage of %d bytes gave %d bytes of text", len(data), n)
		}
		if bad := activeContent(m.Body.HTML); bad != "" {
			t.Fatalf("ParseMessage body HTML has %s: %q", bad, m.Body.HTML)
		}
		// Nothing shown on one line may reorder itself on screen.
		shown := []string{m.Subject}
		for _, l := range [][]mailproxy.Address{m.From, m.To, m.Cc, m.ReplyTo} {
			for _, a := range l {
				shown = append(shown, a.Name, a.Email)
			}
		}
		for _, a := range m.Attachments {
			shown = append(shown, a.Name)
		}
		for _, s := range shown {
			if strings.IndexFunc(s, IsBidiControl) >= 0 {
				t.Fatalf("ParseMessage shows %q, with a bidirectional control", s)
			}
		}
		checkPartsExtract(t, "fuzz", data)
	})
}
