package pop3test

import (
	"crypto/tls"

	"github.com/thumbmail/thumbmail/internal/testpki"
)

// SelfSigned makes a throw-away certificate for 127.0.0.1, ::1 and
// localhost, valid for a day, and returns a server configuration that
// presents it (for Options.TLS) and a client configuration that trusts it
// and nothing else.
func SelfSigned() (server, client *tls.Config, err error) { return testpki.SelfSigned() }
