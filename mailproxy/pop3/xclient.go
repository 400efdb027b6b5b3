package pop3

import (
	"net/netip"
	"strconv"
)

// OffersXClient reports whether the server would take XCLIENT: Dovecot
// says so with an [XCLIENT] code in its greeting (to trusted clients
// only); others may list XCLIENT in CAPA (when Capabilities was called).
func (c *Client) OffersXClient() bool {
	return c.xclient || (c.caps != nil && c.caps.Has("XCLIENT"))
}

// XClient tells the server whose session this is (Dovecot's XCLIENT,
// modelled on Postfix's): the address and port of the person behind a
// proxy or gateway, for the server's logs and its failed-login
// penalties. Only servers that trust this client accept it; call it
// before logging in, when OffersXClient says so. The cached
// capabilities are dropped: the server may offer others now.
func (c *Client) XClient(addr netip.AddrPort) error {
	args := []string{"ADDR=" + addr.Addr().Unmap().String()}
	if addr.Port() != 0 {
		args = append(args, "PORT="+strconv.Itoa(int(addr.Port())))
	}
	if _, err := c.cmd("XCLIENT", args...); err != nil {
		return err
	}
	c.caps = nil
	return nil
}
