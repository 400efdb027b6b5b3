// Package web is thumbmail's HTTP plumbing, knowing nothing of mail:
// middleware (logging, recovery, security headers, cross-origin
// protection), the session cookie and store, and the helpers that render
// pages, redirect and turn errors into pages.
package web
