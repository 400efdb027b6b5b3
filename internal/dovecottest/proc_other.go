//go:build !linux

package dovecottest

import (
	"os"
	"time"
)

// setMtime sets the access and modification times of the file at path.
func setMtime(_ *os.File, path string, t time.Time) error { return os.Chtimes(path, t, t) }
