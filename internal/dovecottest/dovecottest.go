// Package dovecottest starts a real Dovecot IMAP (and optionally POP3)
// server on loopback for integration tests, and fills its mailboxes fast by
// writing Maildir files directly.
//
//	s := dovecottest.Start(t, &dovecottest.Options{POP3: true})
//	s.WriteMessages(t, "alice", "INBOX", dovecottest.GenerateMessages(100, start), nil)
//	// log in to s.IMAPURL() or s.POP3URL() as alice / alice-secret-pw
//
// Each [Start] gets its own directory (configuration, log, runtime sockets,
// state and the users' homes) under the tmpfs /dev/shm, or /tmp where there
// is none, and its own free ports, so several servers can run in parallel
// in one test binary. Dovecot is stopped and the directory removed when the
// test ends; start-up takes a few tens of milliseconds.
//
// Dovecot must be installed (Debian: dovecot-imapd, dovecot-pop3d) and the
// test must run as root, because Dovecot's master process switches to the
// dovecot and dovenull users. When that is not the case Start skips the
// test, unless THUMBMAIL_REQUIRE_REAL=1, in which case it fails it.
//
// # Configuration
//
// The generated configuration is self-contained (nothing from /etc/dovecot
// is read):
//
//   - listen = 127.0.0.1, plain-text IMAP (and POP3) only, ssl = no,
//     disable_plaintext_auth = no, auth_mechanisms = plain login;
//   - users from a passwd-file with {PLAIN} passwords; a static userdb maps
//     every user to uid/gid dovecot and home DIR/home/USER; login names are
//     lower-cased (Dovecot's default auth_username_format = %Lu);
//   - mail_location = maildir:~/Maildir with the default Maildir++ layout:
//     INBOX is the root Maildir, a folder "A/B" lives in ~/Maildir/.A.B,
//     names are stored in modified UTF-7, and a "." inside a folder name is
//     rejected ("Character not allowed in mailbox name");
//   - one namespace, inbox = yes, prefix "", hierarchy separator "/", with
//     the special-use folders Sent (\Sent), Drafts (\Drafts), Trash
//     (\Trash), Junk (\Junk) and Archive (\Archive), all auto = subscribe
//     (listed and subscribed at once, created on disk when first used);
//   - failed logins are answered after about 0.5 s instead of 2 s and more:
//     auth_failure_delay = 0 (Dovecot still flushes failures on a 500 ms
//     timer) and the per-IP auth penalty switched off (see
//     Options.AuthPenalty);
//   - mail_fsync = never (test data need not survive a power cut);
//   - everything else is Dovecot's default, notably the mailbox list index
//     and mail_max_userip_connections = 10.
//
// The last lines of Dovecot's log are in the failure message when the
// server cannot start, and are logged when a test using it fails.
//
// # Dovecot behaviour worth knowing
//
//   - A login process may send "* OK Waiting for authentication process to
//     respond.." before the real greeting when the machine is busy.
//   - The passdb field "nodelay" does not help with wrong passwords: the
//     fields of a failed passdb lookup are dropped.
//   - With POP3LockSession a second POP3 login for the same user waits for
//     the lock up to 10 s and then fails with "-ERR [IN-USE]".
//   - Folders created behind Dovecot's back are not listed (the mailbox list
//     index does not notice them), which is why WriteMessages creates new
//     folders with doveadm; messages written into existing folders are seen
//     at the next sync (SELECT, NOOP, STATUS).
package dovecottest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// RequireRealEnv is the environment variable that, set to "1", turns the
// skips of Start (Dovecot missing, not root, cannot start) into failures.
const RequireRealEnv = "THUMBMAIL_REQUIRE_REAL"

// Default credentials used when Options.Users is empty.
const (
	DefaultUser     = "alice"
	DefaultPassword = "alice-secret-pw"
)

// startTimeout bounds how long Start waits for the greeting.
const startTimeout = 15 * time.Second

// Options configures a server started by Start. A nil *Options means all
// defaults.
type Options struct {
	// Users that can log in. Default: one user "alice" with password
	// "alice-secret-pw". Names must be lower case (Dovecot lower-cases
	// login names) and may not contain ':', '/' or white space; passwords
	// may not contain newlines.
	Users []User
	// POP3 also starts the POP3 service (POP3Addr, POP3URL).
	POP3 bool
	// POP3LockSession sets pop3_lock_session = yes: while a POP3 session
	// is open, a second login for the same user waits for the lock, up to
	// 10 s, and then fails with "-ERR [IN-USE]".
	POP3LockSession bool
	// MaxUserIPConnections is mail_max_userip_connections, the number of
	// simultaneous sessions per user and client IP (per protocol).
	// Default 10, Dovecot's own default.
	MaxUserIPConnections int
	// AuthPenalty keeps Dovecot's per-IP authentication penalty: after a
	// failed login, the next attempts from the same IP are delayed 4, 8
	// and then 15 seconds. By default it is off (the auth process cannot
	// reach the anvil-auth-penalty socket), so that wrong-password tests
	// are fast: every failed login is answered after about 0.5 s.
	AuthPenalty bool
	// RealFailureDelay keeps Dovecot's default auth_failure_delay (2 s
	// before a failed login is answered) instead of the fast 0.
	RealFailureDelay bool
	// TrustLoopback sets login_trusted_networks = 127.0.0.0/8: Dovecot
	// then believes a client's IMAP ID x-originating-ip/-port and POP3
	// XCLIENT (what a gateway says about the person behind it) for its
	// logs and its per-IP auth penalty.
	TrustLoopback bool
	// Submission also starts Dovecot's submission service (RFC 6409,
	// SubmissionAddr, SubmissionURL: AUTH PLAIN/LOGIN against the same
	// users, no TLS). It does not deliver itself: it relays every message
	// to SubmissionRelay.
	Submission bool
	// SubmissionRelay is the host:port of the SMTP server Dovecot's
	// submission service relays to (trusted, without authentication).
	// A test usually runs one that hands the mail to Deliver.
	SubmissionRelay string
}

// User is one mail account of the test server.
type User struct {
	Name, Password string
}

// Server is a running Dovecot started by Start.
type Server struct {
	// IMAPAddr is the host:port of the plain-text IMAP listener.
	IMAPAddr string
	// POP3Addr is the host:port of the plain-text POP3 listener, or ""
	// when Options.POP3 was false.
	POP3Addr string
	// SubmissionAddr is the host:port of the submission listener, or ""
	// when Options.Submission was false.
	SubmissionAddr string
	// Dir is the server's private directory: dovecot.conf, dovecot.log,
	// passwd, run/ (base_dir), state/ and home/USER (mail homes).
	Dir string
	// Users are the accounts configured on the server.
	Users []User

	bin     string
	doveadm string
	conf    string
	logPath string
	errPath string
	uid     int
	gid     int
	// clock gives every written message file a distinct, increasing
	// leading timestamp, which is what Dovecot sorts new files by when it
	// assigns UIDs.
	clock atomic.Int64

	mu       sync.Mutex // serialises folder creation and metadata files
	cmd      *exec.Cmd
	done     chan struct{} // closed when the master process has exited
	waitErr  error
	stopOnce sync.Once
}

// Start starts a Dovecot for the test and stops it in t.Cleanup. If Dovecot
// is not installed, the test does not run as root or the server cannot
// start, Start skips the test with a message saying why, or fails it when
// THUMBMAIL_REQUIRE_REAL=1.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Users) == 0 {
		o.Users = []User{{Name: DefaultUser, Password: DefaultPassword}}
	}
	if o.MaxUserIPConnections <= 0 {
		o.MaxUserIPConnections = 10
	}
	for _, u := range o.Users {
		if err := checkUser(u); err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
	}

	bin, err := findProgram("dovecot")
	if err != nil {
		unavailable(t, "%v", err)
	}
	doveadm, err := findProgram("doveadm")
	if err != nil {
		unavailable(t, "%v", err)
	}
	if o.Submission {
		if _, err := os.Stat("/usr/lib/dovecot/submission"); err != nil {
			unavailable(t, "Dovecot's submission service is not installed (Debian: dovecot-submissiond): %v", err)
		}
	}
	if os.Geteuid() != 0 {
		unavailable(t, "Dovecot tests must run as root (Dovecot switches to the dovecot user), running as uid %d", os.Geteuid())
	}
	uid, gid, err := lookupIDs("dovecot")
	if err != nil {
		unavailable(t, "%v", err)
	}
	if _, _, err := lookupIDs("dovenull"); err != nil {
		unavailable(t, "%v", err)
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(bin, doveadm, uid, gid, &o)
		if err == nil {
			t.Cleanup(func() {
				s.Stop()
				if t.Failed() {
					t.Logf("dovecottest: last lines of %s:\n%s", s.logPath, s.logTail(40))
				}
				if err := removeAll(s.Dir); err != nil {
					t.Errorf("dovecottest: removing %s: %v", s.Dir, err)
				}
			})
			return s
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	unavailable(t, "cannot start Dovecot: %v", lastErr)
	return nil
}

// unavailable skips the test, or fails it if RequireRealEnv is set.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "dovecottest: " + fmt.Sprintf(format, args...)
	if os.Getenv(RequireRealEnv) == "1" {
		t.Fatalf("%s (%s=1, so this is a failure)", msg, RequireRealEnv)
	}
	t.Skipf("%s; skipping (install dovecot-imapd and dovecot-pop3d and run as root; %s=1 makes this a failure)", msg, RequireRealEnv)
}

func checkUser(u User) error {
	if u.Name == "" || u.Name != strings.ToLower(u.Name) || strings.ContainsAny(u.Name, ":/\\%*? \t\r\n") || u.Name == "." || u.Name == ".." {
		return fmt.Errorf("invalid user name %q: use a non-empty lower-case name without ':', '/', '%%', '*', '?' or white space", u.Name)
	}
	if strings.ContainsAny(u.Password, "\r\n\x00") {
		return fmt.Errorf("invalid password for %q: it may not contain CR, LF or NUL", u.Name)
	}
	return nil
}

// findProgram returns the path of a Dovecot program (dovecot, doveadm).
func findProgram(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/lib/dovecot"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in $PATH, /usr/sbin, /usr/bin or /usr/local", name)
}

func lookupIDs(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("system user %q (created by the Dovecot package) not found: %v", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("system user %q has non-numeric uid/gid %q/%q", name, u.Uid, u.Gid)
	}
	return uid, gid, nil
}

var errAddrInUse = errors.New("address already in use")

// start makes one attempt at starting a server on fresh ports.
func start(bin, doveadm string, uid, gid int, o *Options) (s *Server, err error) {
	root := tempRoot()
	removeStaleOnce.Do(func() { removeStale(root) })
	dir, err := os.MkdirTemp(root, "dovecottest-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = removeAll(dir)
		}
	}()
	// The dovecot user must traverse the directory to reach the homes.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	s = &Server{
		Dir:     dir,
		Users:   append([]User(nil), o.Users...),
		bin:     bin,
		doveadm: doveadm,
		conf:    filepath.Join(dir, "dovecot.conf"),
		logPath: filepath.Join(dir, "dovecot.log"),
		errPath: filepath.Join(dir, "stderr.log"),
		uid:     uid,
		gid:     gid,
		done:    make(chan struct{}),
	}
	s.clock.Store(time.Now().Unix())

	for _, d := range []string{"run", "state", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, u := range o.Users {
		if _, err := s.mkdirOwned(filepath.Join(dir, "home", u.Name)); err != nil {
			return nil, err
		}
	}
	var pw strings.Builder
	for _, u := range o.Users {
		fmt.Fprintf(&pw, "%s:%s\n", u.Name, passwdEntry(u.Password))
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		return nil, err
	}

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	s.IMAPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	if o.POP3 {
		s.POP3Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	}
	if o.Submission {
		if o.SubmissionRelay == "" {
			return nil, errors.New("Options.Submission needs a SubmissionRelay")
		}
		s.SubmissionAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
	}
	conf := s.config(o, ports[0], ports[1])
	confPath := s.conf
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}

	errFile, err := os.Create(s.errPath)
	if err != nil {
		return nil, err
	}
	defer errFile.Close()
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Dir = dir
	cmd.Stdout = errFile
	cmd.Stderr = errFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %v", bin, err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(); err != nil {
		s.Stop()
		tail := s.logTail(20)
		if strings.Contains(tail, "Address already in use") {
			return nil, fmt.Errorf("%w: %v", errAddrInUse, err)
		}
		return nil, fmt.Errorf("%v\n--- last lines of %s and stderr ---\n%s", err, s.logPath, tail)
	}
	return s, nil
}

// tempRoot is where server directories go: the tmpfs /dev/shm when there
// is one, because file creation there is ten to a hundred times faster
// than on a busy disk, else /tmp. Not $TMPDIR: the dovecot user must be
// able to traverse every parent, and Dovecot's UNIX socket paths must stay
// short.
func tempRoot() string {
	for _, d := range []string{"/dev/shm", "/tmp"} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && fi.Mode().Perm()&0o005 == 0o005 {
			return d
		}
	}
	return os.TempDir()
}

// removeStale deletes server directories left behind by test binaries
// that died without cleaning up: older than an hour and with no live
// Dovecot master.
func removeStale(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, "dovecottest-*"))
	for _, dir := range dirs {
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < time.Hour {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "run", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pidAlive(pid) {
				continue
			}
		}
		_ = os.RemoveAll(dir)
	}
}

var removeStaleOnce sync.Once

// passwdEntry returns the password field of a passwd-file line.
func passwdEntry(pw string) string {
	if strings.ContainsAny(pw, ":") || strings.TrimSpace(pw) != pw {
		// passwd-file splits on ':'; base64 keeps such passwords intact.
		return "{PLAIN.b64}" + b64(pw)
	}
	return "{PLAIN}" + pw
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago. Start retries with new ports if Dovecot then fails to bind.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (s *Server) config(o *Options, imapPort, pop3Port int) string {
	protocols := "imap"
	if o.POP3 {
		protocols += " pop3"
	}
	if !o.POP3 {
		pop3Port = 0
	}
	if o.Submission {
		protocols += " submission"
	}
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Generated by thumbmail's internal/dovecottest for one test.")
	p("instance_name = %s", filepath.Base(s.Dir))
	p("base_dir = %s", filepath.Join(s.Dir, "run"))
	p("state_dir = %s", filepath.Join(s.Dir, "state"))
	p("log_path = %s", s.logPath)
	p("info_log_path = %s", s.logPath)
	p("debug_log_path = %s", s.logPath)
	p(`log_timestamp = "%%Y-%%m-%%d %%H:%%M:%%S "`)
	p("auth_verbose = yes")
	p("verbose_proctitle = yes")
	p("protocols = %s", protocols)
	p("listen = 127.0.0.1")
	p("ssl = no")
	p("disable_plaintext_auth = no")
	p("auth_mechanisms = plain login")
	if !o.RealFailureDelay {
		p("auth_failure_delay = 0")
	}
	if o.TrustLoopback {
		p("login_trusted_networks = 127.0.0.0/8")
	}
	p("first_valid_uid = 1")
	p("mail_location = maildir:~/Maildir")
	p("mail_fsync = never")
	p("mail_max_userip_connections = %d", o.MaxUserIPConnections)
	p("pop3_lock_session = %s", yesNo(o.POP3LockSession))
	p("passdb {")
	p("  driver = passwd-file")
	p("  args = scheme=PLAIN username_format=%%u %s", filepath.Join(s.Dir, "passwd"))
	p("}")
	p("userdb {")
	p("  driver = static")
	p("  args = uid=dovecot gid=dovecot home=%s/%%u", filepath.Join(s.Dir, "home"))
	p("}")
	p("namespace inbox {")
	p("  inbox = yes")
	p("  separator = /")
	p(`  prefix =`)
	for _, m := range SpecialUse {
		p("  mailbox %s {", m.Name)
		p("    special_use = %s", m.Attr)
		p("    auto = subscribe")
		p("  }")
	}
	p("}")
	if !o.AuthPenalty {
		// The auth process cannot connect to a mode-0 socket, which
		// disables the penalty (Dovecot's documented switch).
		p("service anvil {")
		p("  unix_listener anvil-auth-penalty {")
		p("    mode = 0")
		p("  }")
		p("}")
	}
	p("service imap-login {")
	p("  inet_listener imap {")
	p("    address = 127.0.0.1")
	p("    port = %d", imapPort)
	p("  }")
	p("  inet_listener imaps {")
	p("    port = 0")
	p("  }")
	p("}")
	if o.Submission {
		relayHost, relayPort, _ := net.SplitHostPort(o.SubmissionRelay)
		_, subPort, _ := net.SplitHostPort(s.SubmissionAddr)
		p("hostname = localhost")
		p("submission_relay_host = %s", relayHost)
		p("submission_relay_port = %s", relayPort)
		p("submission_relay_trusted = yes")
		p("service submission-login {")
		p("  inet_listener submission {")
		p("    address = 127.0.0.1")
		p("    port = %s", subPort)
		p("  }")
		p("}")
	}
	p("service pop3-login {")
	p("  inet_listener pop3 {")
	p("    address = 127.0.0.1")
	p("    port = %d", pop3Port)
	p("  }")
	p("  inet_listener pop3s {")
	p("    port = 0")
	p("  }")
	p("}")
	return b.String()
}

// SpecialUse lists the special-use folders every server has, in the order
// Dovecot lists them.
var SpecialUse = []struct{ Name, Attr string }{
	{"Sent", `\Sent`},
	{"Drafts", `\Drafts`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

// waitReady waits until IMAP (and POP3) answer with a greeting.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	type probe struct{ addr, ok string }
	probes := []probe{{s.IMAPAddr, "* OK"}}
	if s.POP3Addr != "" {
		probes = append(probes, probe{s.POP3Addr, "+OK"})
	}
	if s.SubmissionAddr != "" {
		probes = append(probes, probe{s.SubmissionAddr, "220"})
	}
	var lastErr error
	for _, pr := range probes {
		for {
			select {
			case <-s.done:
				return fmt.Errorf("dovecot exited during start-up: %v", s.waitErr)
			default:
			}
			lastErr = greet(pr.addr, pr.ok)
			if lastErr == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no greeting on %s after %v: %v", pr.addr, startTimeout, lastErr)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// greet connects to addr and checks that the first line starts with ok.
func greet(addr, ok string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading greeting: %v", err)
	}
	if !strings.HasPrefix(line, ok) {
		return fmt.Errorf("unexpected greeting %q", strings.TrimSpace(line))
	}
	if ok == "+OK" || ok == "220" {
		_, _ = c.Write([]byte("QUIT\r\n"))
	} else {
		_, _ = c.Write([]byte("z LOGOUT\r\n"))
	}
	return nil
}

// IMAPURL returns the server's IMAP URL, "imap+insecure://127.0.0.1:PORT".
func (s *Server) IMAPURL() string { return "imap+insecure://" + s.IMAPAddr }

// POP3URL returns the server's POP3 URL, "pop3+insecure://127.0.0.1:PORT",
// or "" when the server was started without POP3.
func (s *Server) POP3URL() string {
	if s.POP3Addr == "" {
		return ""
	}
	return "pop3+insecure://" + s.POP3Addr
}

// SubmissionURL returns the submission service's URL,
// "smtp+insecure://127.0.0.1:PORT", or "" without Options.Submission.
func (s *Server) SubmissionURL() string {
	if s.SubmissionAddr == "" {
		return ""
	}
	return "smtp+insecure://" + s.SubmissionAddr
}

// Deliver delivers raw (RFC 5322) into user's INBOX with dovecot-lda,
// as an MTA would: Sieve-free local delivery with the server's
// configuration.
func (s *Server) Deliver(user string, raw []byte) error {
	lda, err := findProgram("dovecot-lda")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lda, "-c", s.conf, "-d", user)
	cmd.Stdin = bytes.NewReader(raw)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dovecot-lda -d %s: %v: %s", user, err, out)
	}
	return nil
}

// Doveadm runs doveadm with the server's configuration ("doveadm -c
// DIR/dovecot.conf ARGS...") and returns its combined output, for setup
// steps or faults that IMAP cannot express, such as
// Doveadm("kick", "alice") or Doveadm("mailbox", "create", "-u", "alice",
// "Work"). Commands that look users up need the server to be running.
func (s *Server) Doveadm(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.doveadm, append([]string{"-c", s.conf}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("doveadm %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// LogPath returns the path of Dovecot's log file.
func (s *Server) LogPath() string { return s.logPath }

// Log returns the whole Dovecot log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// WaitLog waits until the log holds substr at least n times, or until d
// has passed, and returns the log and whether it got there. Dovecot logs
// through a separate log process, so the line for something that has
// happened (a login the client already saw answered, a password check)
// may be written a moment after the client got its answer: a test that
// reads Log at once can miss it.
func (s *Server) WaitLog(substr string, n int, d time.Duration) (string, bool) {
	deadline := time.Now().Add(d)
	for {
		log := s.Log()
		if strings.Count(log, substr) >= n {
			return log, true
		}
		if time.Now().After(deadline) {
			return log, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server at once: SIGTERM to Dovecot's whole process group
// (master, login, imap, pop3, auth, log...), and SIGKILL to whatever is
// left after a few seconds. Stop is idempotent and safe to call before the
// test ends, for example to test an unreachable server; the directory
// stays until the test's cleanup.
//
// Signalling only the master would take a second, and its children would
// linger ten more.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		// Dovecot and all its children share this process group. The
		// master is our child and not yet reaped, so the id is ours.
		pgid := s.cmd.Process.Pid
		_ = signalGroup(pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = signalGroup(pgid, syscall.SIGKILL)
			<-s.done
		}
		// While any member lives the group id cannot be reused, so
		// signalling it only ever reaches Dovecot's processes.
		deadline := time.Now().Add(3 * time.Second)
		for groupAlive(pgid) {
			if time.Now().After(deadline) {
				_ = signalGroup(pgid, syscall.SIGKILL)
				time.Sleep(20 * time.Millisecond)
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
}

// logTail returns the last n lines of the Dovecot log followed by
// Dovecot's standard error output.
func (s *Server) logTail(n int) string {
	var b strings.Builder
	for _, p := range []string{s.logPath, s.errPath} {
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		b.WriteString(strings.Join(lines, "\n"))
		b.WriteString("\n")
	}
	if b.Len() == 0 {
		return "(no log output)\n"
	}
	return b.String()
}

// removeAll removes dir, retrying briefly while late writers finish.
func removeAll(dir string) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// mkdirOwned creates dir (mode 0700) owned by the dovecot user and reports
// whether it did; an existing directory is left alone.
func (s *Server) mkdirOwned(dir string) (created bool, err error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, os.Chown(dir, s.uid, s.gid)
}
