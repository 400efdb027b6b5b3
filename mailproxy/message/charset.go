package message

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// Character sets as real mail labels them: misspelt, vendor-specific and
// obsolete names. Everything here is tried before the WHATWG and IANA
// indexes, so it only needs the names those indexes do not know or get
// wrong for mail.
var charsetAliases = map[string]string{
	"utf8":              "utf-8",
	"utf-8y":            "utf-8",
	"x-utf_8j":          "utf-8",
	"unicode-1-1-utf-8": "utf-8",
	"latin1":            "windows-1252",
	"latin-1":           "windows-1252",
	"latin_1":           "windows-1252",
	"iso8859-1":         "windows-1252",
	"iso_8859_1":        "windows-1252",
	"8859-1":            "windows-1252",
	"ansi":              "windows-1252",
	"ansi_x3.110-1983":  "windows-1252",
	"latin2":            "iso-8859-2",
	"latin-2":           "iso-8859-2",
	"cp1252":            "windows-1252",
	"win-1252":          "windows-1252",
	"ks_c_5601-1987":    "euc-kr",
	"ks_c_5601":         "euc-kr",
	"ksc5601":           "euc-kr",
	"ksc_5601":          "euc-kr",
	"cp949":             "euc-kr",
	"uhc":               "euc-kr",
	"sjis":              "shift_jis",
	"x-sjis":            "shift_jis",
	"shift-jis":         "shift_jis",
	"cp932":             "shift_jis",
	"ms932":             "shift_jis",
	"big5-hkscs":        "big5",
	"cp950":             "big5",
	"koi8r":             "koi8-r",
	"koi8u":             "koi8-u",
	"tis-620":           "windows-874",
	"tis620":            "windows-874",
	"x-mac-roman":       "macintosh",
	"mac":               "macintosh",
	"macroman":          "macintosh",
}

// Labels decoded as GB18030, the superset of GB2312 and GBK: mail labelled
// gb2312 routinely holds GBK or GB18030 characters.
var gb18030Labels = map[string]bool{
	"gb2312": true, "gbk": true, "x-gbk": true, "cp936": true, "ms936": true,
	"euc-cn": true, "x-euc-cn": true, "csgb2312": true, "gb_2312-80": true,
	"chinese": true, "gb18030": true, "windows-936": true,
}

// Labels of plain ASCII. Mail labelled ASCII very often holds UTF-8 or
// Latin-1, so it is decoded like an unlabelled text.
var asciiLabels = map[string]bool{
	"us-ascii": true, "ascii": true, "us_ascii": true, "ansi_x3.4-1968": true,
	"iso646-us": true, "iso-ir-6": true, "us": true, "cp367": true,
	"ibm367": true, "csascii": true, "646": true, "x-unknown": true,
	"unknown-8bit": true, "x-user-defined": true, "default": true,
	"unknown": true, "none": true,
}

var (
	isoCharsetRe = regexp.MustCompile(`^iso[-_ ]?8859[-_ ]?(\d{1,2})(?:[-:].*)?$`)
	winCharsetRe = regexp.MustCompile(`^(?:windows|win|cp|x-cp|ms)[-_ ]?(125[0-8]|874)$`)
)

// normalizeCharset lower-cases a charset label and strips what mailers wrap
// around it: quotes, spaces and an RFC 2231 language suffix.
func normalizeCharset(label string) string {
	s := strings.ToLower(strings.TrimSpace(label))
	s = strings.Trim(s, `"' `)
	if i := strings.IndexByte(s, '*'); i >= 0 { // RFC 2231 §5: charset*lang
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// lookupCharset finds the decoder for a charset label. It returns nil for
// labels treated as "guess" (empty, ASCII, unknown-8bit) and for unknown
// labels; known tells those apart.
func lookupCharset(label string) (enc encoding.Encoding, known bool) {
	s := normalizeCharset(label)
	if s == "" || asciiLabels[s] {
		return nil, true
	}
	if gb18030Labels[s] {
		return simplifiedchinese.GB18030, true
	}
	if a, ok := charsetAliases[s]; ok {
		s = a
	}
	if m := isoCharsetRe.FindStringSubmatch(s); m != nil {
		s = "iso-8859-" + m[1]
	} else if m := winCharsetRe.FindStringSubmatch(s); m != nil {
		s = "windows-" + m[1]
	}
	switch s {
	case "utf-8":
		return unicode.UTF8, true
	case "utf-7", "unicode-1-1-utf-7", "csunicode11utf7", "x-utf-7":
		return utf7{}, true
	}
	// The WHATWG index maps a few dangerous labels (iso-2022-kr,
	// hz-gb-2312) to the "replacement" encoding, which turns a whole text
	// into one U+FFFD: better to guess.
	if e, err := htmlindex.Get(s); err == nil && e != nil && e != encoding.Replacement {
		return e, true
	}
	for _, idx := range []*ianaindex.Index{ianaindex.MIME, ianaindex.IANA} {
		if e, err := idx.Encoding(s); err == nil && e != nil && e != encoding.Replacement {
			return e, true
		}
	}
	if strings.HasPrefix(s, "x-") {
		return lookupCharsetNoPrefix(s[2:])
	}
	return nil, false
}

func lookupCharsetNoPrefix(s string) (encoding.Encoding, bool) {
	if s == "" || strings.HasPrefix(s, "x-") {
		return nil, false
	}
	return lookupCharset(s)
}

// decodeCharset converts b, in the charset named by label, to valid UTF-8.
// It never fails: unknown charsets (known == false) and unlabelled text
// keep valid UTF-8 sequences and read every other byte as Windows-1252;
// invalid sequences in a known charset become U+FFFD.
func decodeCharset(b []byte, label string) (s string, known bool) {
	enc, known := lookupCharset(label)
	if enc == nil {
		return bytesToUTF8(b), known
	}
	if enc == unicode.UTF8 {
		return strings.TrimPrefix(strings.ToValidUTF8(string(b), "\uFFFD"), "\uFEFF"), true
	}
	if _, ok := enc.(utf7); ok {
		return decodeUTF7(b), true
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return bytesToUTF8(b), true
	}
	// A byte order mark is not text.
	return strings.TrimPrefix(strings.ToValidUTF8(string(out), "\uFFFD"), "\uFEFF"), true
}

// cp1252High maps the bytes 0x80–0x9F of Windows-1252 to Unicode; the
// five bytes the code page leaves undefined map to the C1 control of the
// same value, as browsers do (WHATWG Encoding Standard).
var cp1252High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// cp1252Rune decodes one Windows-1252 byte.
func cp1252Rune(c byte) rune {
	if c >= 0x80 && c < 0xA0 {
		return cp1252High[c-0x80]
	}
	return rune(c)
}

// bytesToUTF8 keeps valid UTF-8 sequences and decodes every other byte as
// Windows-1252, so mixed or mislabelled text comes out readable.
func bytesToUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			sb.WriteRune(cp1252Rune(b[0]))
			b = b[1:]
			continue
		}
		sb.WriteRune(r)
		b = b[n:]
	}
	return sb.String()
}

// utf7 stands for UTF-7 (RFC 2152), which golang.org/x/text does not
// provide; decodeCharset decodes it with decodeUTF7. Its methods are never
// called.
type utf7 struct{ encoding.Encoding }

// decodeUTF7 decodes RFC 2152 UTF-7 tolerantly: a shift sequence "+…" runs
// to the first byte outside the base64 alphabet, "-" after it is absorbed,
// "+-" is a plus sign, and bits left over are dropped.
func decodeUTF7(b []byte) string {
	var sb strings.Builder
	var units []uint16
	flush := func() {
		for i := 0; i < len(units); i++ {
			u := rune(units[i])
			if u >= 0xD800 && u < 0xDC00 && i+1 < len(units) && units[i+1] >= 0xDC00 && units[i+1] < 0xE000 {
				u = 0x10000 + (u-0xD800)<<10 + rune(units[i+1]) - 0xDC00
				i++
			} else if u >= 0xD800 && u < 0xE000 {
				u = utf8.RuneError
			}
			sb.WriteRune(u)
		}
		units = units[:0]
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '+' {
			if c < 0x80 {
				sb.WriteByte(c)
			} else {
				sb.WriteRune(cp1252Rune(c))
			}
			continue
		}
		if i+1 < len(b) && b[i+1] == '-' {
			sb.WriteByte('+')
			i++
			continue
		}
		var acc uint32
		var bits uint
		j := i + 1
		for ; j < len(b); j++ {
			v := base64Value(b[j])
			if v < 0 || b[j] == '-' || b[j] == '_' {
				break
			}
			acc = acc<<6 | uint32(v)
			bits += 6
			if bits >= 16 {
				bits -= 16
				units = append(units, uint16(acc>>bits))
				acc &= 1<<bits - 1
			}
		}
		flush()
		if j < len(b) && b[j] == '-' {
			j++
		}
		i = j - 1
	}
	return sb.String()
}
