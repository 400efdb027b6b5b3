// Package imapmail is the IMAP backend of the mailproxy contract: a Pool of
// live connections (one per session at most, a per-user cap), the selected
// folder's state, listing, opening, searching and acting on messages, and
// telling the server the client's address (ID). It is built on go-imap v2,
// whose beta needs care: one FETCH or STORE in flight per connection
// (fetch.go), and a deadline means closing the connection.
package imapmail
