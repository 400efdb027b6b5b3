package imapmail

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestParseMsgID(t *testing.T) {
	tests := map[string]bool{
		"1700000000-42": true,
		"1-1":           true,
		"0-1":           true,
		"1-0":           false,
		"-1":            false,
		"1-":            false,
		"abc-1":         false,
		"1-99999999999": false,
		"1-2-3":         false,
		"":              false,
	}
	for in, ok := range tests {
		v, u, err := parseMsgID(in)
		if (err == nil) != ok {
			t.Errorf("parseMsgID(%q) = %d, %d, %v; want ok=%v", in, v, u, err, ok)
		}
		if err == nil && msgID(v, u) != in {
			t.Errorf("msgID(parseMsgID(%q)) = %q", in, msgID(v, u))
		}
	}
}

func TestSectionPath(t *testing.T) {
	tests := map[string]string{"1": "1", "1.2": "1.2", "2.10.3": "2.10.3", "0": "", "1..2": "", "a": "", "": "", "1.2.": "", "99999999": ""}
	for in, want := range tests {
		got := sectionString(sectionPath(in))
		if sectionPath(in) == nil {
			got = ""
		}
		if got != want {
			t.Errorf("sectionPath(%q) round trip = %q, want %q", in, got, want)
		}
	}
}

// TestIMAPFilenameBidi: names read from an IMAP BODYSTRUCTURE, in every
// encoding, lose the controls too.
func TestIMAPFilenameBidi(t *testing.T) {
	tests := []struct {
		disp, params map[string]string
		want         string
	}{
		{map[string]string{"filename*": "UTF-8''invoice%E2%80%AEfdp.exe"}, nil, "invoicefdp.exe"},
		{map[string]string{"filename*0*": "UTF-8''invoice%E2%80", "filename*1*": "%AEfdp.exe"}, nil, "invoicefdp.exe"},
		{map[string]string{"filename": "=?utf-8?b?aW52b2ljZeKArmZkcC5leGU=?="}, nil, "invoicefdp.exe"},
		{map[string]string{"filename": "raw\u2067gpj.exe\u2069"}, nil, "rawgpj.exe"},
		{nil, map[string]string{"name": "dir/\u200Fname\u061C.txt"}, "name.txt"},
	}
	for _, tt := range tests {
		b := &imap.BodyStructureSinglePart{Type: "application", Subtype: "octet-stream", Params: tt.params,
			Extended: &imap.BodyStructureSinglePartExt{Disposition: &imap.BodyStructureDisposition{Value: "attachment", Params: tt.disp}}}
		if got := partFilename(b); got != tt.want {
			t.Errorf("partFilename(%v %v) = %q, want %q", tt.disp, tt.params, got, tt.want)
		}
	}
}
