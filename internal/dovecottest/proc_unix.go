//go:build unix && !linux

package dovecottest

import "syscall"

// sysProcAttr puts Dovecot in its own process group, so that Stop can reach
// its children.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
