package mailproxy

import "strings"

// UserKey is a sign-in name as mail servers compare names: trimmed and
// lower-cased (Dovecot's default auth_username_format %Lu; most servers
// treat "ALICE" and "alice" as one account). Whatever counts per user —
// the connection caps, the sign-in limiter — keys on it, so spelling a
// name differently does not buy another allowance. The name sent to the
// server is never changed.
func UserKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
