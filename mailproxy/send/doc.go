// Package send writes mail and submits it: composing RFC 5322 messages
// (replies, forwards, drafts, attachments; MIME out with go-message) and
// SMTP submission (go-smtp, go-sasl) to the user's submission server,
// with STARTTLS or implicit TLS and, where trusted, XCLIENT.
package send
