package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/go-chi/chi/v5/middleware"
)

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes or
// single addresses ("10.0.0.0/8, 127.0.0.1, ::1") as given to
// -trusted-proxies. An empty list trusts no one.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", s)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %v", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// forwardedHeaders are believed only from trusted proxies and removed from
// requests of any other peer, so no code further in can be fooled by them.
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "Forwarded"}

// requestInfo is what Proxy learnt about a request's client.
type requestInfo struct {
	clientIP string
	https    bool
	prefix   string // external base path: forwarded prefix + our own base path
}

type infoKey struct{}

func info(r *http.Request) *requestInfo {
	i, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return i
}

// Proxy is the outermost middleware. It works out who the client is, over
// which scheme and host it reached us, and under which path prefix, and
// records it for ClientIP, IsHTTPS and Prefix.
//
// Only when the TCP peer is within trusted are forwarded headers believed:
//   - the client IP is the rightmost untrusted hop of X-Forwarded-For
//     (chi's ClientIPFromXFF) or, when there is none, of RFC 7239
//     Forwarded "for=" (§5.2);
//   - the scheme comes from X-Forwarded-Proto, else Forwarded "proto="
//     (§5.4): it decides the cookie's Secure flag and HSTS;
//   - the host comes from X-Forwarded-Host, else Forwarded "host=" (§5.3),
//     and replaces r.Host, so cross-origin protection (which compares
//     Origin with r.Host) expects the host the browser used;
//   - X-Forwarded-Prefix (a proxy that strips a path prefix, "/mail")
//     is put in front of basePath in every link, redirect and cookie path.
//
// For list-valued X-Forwarded-Proto/Host/Prefix the rightmost value (set
// by the proxy that talked to us) is used. From any other peer these
// headers are deleted and nothing changes. basePath is "" or "/mail".
func Proxy(basePath string, trusted []netip.Prefix) func(http.Handler) http.Handler {
	var cidrs []string
	for _, p := range trusted {
		cidrs = append(cidrs, p.String())
	}
	return func(next http.Handler) http.Handler {
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := &requestInfo{https: r.TLS != nil, prefix: basePath}
			peer, ok := parseAddr(r.RemoteAddr)
			ri.clientIP = peerHost(r.RemoteAddr)
			if ok && inPrefixes(peer, trusted) {
				ri.believe(r, trusted, basePath)
			} else {
				for _, h := range forwardedHeaders {
					r.Header.Del(h)
				}
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
		})
		if len(cidrs) == 0 {
			return inner
		}
		return middleware.ClientIPFromXFF(cidrs...)(inner)
	}
}

// believe applies the forwarded headers of a trusted peer.
func (ri *requestInfo) believe(r *http.Request, trusted []netip.Prefix, basePath string) {
	var fwd map[string]string
	if els := parseForwarded(r.Header.Values("Forwarded")); len(els) > 0 {
		fwd = clientElement(els, trusted)
	}
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		if ip := middleware.GetClientIP(r.Context()); ip != "" {
			ri.clientIP = ip
		}
	} else if fwd != nil {
		if a, ok := forwardedNode(fwd["for"]); ok {
			ri.clientIP = a.String()
		}
	}
	proto := lastValue(r.Header.Values("X-Forwarded-Proto"))
	if proto == "" && fwd != nil {
		proto = fwd["proto"]
	}
	switch strings.ToLower(proto) {
	case "https":
		ri.https = true
	case "http":
		ri.https = false
	}
	host := lastValue(r.Header.Values("X-Forwarded-Host"))
	if host == "" && fwd != nil {
		host = fwd["host"]
	}
	if validHost(host) {
		r.Host = host
	}
	if p, ok := cleanPrefix(lastValue(r.Header.Values("X-Forwarded-Prefix"))); ok {
		ri.prefix = p + basePath
	}
}

// ClientIP is the client's address: the TCP peer, or what a trusted proxy
// said (see Proxy).
func ClientIP(r *http.Request) string {
	if ri := info(r); ri != nil {
		return ri.clientIP
	}
	return peerHost(r.RemoteAddr)
}

// IsHTTPS tells whether the client reached us over HTTPS, directly or
// through a trusted proxy (see Proxy).
func IsHTTPS(r *http.Request) bool {
	if ri := info(r); ri != nil {
		return ri.https
	}
	return r.TLS != nil
}

// Prefix is the path every URL of this request's pages starts with: ""
// or e.g. "/mail" (the base path, after a trusted X-Forwarded-Prefix).
// Without the Proxy middleware it is "".
func Prefix(r *http.Request) string {
	if ri := info(r); ri != nil {
		return ri.prefix
	}
	return ""
}

// CleanBasePath checks a -base-path value: "" or "/" for none, else a
// path like "/mail" or "/apps/mail" (a trailing "/" is dropped).
func CleanBasePath(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	c, ok := cleanPrefix(p)
	if !ok || c == "" {
		return "", fmt.Errorf("base path %q: want a path like /mail (letters, digits, '.', '_', '-', '~')", p)
	}
	return c, nil
}

// cleanPrefix validates a path prefix: segments of unreserved characters
// (RFC 3986 §2.3) only, no "." or "..", trailing "/" dropped.
func cleanPrefix(p string) (string, bool) {
	if p == "" || p[0] != '/' || len(p) > 200 {
		return "", false
	}
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", true
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '~') {
				return "", false
			}
		}
	}
	return p, true
}

// validHost accepts host[:port] names and bracketed IPv6 literals.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	return true
}

// lastValue is the rightmost comma-separated value of a header.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

func peerHost(remoteAddr string) string {
	if a, ok := parseAddr(remoteAddr); ok {
		return a.String()
	}
	return remoteAddr
}

// parseAddr parses "ip:port" or a bare ip, folding v4-mapped IPv6.
func parseAddr(s string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseForwarded splits RFC 7239 Forwarded header values (§4) into
// elements of lower-cased parameter names and unquoted values. Several
// header lines form one list. A malformed header yields nil: nothing from
// it is believed.
func parseForwarded(values []string) []map[string]string {
	var els []map[string]string
	for _, v := range values {
		el := map[string]string{}
		for i := 0; i < len(v); {
			for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
				i++
			}
			if i >= len(v) {
				break
			}
			eq := strings.IndexByte(v[i:], '=')
			if eq <= 0 {
				return nil
			}
			name := strings.ToLower(strings.TrimSpace(v[i : i+eq]))
			i += eq + 1
			var val string
			if i < len(v) && v[i] == '"' {
				var b strings.Builder
				i++
				for i < len(v) && v[i] != '"' {
					if v[i] == '\\' && i+1 < len(v) {
						i++
					}
					b.WriteByte(v[i])
					i++
				}
				if i >= len(v) {
					return nil // unterminated quoted-string
				}
				i++
				val = b.String()
			} else {
				j := i
				for j < len(v) && v[j] != ';' && v[j] != ',' {
					j++
				}
				val = strings.TrimSpace(v[i:j])
				i = j
			}
			el[name] = val
			for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
				i++
			}
			if i < len(v) && v[i] == ';' {
				i++
			} else if i < len(v) && v[i] == ',' {
				els = append(els, el)
				el = map[string]string{}
				i++
			} else if i < len(v) {
				return nil
			}
		}
		if len(el) > 0 {
			els = append(els, el)
		}
	}
	return els
}

// clientElement walks Forwarded elements right to left, skipping those
// whose "for=" is a trusted proxy: the first other one describes the
// request as the client made it (RFC 7239 §5.2, §8.1).
func clientElement(els []map[string]string, trusted []netip.Prefix) map[string]string {
	for i := len(els) - 1; i >= 0; i-- {
		a, ok := forwardedNode(els[i]["for"])
		if !ok || !inPrefixes(a, trusted) || i == 0 {
			return els[i]
		}
	}
	return nil
}

// forwardedNode parses a "for=" node (RFC 7239 §6): an IPv4 address, a
// bracketed IPv6 address, either with an optional port. "unknown" and
// obfuscated identifiers are not addresses.
func forwardedNode(n string) (netip.Addr, bool) {
	if strings.HasPrefix(n, "[") {
		end := strings.IndexByte(n, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		n = n[1:end]
	} else if i := strings.IndexByte(n, ':'); i >= 0 {
		n = n[:i]
	}
	a, err := netip.ParseAddr(n)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
