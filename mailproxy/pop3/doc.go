// Package pop3 is a POP3 client: RFC 1939 (the base protocol), RFC 2449
// (CAPA and extended response codes), RFC 2595 (STLS), RFC 5034 (AUTH,
// with the PLAIN mechanism of RFC 4616) and RFC 3206 (the SYS and AUTH
// response codes). It uses the standard library only and knows nothing of
// the rest of thumbmail.
//
// # Sessions
//
// A Client is one POP3 session (RFC 1939 §3). It starts in the
// AUTHORIZATION state: [Dial], [DialTLS] or [NewClient] read the greeting,
// then [Client.StartTLS] (unless the connection is already TLS) and one of
// [Client.Login], [Client.AuthPlain] or [Client.APOP] enter the TRANSACTION
// state, in which the server has locked the maildrop. [Client.Quit] enters
// the UPDATE state, in which the server removes the messages marked with
// [Client.Dele], and ends the session. A session that ends any other way
// ([Client.Close], a network error, a timeout) removes nothing (RFC 1939
// §6).
//
// # Message numbers and UIDs
//
// Message numbers (1, 2, …) are valid for one session only: they are
// assigned when the maildrop is locked and another session may number the
// same messages differently (RFC 1939 §5). Only the unique-id returned by
// [Client.Uidl] is stable across sessions (RFC 1939 §7), so anything kept
// between sessions (a URL, a cache key, a "seen" set) must use the UID and
// map it back to a number with Uidl at the start of each session.
//
// # Streaming
//
// [Client.Retr] and [Client.Top] return an io.ReadCloser over the message,
// dot-unstuffed but otherwise as sent (CRLF line endings are kept), read
// straight from the connection: a message is never held in memory whole.
// Until that reader has returned io.EOF or been closed, every other method
// returns [ErrReaderOpen]; Close reads and discards the rest of the message.
// [Options.MaxMessageSize] optionally bounds a message's length.
// List-type responses (LIST, UIDL, CAPA) are parsed into slices, bounded by
// [Options.MaxResponseSize].
//
// # Errors and limits
//
// A "-ERR" reply is returned as an [*Error], which [errors.Is] matches
// against [ErrAuth], [ErrInUse], [ErrLoginDelay], [ErrSysTemp] and
// [ErrSysPerm]; the connection stays usable. So does a well-formed "+OK"
// whose text cannot be parsed (a STAT without numbers): that is an error
// wrapping [ErrProtocol]. But a network error, a timeout, a status line
// that is neither "+OK" nor "-ERR", a line longer than
// [Options.MaxLineLength], a multi-line reply larger than
// [Options.MaxResponseSize] or one cut short leaves the protocol out of
// step, so the Client closes the connection and every later call returns
// an error wrapping the first. Every command runs under [Options.Timeout];
// a server that stops talking produces an error, never a hang.
//
// A Client is not safe for concurrent use, except that [Client.Close] may be
// called from another goroutine to abort a command in progress.
//
// Not implemented: PIPELINING (commands are sent one at a time), SASL
// mechanisms other than PLAIN, the optional UTF8 and LANG commands
// (RFC 6856), and LAST (RFC 1460).
package pop3
