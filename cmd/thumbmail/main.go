// Command thumbmail is a mobile-friendly webmail gateway: it serves small
// HTML pages for phone browsers and proxies every action to the user's
// own IMAP server.
//
// Every flag can also be set by an environment variable: THUMBMAIL_ and
// the flag name in upper case with '-' as '_' (-session-keys is
// THUMBMAIL_SESSION_KEYS). A flag on the command line wins.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/thumbmail/thumbmail/handlers"
	"github.com/thumbmail/thumbmail/internal/metrics"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/pop3test"
	"github.com/thumbmail/thumbmail/web"
)

// config is everything the flags and environment set.
type config struct {
	listen      string
	imap        string
	pop3        string
	caFile      string
	sessionKeys string
	sessionIdle time.Duration
	sessionMax  time.Duration
	pageSize    int
	demo        bool
	demoPOP3    bool
	logFormat   string
	logLevel    string
	healthcheck bool

	basePath       string
	trustedProxies string
	sessionStore   string
	metricsListen  string
	drainTimeout   time.Duration
	shutdownDelay  time.Duration

	smtp          string
	smtpSavesSent bool
	forwardClient bool
	maxUpload     int
	cannedReplies string
	signature     string
	mailDomain    string

	discover     bool
	allowDomains string
	domainTable  string
	userServers  bool
	allowPrivate bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
	}()
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "thumbmail:", err)
		os.Exit(1)
	}
}

// parseConfig reads flags, then the environment for every flag not given.
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("thumbmail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "HTTP listen `address`")
	fs.StringVar(&c.imap, "imap", "", "the IMAP server every user signs in to, as a `URL`: imaps://host[:993], imap://host[:143] (STARTTLS required) or imap+insecure://host[:143] (plain text, loopback tests only)")
	fs.StringVar(&c.pop3, "pop3", "", "instead of -imap, the POP3 server every user signs in to, as a `URL`: pop3s://host[:995] (TLS), pop3://host[:110] (STLS required) or pop3+insecure://host[:110] (plain text, loopback tests only)")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM `file` of extra CA certificates to trust for the mail server")
	fs.StringVar(&c.sessionKeys, "session-keys", "", "comma-separated cookie `secrets` of at least 32 characters each; the first signs new cookies, all are accepted (rotation). Without one a random key is made and sessions end at restart")
	fs.DurationVar(&c.sessionIdle, "session-idle", 30*time.Minute, "sign out after this long without a request")
	fs.DurationVar(&c.sessionMax, "session-max", 7*24*time.Hour, "sign out this long after signing in, whatever happens")
	fs.IntVar(&c.pageSize, "page-size", 50, "messages per list page")
	fs.BoolVar(&c.demo, "demo", false, "serve built-in sample mail from an embedded IMAP server (user demo, password demo)")
	fs.BoolVar(&c.demoPOP3, "demo-pop3", false, "like -demo, but serve the sample Inbox from an embedded POP3 server, to try thumbmail's POP3 pages (user demo, password demo)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&c.healthcheck, "healthcheck", false, "check that a thumbmail on -listen answers /healthz and exit 0 if so, 1 if not (for container health checks)")
	fs.StringVar(&c.basePath, "base-path", "", "serve everything under this `path` (e.g. /mail) when a reverse proxy passes the full path; see also X-Forwarded-Prefix and -trusted-proxies")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated `CIDRs` or addresses of reverse proxies whose X-Forwarded-For/-Proto/-Host/-Prefix and Forwarded headers are believed (e.g. 127.0.0.1,::1 or 10.0.0.0/8); nobody by default")
	fs.StringVar(&c.sessionStore, "session-store", "memory", "where sessions live: memory (one instance) or a Redis/Valkey `URL` shared by several instances: redis://[:password@]host:6379/0, rediss:// (TLS), valkey://")
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "serve Prometheus /metrics (and /healthz, /readyz) on this separate `address`, e.g. 127.0.0.1:9090; off by default")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 20*time.Second, "on SIGTERM, how long in-flight requests get to finish before their connections are closed")
	fs.DurationVar(&c.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long with /readyz answering 503 before closing the listener (lets a load balancer notice)")
	fs.StringVar(&c.smtp, "smtp", "", "the SMTP submission server replies are sent through, as a `URL`: smtps://host[:465] (TLS), smtp://host[:587] (STARTTLS required) or smtp+insecure://host[:587] (plain text, loopback tests only); users sign in to it with their mail login. Without it nothing can be sent")
	fs.BoolVar(&c.forwardClient, "forward-client-ip", false, "tell the mail servers the browser's address (IMAP ID x-originating-ip, POP3 and SMTP XCLIENT) so their failed-login penalties and logs are per person; they believe it only from trusted hosts (Dovecot login_trusted_networks, Postfix smtpd_authorized_xclient_hosts)")
	fs.BoolVar(&c.smtpSavesSent, "smtp-saves-sent", false, "the submission server files a copy of sent mail in Sent itself, so thumbmail does not APPEND one")
	fs.IntVar(&c.maxUpload, "max-upload", 25, "attachments of one message may total at most this many `MB`")
	fs.StringVar(&c.cannedReplies, "canned-replies", "Thanks, got it|Will reply later|Call me", "one-tap quick replies under every message, separated by |; empty for none")
	fs.StringVar(&c.signature, "signature", "", "signature `text` added below new messages and replies (\\n for a line break)")
	fs.BoolVar(&c.discover, "discover", false, "find each user's servers from their address (autoconfig, MX, SRV, the usual names), for the domains of -allow-domains; IMAP and POP3 accounts side by side. Used when no -imap/-pop3 is pinned")
	fs.StringVar(&c.allowDomains, "allow-domains", "", "comma-separated `patterns` of the domains -discover serves and of the server hosts it and -user-servers may use besides those under the user's domain: example.org, *.example.net, or * for any")
	fs.StringVar(&c.domainTable, "domain-table", "", "`file` of domains and their servers, one domain a line: example.org imaps://imap.example.org smtps://smtp.example.org (tried first; its domains are served without -allow-domains)")
	fs.BoolVar(&c.userServers, "user-servers", false, "let users name their own IMAP or POP3 server in the sign-in form's Advanced part (a host matching -allow-domains or under their address's allowed domain, a mail port, TLS or STARTTLS)")
	fs.BoolVar(&c.allowPrivate, "allow-private-upstreams", false, "let discovered and user-chosen servers be on loopback, private (RFC 1918), CGNAT and unique local addresses (tests, demos, gateways inside a private network); link-local, multicast and reserved addresses stay refused")
	fs.StringVar(&c.mailDomain, "mail-domain", "", "`domain` for the From address of users whose login is not an address (login@domain); default: the SMTP server's host")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: thumbmail [flags]\n\nthumbmail is a mobile-friendly webmail gateway. Every flag may also be set\nby an environment variable, THUMBMAIL_<NAME> (e.g. THUMBMAIL_SESSION_KEYS);\na flag given on the command line wins.\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(stderr, "  -%s %s\n    \t%s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintf(stderr, "\n    \tenvironment: %s\n", envName(f.Name))
		})
	}
	err := fs.Parse(args)
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s: %v", envName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if c.pageSize < 5 || c.pageSize > 500 {
		return nil, fmt.Errorf("-page-size must be between 5 and 500")
	}
	if c.maxUpload < 1 || c.maxUpload > 1024 {
		return nil, fmt.Errorf("-max-upload must be between 1 and 1024 (MB)")
	}
	if c.basePath, err = web.CleanBasePath(c.basePath); err != nil {
		return nil, fmt.Errorf("-base-path: %w", err)
	}
	if _, err := web.ParseTrustedProxies(c.trustedProxies); err != nil {
		return nil, fmt.Errorf("-trusted-proxies: %w", err)
	}
	if c.drainTimeout <= 0 || c.shutdownDelay < 0 {
		return nil, fmt.Errorf("-drain-timeout must be positive and -shutdown-delay not negative")
	}
	if c.sessionIdle <= 0 || c.sessionMax <= 0 {
		return nil, fmt.Errorf("-session-idle and -session-max must be positive")
	}
	return c, nil
}

// envName is the environment variable for a flag.
func envName(flagName string) string {
	return "THUMBMAIL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func newLogger(c *config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format must be text or json")
}

// run serves until ctx ends (SIGTERM in main), then drains. ready, when
// set, is told the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	c, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if c.healthcheck {
		return healthcheck(c.listen, c.basePath)
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	defer ln.Close()

	switch {
	case c.demo && c.demoPOP3:
		return errors.New("give -demo or -demo-pop3, not both")
	case c.demo:
		d, err := demo.Start(&demo.Options{})
		if err != nil {
			return fmt.Errorf("starting the demo mail server: %w", err)
		}
		defer d.Close()
		c.imap, c.pop3 = d.URL(), ""
		ds, err := d.StartSMTP()
		if err != nil {
			return fmt.Errorf("starting the demo SMTP server: %w", err)
		}
		defer ds.Close()
		c.smtp = ds.URL()
		c.mailDomain = "example.org"
		fmt.Fprintf(stderr, "\n  thumbmail demo: open http://%s%s/ and sign in as %q with password %q\n\n", ln.Addr(), c.basePath, d.Username(), d.Password())
	case c.demoPOP3:
		d, err := startDemoPOP3()
		if err != nil {
			return fmt.Errorf("starting the demo POP3 server: %w", err)
		}
		defer d.Close()
		c.imap, c.pop3 = "", d.URL()
		fmt.Fprintf(stderr, "\n  thumbmail demo (POP3): open http://%s%s/ and sign in as %q with password %q\n\n", ln.Addr(), c.basePath, demoUser, demoUser)
	}
	a, err := newApp(c, log)
	if err != nil {
		return err
	}
	defer a.Close()

	srv := newServer(a.handler, log)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "base_path", c.basePath, "upstream", a.upstream, "session_store", a.storeName)

	var msrv *http.Server
	if c.metricsListen != "" {
		mln, err := net.Listen("tcp", c.metricsListen)
		if err != nil {
			srv.Close()
			return fmt.Errorf("-metrics-listen: %w", err)
		}
		msrv = newServer(a.opsHandler(), log)
		go func() { errc <- msrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-errc:
		srv.Close()
		if msrv != nil {
			msrv.Close()
		}
		return err
	case <-ctx.Done():
	}
	return a.drain(srv, msrv, c, log)
}

// drain is the graceful shutdown: /readyz answers 503 at once; after
// -shutdown-delay (time for load balancers to notice) the listener
// closes, in-flight requests get -drain-timeout to finish, then every
// upstream connection is logged out.
func (a *app) drain(srv, msrv *http.Server, c *config, log *slog.Logger) error {
	a.draining.Store(true)
	log.Info("shutting down: draining", "delay", c.shutdownDelay, "timeout", c.drainTimeout)
	time.Sleep(c.shutdownDelay)
	sctx, cancel := context.WithTimeout(context.Background(), c.drainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("drain timeout passed: closing the remaining connections", "err", err)
		srv.Close()
	}
	a.Close()
	if msrv != nil {
		msrv.Close()
	}
	log.Info("stopped")
	return nil
}

func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// app is the wired handler stack, as run serves it (tests build the same).
type app struct {
	handler   http.Handler
	backend   mailproxy.Backend
	metrics   *metrics.Metrics
	redis     *redis.Client
	upstream  string
	storeName string
	draining  atomic.Bool
	closeOnce sync.Once
}

// newApp builds the backend, the session store and the handlers from c.
func newApp(c *config, log *slog.Logger) (*app, error) {
	a := &app{metrics: metrics.New()}
	tlsCfg, err := mailproxy.TLSConfig(c.caFile)
	if err != nil {
		return nil, err
	}
	trusted, err := web.ParseTrustedProxies(c.trustedProxies)
	if err != nil {
		return nil, fmt.Errorf("-trusted-proxies: %w", err)
	}
	var secrets []string
	for _, s := range strings.Split(c.sessionKeys, ",") {
		if s = strings.TrimSpace(s); s != "" {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		b := make([]byte, 32)
		rand.Read(b)
		secrets = []string{base64.RawStdEncoding.EncodeToString(b)}
		log.Warn("no -session-keys given: using a random key, so every session ends when thumbmail restarts")
	}
	for i, s := range secrets {
		if len(s) < web.MinSecretLen {
			return nil, fmt.Errorf("session key %d is %d characters; at least %d are needed", i+1, len(s), web.MinSecretLen)
		}
	}

	var store web.Store
	switch c.sessionStore {
	case "", "memory":
		store, a.storeName = web.NewMemoryStore(), "memory"
	default:
		rc, err := web.NewRedisClient(c.sessionStore)
		if err != nil {
			return nil, err
		}
		rs := web.NewRedisStore(rc)
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = rs.Ping(pctx)
		cancel()
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("-session-store: %w", err)
		}
		store, a.storeName, a.redis = rs, "redis", rc
	}

	m, err := newMail(c, tlsCfg, log, a.metrics.ObserveUpstream)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.backend, a.upstream = m.backend, m.upstream
	submit := m.submit
	var canned []string
	for _, s := range strings.Split(c.cannedReplies, "|") {
		if s = strings.TrimSpace(s); s != "" {
			canned = append(canned, s)
		}
	}
	// Sign-in guessing limits: shared through Redis when sessions are,
	// so every instance counts the same failures.
	var limitIP, limitUser web.Limiter
	if a.redis != nil {
		limitIP = web.NewRedisLimiter(a.redis, "thumbmail:limit:ip:", web.DefaultIPPolicy)
		limitUser = web.NewRedisLimiter(a.redis, "thumbmail:limit:user:", web.DefaultUserPolicy)
	} else {
		limitIP = web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultIPPolicy})
		limitUser = web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultUserPolicy})
	}
	if st, ok := a.backend.(interface{ Stats() (int, int) }); ok {
		a.metrics.WatchBackend(st.Stats)
	}

	sessions, err := web.NewSessionManager(web.SessionOptions{
		Secrets: secrets, Store: store, Idle: c.sessionIdle, Max: c.sessionMax,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	h := handlers.New(handlers.Config{
		Sessions: sessions, Mail: a.backend, Logger: log, PageSize: c.pageSize,
		BasePath: c.basePath, TrustedProxies: trusted,
		Draining: a.draining.Load, Observe: a.metrics.Middleware,
		LimitIP: limitIP, LimitUser: limitUser,
		ChooseProtocol: m.router, UserServers: c.userServers,
		Submit: submit, SavesSent: c.smtpSavesSent, MaxUpload: int64(c.maxUpload) << 20,
		CannedReplies: canned, Signature: strings.ReplaceAll(c.signature, `\n`, "\n"), MailDomain: c.mailDomain,
	})
	a.handler = h.Routes()
	return a, nil
}

// opsHandler serves -metrics-listen: /metrics, and /healthz and /readyz
// again (this listener stays up while the main one drains).
func (a *app) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if a.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

// Close logs out every upstream connection and closes the store client.
func (a *app) Close() {
	a.closeOnce.Do(func() {
		if a.backend != nil {
			a.backend.Close()
		}
		if a.redis != nil {
			a.redis.Close()
		}
	})
}

// demoUser is the user name and password of the demo mail.
const demoUser = "demo"

// startDemoPOP3 serves the demo Inbox from an in-process POP3 server on
// loopback. It locks the maildrop per session, as Dovecot does with
// pop3_lock_session = yes, so the demo behaves like a strict server.
func startDemoPOP3() (*pop3test.Server, error) {
	return pop3test.Start(&pop3test.Options{
		Users:    map[string]string{demoUser: demoUser},
		Messages: map[string][][]byte{demoUser: demo.Messages(time.Now())["INBOX"]},
		Lock:     true,
	})
}

// healthcheck asks a running thumbmail on addr for /healthz.
func healthcheck(addr, basePath string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + basePath + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}
