package imaptest

import (
	"crypto/tls"
	"testing"

	"github.com/thumbmail/thumbmail/internal/testpki"
)

// SelfSigned makes a throw-away certificate for 127.0.0.1, ::1 and
// localhost, valid for a day, and returns a server configuration that
// presents it (for Options.TLS) and a client configuration that trusts it
// and nothing else: a private CA.
func SelfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	server, client, err := testpki.SelfSigned()
	if err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	return server, client
}
