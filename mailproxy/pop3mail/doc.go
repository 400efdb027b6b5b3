// Package pop3mail is the POP3 backend of the mailproxy contract, over the
// in-house wire client mailproxy/pop3: short-lived connections per click
// (the maildrop lock is held only while needed), UIDL-based ids (hashed
// headers where UIDL is missing), header and view caches, and the opt-in
// collect-and-delete mode. POP3 has one folder and no flags, so Caps says
// so and the pages show no controls it cannot honour.
package pop3mail
