package message

import "strings"

// Bidirectional-text controls in what we show as one line of text: a
// subject, a sender's name, an attachment's name. "invoice\u202Efdp.exe"
// displays as "invoiceexe.pdf": a right-to-left override makes a program
// look like a document. Such lines lose every explicit direction control
// (right-to-left text keeps its letters' own direction, which needs none).

// IsBidiControl reports the Unicode explicit directional formatting
// characters (UAX #9 §2): the embeddings and overrides U+202A–U+202E, the
// isolates U+2066–U+2069, and the implicit marks LRM, RLM (U+200E, U+200F)
// and ALM (U+061C).
func IsBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// stripBidi removes the bidirectional controls from s.
func stripBidi(s string) string {
	if strings.IndexFunc(s, IsBidiControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if IsBidiControl(r) {
			return -1
		}
		return r
	}, s)
}
