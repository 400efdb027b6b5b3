package mailproxy

import "testing"

func TestParseUpstream(t *testing.T) {
	tests := map[string]struct {
		want    string
		sec     Security
		wantErr bool
	}{
		"imaps://mail.example.org":         {want: "imaps://mail.example.org:993", sec: SecurityTLS},
		"imap://mail.example.org":          {want: "imap://mail.example.org:143", sec: SecurityStartTLS},
		"imap+insecure://127.0.0.1:1143":   {want: "imap+insecure://127.0.0.1:1143", sec: SecurityNone},
		"IMAPS://Mail.Example.org:10993":   {want: "imaps://Mail.Example.org:10993", sec: SecurityTLS},
		"imaps://[::1]":                    {want: "imaps://[::1]:993", sec: SecurityTLS},
		"pop3s://mail.example.org":         {wantErr: true}, // not an IMAP URL
		"http://mail.example.org":          {wantErr: true},
		"imaps://":                         {wantErr: true},
		"imaps://user:pw@mail.example.org": {wantErr: true},
		"imaps://mail.example.org/INBOX":   {wantErr: true},
		"mail.example.org":                 {wantErr: true},
		"imaps://mail.example.org?x=1":     {wantErr: true},
	}
	for in, tc := range tests {
		u, err := ParseUpstream(in, "imap")
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseUpstream(%q) = %v, want an error", in, u)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseUpstream(%q) = %v", in, err)
			continue
		}
		if u.String() != tc.want || u.Security != tc.sec {
			t.Errorf("ParseUpstream(%q) = %s (security %d), want %s (%d)", in, u, u.Security, tc.want, tc.sec)
		}
	}
}

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
