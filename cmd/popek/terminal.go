package main

import (
	"os"

	"golang.org/x/term"
)

// rawTerminal puts f in raw mode when it is a terminal, so that keys such
// as Ctrl-C reach the guest. The returned restore is idempotent and always
// safe to call.
func rawTerminal(f *os.File) (restore func(), isTTY bool) {
	fd := int(f.Fd())
	if !term.IsTerminal(fd) {
		return func() {}, false
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return func() {}, false
	}
	done := false
	return func() {
		if !done {
			done = true
			term.Restore(fd, old)
		}
	}, true
}
