package dovecottest

import (
	"errors"
	"syscall"
)

// Dovecot does not run on Windows; these stubs only keep the package
// compiling there (Start skips before using them).

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(int, syscall.Signal) error { return errors.New("not supported") }

func groupAlive(int) bool { return false }

func pidAlive(int) bool { return false }
