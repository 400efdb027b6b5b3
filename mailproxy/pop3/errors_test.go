package pop3

import (
	"errors"
	"testing"
)

var sentinels = map[string]error{
	"ErrAuth":       ErrAuth,
	"ErrInUse":      ErrInUse,
	"ErrLoginDelay": ErrLoginDelay,
	"ErrSysTemp":    ErrSysTemp,
	"ErrSysPerm":    ErrSysPerm,
}

// checkKind checks that err matches want (nil: none of the sentinels) and
// no other sentinel.
func checkKind(t *testing.T, what string, err, want error) {
	t.Helper()
	for name, s := range sentinels {
		if got := errors.Is(err, s); got != (s == want) {
			t.Errorf("errors.Is(%s, %s) = %v, want %v", what, name, got, !got)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	tests := map[string]struct {
		cmd, text string
		want      error
	}{
		// RFC 3206 and RFC 2449 codes, on any command.
		"in-use":             {"PASS", "[IN-USE] Mailbox is locked by another POP3 session.", ErrInUse},
		"in-use with detail": {"PASS", "[IN-USE/SHARED] in use", ErrInUse},
		"login-delay":        {"PASS", "[LOGIN-DELAY] wait 15 minutes", ErrLoginDelay},
		"sys/temp":           {"PASS", "[SYS/TEMP] Failed to create POP3 session lock.", ErrSysTemp},
		"sys/perm":           {"RETR", "[SYS/PERM] message corrupt", ErrSysPerm},
		"sys/temp detail":    {"RETR", "[SYS/TEMP/DISK] full", ErrSysTemp},
		"sys unknown detail": {"PASS", "[SYS/OTHER] eh", nil},
		"auth":               {"AUTH", "[AUTH] Authentication failed.", ErrAuth},
		"auth lower case":    {"PASS", "[auth] no", ErrAuth},
		"auth on CAPA":       {"CAPA", "[AUTH] weird", ErrAuth},
		// Dovecot: lock failure during login is SYS/TEMP, even though the
		// text mentions a lock; the code wins.
		"dovecot lock create": {"PASS", "[SYS/TEMP] Failed to create POP3 session lock.", ErrSysTemp},
		// Codeless replies to authentication commands.
		"wrong password":        {"PASS", "invalid password", ErrAuth},
		"no such user":          {"USER", "sorry, no mailbox for frated here", ErrAuth},
		"apop failed":           {"APOP", "permission denied", ErrAuth},
		"empty text":            {"PASS", "", ErrAuth},
		"rfc1939 unable lock":   {"PASS", "unable to lock maildrop", ErrInUse},
		"rfc1939 already":       {"PASS", "maildrop already locked", ErrInUse},
		"busy":                  {"PASS", "Mailbox busy, try later", ErrInUse},
		"in use":                {"APOP", "Your account is in use, try later.", ErrInUse},
		"in-use no brackets":    {"AUTH", "mailbox in-use", ErrInUse},
		"blocked is not locked": {"PASS", "Your account is blocked", ErrAuth},
		"unknown code":          {"PASS", "[XYZZY] nope", ErrAuth},
		"unknown code + lock":   {"PASS", "[XYZZY] mailbox locked", ErrInUse},
		// Codeless replies to other commands match nothing.
		"no such message": {"RETR", "no such message", nil},
		"lock on RETR":    {"RETR", "message locked", nil},
		"not a code":      {"PASS", "[unterminated", ErrAuth},
		// Not codes, but the words still say "in use".
		"bad code syntax":   {"PASS", "[IN USE] x", ErrInUse},
		"empty code level":  {"PASS", "[IN-USE/] x", ErrInUse},
		"bad code, no lock": {"PASS", "[SYS TEMP] x", ErrAuth},
		"greeting":          {"", "[SYS/TEMP] busy", ErrSysTemp},
		"greeting no code":  {"", "go away", nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := error(parseError(tt.cmd, tt.text))
			checkKind(t, name, err, tt.want)
		})
	}
}

func TestParseError(t *testing.T) {
	tests := map[string]Error{
		"[IN-USE] locked":  {Cmd: "PASS", Code: "IN-USE", Text: "locked"},
		"[SYS/TEMP]":       {Cmd: "PASS", Code: "SYS/TEMP"},
		"[SYS/TEMP]   x y": {Cmd: "PASS", Code: "SYS/TEMP", Text: "x y"},
		"no code":          {Cmd: "PASS", Text: "no code"},
		"[bad code] x":     {Cmd: "PASS", Text: "[bad code] x"},
		"[] x":             {Cmd: "PASS", Text: "[] x"},
		"[/] x":            {Cmd: "PASS", Text: "[/] x"},
	}
	for in, want := range tests {
		if got := parseError("PASS", in); *got != want {
			t.Errorf("parseError(%q) = %#v, want %#v", in, *got, want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := map[string]*Error{
		"pop3: PASS: -ERR [AUTH] Authentication failed.": {Cmd: "PASS", Code: "AUTH", Text: "Authentication failed."},
		"pop3: RETR: -ERR no such message":               {Cmd: "RETR", Text: "no such message"},
		"pop3: NOOP: -ERR":                               {Cmd: "NOOP"},
		"pop3: greeting: -ERR [SYS/TEMP]":                {Code: "SYS/TEMP"},
	}
	for want, e := range tests {
		if got := e.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
}

// Every RFC 3206 / RFC 2449 code, sent to PASS by a scripted server.
func TestLoginResponseCodes(t *testing.T) {
	tests := map[string]error{
		"-ERR [IN-USE] Mailbox is locked by another POP3 session.": ErrInUse,
		"-ERR [LOGIN-DELAY] minimum time between logins is 15m":    ErrLoginDelay,
		"-ERR [SYS/TEMP] Temporary authentication failure.":        ErrSysTemp,
		"-ERR [SYS/PERM] Your account is disabled.":                ErrSysPerm,
		"-ERR [AUTH] Authentication failed.":                       ErrAuth,
		"-ERR invalid password":                                    ErrAuth,
		"-ERR maildrop already locked":                             ErrInUse,
	}
	for reply, want := range tests {
		t.Run(reply, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.readline("CAPA")
				s.writeline("-ERR unknown command")
				s.readline("USER alice")
				s.writeline("+OK")
				s.readline("PASS secret")
				s.writeline(reply)
				s.readline("QUIT")
				s.writeline("+OK bye")
			})
			err := c.Login("alice", "secret")
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("Login() = %v, want an *Error", err)
			}
			checkKind(t, "Login()", err, want)
			// A refusal leaves the connection usable.
			if err := c.Quit(); err != nil {
				t.Errorf("Quit() = %v", err)
			}
		})
	}
}
