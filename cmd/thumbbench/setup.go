package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
)

// benchTB lets thumbbench use internal/dovecottest, written for tests,
// from a program: failures stop the run (after the clean-ups).
type benchTB struct {
	testing.TB // methods dovecottest does not call: nil, never used
	mu         sync.Mutex
	cleanups   []func()
}

// errAbort carries a failure through panic to main, which cleans up.
type errAbort struct{ msg string }

func (b *benchTB) Helper()                           {}
func (b *benchTB) Failed() bool                      { return false }
func (b *benchTB) Logf(format string, args ...any)   { log.Printf(format, args...) }
func (b *benchTB) Errorf(format string, args ...any) { log.Printf("error: "+format, args...) }
func (b *benchTB) Fatalf(format string, args ...any) {
	panic(errAbort{fmt.Sprintf(format, args...)})
}
func (b *benchTB) Fatal(args ...any)                { panic(errAbort{fmt.Sprint(args...)}) }
func (b *benchTB) Skipf(format string, args ...any) { b.Fatalf(format, args...) }
func (b *benchTB) Cleanup(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, f)
}

// cleanUp runs the clean-ups, last registered first.
func (b *benchTB) cleanUp() {
	b.mu.Lock()
	fs := b.cleanups
	b.cleanups = nil
	b.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// raiseFileLimit lets a thousand sessions (and their Dovecot processes)
// have their sockets; children inherit it.
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// mixedMessages is n messages of mixed real shapes: generated mail
// (plain, HTML, attachments, threads) with, every seventh, one of
// dovecottest's real-world shapes (those under 64 KB).
func mixedMessages(n int) [][]byte {
	msgs := dovecottest.GenerateMessages(n, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	var real [][]byte
	for _, m := range dovecottest.RealWorldMessages(16) {
		if len(m) <= 64<<10 {
			real = append(real, m)
		}
	}
	for i := range msgs {
		if i%7 == 3 && i < n-60 { // the first page stays generated: comparable across runs
			msgs[i] = real[(i/7)%len(real)]
		}
	}
	return msgs
}

// bigMessage is a short text with an attachment of size bytes.
func bigMessage(size int) []byte {
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(data); i += 8 {
		v := r.Uint64()
		for k := range 8 {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	var b bytes.Buffer
	b.WriteString("From: Archive <archive@example.org>\r\nTo: alice@example.org\r\nSubject: The 25 MB attachment\r\n" +
		"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <big@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n--bb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Here is the whole archive, as promised.\r\n--bb\r\nContent-Type: application/octet-stream; name=\"archive.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"archive.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--bb--\r\n")
	return b.Bytes()
}

// moduleRoot is the directory of thumbmail's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run thumbbench inside thumbmail's module")
	}
	return filepath.Dir(gomod), nil
}

// buildThumbmail builds cmd/thumbmail of the checkout at root into dir.
func buildThumbmail(root, out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./cmd/thumbmail")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// buildBase builds commit rev from a temporary worktree.
func buildBase(root, rev, out string) error {
	dir, err := os.MkdirTemp("", "thumbbench-base-")
	if err != nil {
		return err
	}
	os.Remove(dir)
	add := exec.Command("git", "worktree", "add", "--detach", dir, rev)
	add.Dir = root
	if b, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("git worktree add %s: %v: %s", rev, err, b)
	}
	defer func() {
		rm := exec.Command("git", "worktree", "remove", "--force", dir)
		rm.Dir = root
		rm.Run()
	}()
	return buildThumbmail(dir, out)
}

// instance is a running thumbmail process.
type instance struct {
	name string
	cmd  *exec.Cmd
	url  string
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startInstance runs the thumbmail binary bin against imapURL.
func startInstance(tb *benchTB, name, bin, imapURL string) (*instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-listen", addr, "-imap", imapURL, "-smtp", "smtp+insecure://127.0.0.1:9",
		"-session-keys", strings.Repeat("thumbbench-key-", 4), "-log-level", "error")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	in := &instance{name: name, cmd: cmd, url: "http://" + addr}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(in.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s did not answer /healthz: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rss is the process's resident set in bytes.
func (in *instance) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// sockets counts the process's open sockets.
func (in *instance) sockets() int {
	dir := fmt.Sprintf("/proc/%d/fd", in.cmd.Process.Pid)
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// countingProxy relays TCP to an IMAP server and counts the bytes the
// server sends.
type countingProxy struct {
	addr string
	down atomic.Int64
}

func newCountingProxy(tb *benchTB, target string) (*countingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { ln.Close() })
	p := &countingProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(io.MultiWriter(c, counter{&p.down}), u); c.Close() }()
		}
	}()
	return p, nil
}

type counter struct{ n *atomic.Int64 }

func (c counter) Write(b []byte) (int, error) { c.n.Add(int64(len(b))); return len(b), nil }
