// Package web is thumbmail's HTTP plumbing, knowing nothing of mail:
// middleware (trusted proxies and base path, logging, recovery, security
// headers, cross-origin protection), the session cookie and its stores
// (memory, Redis), and the helpers that render pages, redirect and turn
// errors into pages.
package web
