package mailproxy

import (
	"runtime"
	"strings"
	"time"
)

// Observer is told about every upstream operation once it ends: op is
// the lower-cased name of the Session or Backend method that ran it
// ("login", "list", "message", "part", "folders", "delete", ...), d how
// long it took (connecting and logging in included, when that was
// needed), err its result. It is called from request goroutines and must
// be fast and safe for concurrent use (metrics).
type Observer func(op string, d time.Duration, err error)

// around runs an entry's operation and, when o is set, reports it under
// the calling Session method's name. It must be called directly from an
// entry's do (opName counts the frames).
func (o Observer) Around(run func() error) error {
	if o == nil {
		return run()
	}
	op, start := opName(), time.Now()
	err := run()
	o(op, time.Since(start), err)
	return err
}

// opName names the method that called an entry's do: the first caller up
// the stack whose name is not "do". Taking it from the stack means every
// Session method, including ones added later, is observed under its own
// name without passing names around.
func opName() string {
	var pcs [6]uintptr
	n := runtime.Callers(4, pcs[:]) // skip Callers, opName, around, entry.do
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		name := f.Function
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		// "mailproxy.(*imapSession).List" or "...List.func1"
		parts := strings.Split(name, ".")
		if len(parts) >= 3 && parts[2] != "do" {
			return strings.ToLower(parts[2])
		}
		if !more {
			return "other"
		}
	}
}
