//go:build unix

package dovecottest

import "syscall"

// signalGroup sends sig to every process of the process group pgid.
func signalGroup(pgid int, sig syscall.Signal) error { return syscall.Kill(-pgid, sig) }

// groupAlive reports whether any process of the group pgid is alive.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }

// pidAlive reports whether process pid exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
