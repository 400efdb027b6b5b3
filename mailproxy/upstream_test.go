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
