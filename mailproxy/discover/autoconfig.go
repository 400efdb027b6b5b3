package discover

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// maxAutoconfig bounds an autoconfig file (real ones are 1–3 KB).
const maxAutoconfig = 64 << 10

// clientConfig is Thunderbird's autoconfig format ("config-v1.1.xml",
// https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat).
type clientConfig struct {
	XMLName   xml.Name `xml:"clientConfig"`
	Providers []struct {
		Incoming []acServer `xml:"incomingServer"`
		Outgoing []acServer `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

type acServer struct {
	Type       string `xml:"type,attr"`
	Hostname   string `xml:"hostname"`
	Port       string `xml:"port"`
	SocketType string `xml:"socketType"`
	Username   string `xml:"username"`
}

// newHTTPClient is the autoconfig client: HTTPS only, every connection
// through the Guard (a mail port or HTTPS, public addresses), no proxy
// from the environment, no redirects, certificates verified against the
// site's name (autoconfig.<domain> or <domain>).
func (f *Finder) newHTTPClient() *http.Client {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.o.TLSConfig != nil {
		cfg = f.o.TLSConfig.Clone()
		cfg.ServerName = ""
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            f.o.Guard.DialContext,
			TLSClientConfig:        cfg,
			TLSHandshakeTimeout:    f.o.StepTimeout,
			ResponseHeaderTimeout:  f.o.StepTimeout,
			MaxResponseHeaderBytes: 16 << 10,
			DisableKeepAlives:      true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       f.o.StepTimeout,
	}
}

// autoconfig fetches the domain's autoconfig file (step 3):
// https://autoconfig.<domain>/mail/config-v1.1.xml, else
// https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml (both
// asked at once; the first wins when both answer). The servers it names
// must be under the domain or match the allowlist.
func (f *Finder) autoconfig(ctx context.Context, domain string) found {
	port := ""
	if f.o.Ports.HTTPS != "443" {
		port = ":" + f.o.Ports.HTTPS
	}
	urls := []string{
		"https://autoconfig." + domain + port + "/mail/config-v1.1.xml",
		"https://" + domain + port + "/.well-known/autoconfig/mail/config-v1.1.xml",
	}
	results := make([]found, len(urls))
	done := make(chan struct{}, len(urls))
	for i, u := range urls {
		go func() {
			defer func() { done <- struct{}{} }()
			cc, err := f.fetchConfig(ctx, u)
			if err != nil {
				f.o.Logger.Debug("autoconfig", "url", u, "err", err)
				return
			}
			results[i] = f.fromConfig(cc, domain)
		}()
	}
	for range urls {
		<-done
	}
	for _, r := range results {
		if r.hasMail() {
			return r
		}
	}
	return found{}
}

func (f *Finder) fetchConfig(ctx context.Context, url string) (*clientConfig, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAutoconfig+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxAutoconfig {
		return nil, errors.New("autoconfig file too large")
	}
	var cc clientConfig
	if err := xml.Unmarshal(body, &cc); err != nil {
		return nil, err
	}
	return &cc, nil
}

// fromConfig takes the first acceptable server of each kind, in the
// file's order (its preference).
func (f *Finder) fromConfig(cc *clientConfig, domain string) found {
	var out found
	for _, p := range cc.Providers {
		for _, s := range append(p.Incoming, p.Outgoing...) {
			up, ok := f.configServer(s, domain)
			if !ok {
				continue
			}
			// The user name: %EMAILADDRESS% (as typed) or
			// %EMAILLOCALPART%; the first entry of a kind decides.
			local := strings.Contains(s.Username, "%EMAILLOCALPART%")
			switch {
			case up.Protocol == "imap" && out.imap.Host == "":
				out.imapLocal = local
			case up.Protocol == "pop3" && out.pop3.Host == "":
				out.pop3Local = local
			}
			out.set(up)
		}
	}
	return out
}

// configServer reads one server entry: type imap, pop3 or smtp;
// socketType SSL (implicit TLS) or STARTTLS, never plain.
func (f *Finder) configServer(s acServer, domain string) (mailproxy.Upstream, bool) {
	up := mailproxy.Upstream{Protocol: strings.ToLower(strings.TrimSpace(s.Type))}
	if up.Protocol != "imap" && up.Protocol != "pop3" && up.Protocol != "smtp" {
		return up, false
	}
	switch strings.ToUpper(strings.TrimSpace(s.SocketType)) {
	case "SSL", "TLS":
		up.Security = mailproxy.SecurityTLS
	case "STARTTLS":
		up.Security = mailproxy.SecurityStartTLS
	default:
		return up, false
	}
	up.Host = strings.ReplaceAll(strings.TrimSpace(s.Hostname), "%EMAILDOMAIN%", domain)
	up.Port = strings.TrimSpace(s.Port)
	if n, err := strconv.Atoi(up.Port); err != nil || n < 1 || n > 65535 {
		return up, false
	}
	return f.accept(up, domain)
}
