package dovecottest

import "syscall"

// sysProcAttr puts Dovecot in its own process group, so that Stop can reach
// its children, and kills it if the test binary dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
