// Package message reads mail for thumbmail's pages: header fields, RFC 2047
// encoded words, address lists, dates, MIME parameters (RFC 2231), charsets,
// transfer encodings, the MIME part walker, parsing a message into the
// contract's view types, plain text (flowed text, quotes, links) and HTML
// sanitizing. It is tolerant by design: real mail is often malformed, and
// whatever can be shown is shown; nothing here returns an error for bad
// input where a readable result exists.
//
// It speaks no protocol: the backends hand it bytes.
package message
