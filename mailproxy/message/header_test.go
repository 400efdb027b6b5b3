package message

import "testing"

// Found by the realistic-mail sweep: an encoded-word whose B text is not
// base64 stays as written (it became replacement characters), and a
// damaged RFC 2231 extended parameter loses to the plain one beside it
// (POP3 showed a mangled file name).
func TestDamagedEncodings(t *testing.T) {
	for in, want := range map[string]string{
		"=?utf-8?B?!!!notbase64***?= x":  "=?utf-8?B?!!!notbase64***?= x",
		"=?utf-8?B?Y2Fmw6k=?=":           "café",
		"=?utf-8?B?Y2Fm w6k=?= (blanks)": "café (blanks)",
	} {
		if got := DecodeHeaderText(in); got != want {
			t.Errorf("DecodeHeaderText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`attachment; filename*=utf-8''%ZZbad%E2%82.bin; filename="fallback.bin"`: "fallback.bin",
		`attachment; filename*=utf-8''%E2%82%AC.bin; filename="fallback.bin"`:    "€.bin",
		`attachment; filename*=iso-8859-1''Gr%FC%DFe.txt`:                        "Grüße.txt",
		`attachment; filename*=utf-8''50%.bin`:                                   "50%.bin",
	} {
		if got := ParseMediaHeader(in).Params["filename"]; got != want {
			t.Errorf("filename of %q = %q, want %q", in, got, want)
		}
	}
}
