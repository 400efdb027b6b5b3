package discover

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// fromMX is step 4: a hosted domain whose MX points at a provider
// (mx.example.net for example.org) is looked up as the provider's domain
// (its registrable domain, by the public suffix list) in the table and
// through autoconfig.
func (f *Finder) fromMX(ctx context.Context, domain string, _, _ bool) found {
	mxs, err := f.o.Resolver.LookupMX(ctx, domain)
	if err != nil || len(mxs) == 0 {
		return found{}
	}
	best := mxs[0]
	for _, m := range mxs[1:] {
		if m.Pref < best.Pref {
			best = m
		}
	}
	host, ok := normalDomain(best.Host)
	if !ok {
		return found{}
	}
	base, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil || base == domain {
		return found{} // the domain's own servers: steps 3, 5 and 6
	}
	if r, ok := f.o.Table[base]; ok {
		return r
	}
	return f.autoconfig(ctx, base)
}

// srvServices are the RFC 6186 services, implicit TLS first (RFC 8314
// §5.1 prefers it).
var srvServices = []struct {
	service, proto string
	sec            mailproxy.Security
}{
	{"imaps", "imap", mailproxy.SecurityTLS},
	{"imap", "imap", mailproxy.SecurityStartTLS},
	{"pop3s", "pop3", mailproxy.SecurityTLS},
	{"pop3", "pop3", mailproxy.SecurityStartTLS},
	{"submissions", "smtp", mailproxy.SecurityTLS},
	{"submission", "smtp", mailproxy.SecurityStartTLS},
}

// fromSRV is step 5: the domain's SRV records (RFC 6186 §3), asked at
// once. A target "." means the service is not offered (§3.4). The
// targets must be under the domain or match the allowlist.
func (f *Finder) fromSRV(ctx context.Context, domain string, needMail, needSMTP bool) found {
	ups := make([]mailproxy.Upstream, len(srvServices))
	var wg sync.WaitGroup
	for i, s := range srvServices {
		if s.proto == "smtp" && !needSMTP || s.proto != "smtp" && !needMail {
			continue
		}
		wg.Go(func() {
			_, recs, err := f.o.Resolver.LookupSRV(ctx, s.service, "tcp", domain)
			if err != nil {
				return
			}
			// LookupSRV sorts by priority and weight (RFC 2782).
			for _, r := range recs {
				target := strings.TrimSuffix(r.Target, ".")
				if target == "" {
					return
				}
				up := mailproxy.Upstream{Protocol: s.proto, Security: s.sec, Host: target, Port: strconv.Itoa(int(r.Port))}
				if up, ok := f.accept(up, domain); ok {
					ups[i] = up
					return
				}
			}
		})
	}
	wg.Wait()
	var out found
	for _, up := range ups {
		if up.Host != "" {
			out.set(up)
		}
	}
	return out
}
