package mailproxy

import (
	"context"
	"net/netip"
)

// The browser's address, told to the mail server (when the operator
// turns it on) so that the server's failed-login penalties and its logs
// are per person, not per gateway: IMAP ID x-originating-ip (RFC 2971;
// Dovecot believes it from login_trusted_networks), POP3 XCLIENT
// (Dovecot) and SMTP XCLIENT (Postfix smtpd_authorized_xclient_hosts).

type clientKey struct{}

// WithClient returns ctx carrying the address of the browser a request
// comes from (port 0 when unknown, as behind a proxy).
func WithClient(ctx context.Context, addr netip.AddrPort) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientFrom is the browser's address carried by ctx, if any.
func ClientFrom(ctx context.Context) (netip.AddrPort, bool) {
	a, ok := ctx.Value(clientKey{}).(netip.AddrPort)
	return a, ok && a.Addr().IsValid()
}
