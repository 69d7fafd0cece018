// Command popekinit is /init of popek's default guest: it mounts the kernel
// file systems, brings up loopback, prints a banner, runs the identity agent
// (agent.go) and keeps an interactive shell running on the console
// (respawning it when it exits, because PID 1 must never return).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// shells are tried in order; gosh (u-root's shell) is the fallback.
var shells = []string{"/bbin/sh", "/bbin/gosh"}

const hostname = "popek"

func main() {
	for _, err := range setup() {
		fmt.Fprintf(os.Stderr, "popekinit: %v\n", err)
	}
	fmt.Print(banner(uname()))
	go runAgent()
	for {
		if err := runShell(); err != nil {
			fmt.Fprintf(os.Stderr, "popekinit: %v\n", err)
			// Back off so a broken shell does not flood the console.
			time.Sleep(5 * time.Second)
			continue
		}
		fmt.Println("popekinit: shell exited, starting a new one")
	}
}

// setup prepares the running system and returns every step that failed;
// none of them is fatal for getting a shell.
func setup() []error {
	var errs []error
	for _, m := range mounts {
		if err := m.mount(); err != nil {
			errs = append(errs, err)
		}
	}
	for k, v := range environment {
		os.Setenv(k, v)
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		errs = append(errs, fmt.Errorf("sethostname: %w", err))
	}
	if err := loopbackUp(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func uname() unix.Utsname {
	var u unix.Utsname
	unix.Uname(&u) // cannot fail with a valid pointer
	return u
}

// banner is what the console shows before the first prompt.
func banner(u unix.Utsname) string {
	return fmt.Sprintf("\npopek guest: %s %s %s (u-root userland)\n"+
		"Type 'poweroff' to stop the machine.\n\n",
		unix.ByteSliceToString(u.Sysname[:]),
		unix.ByteSliceToString(u.Release[:]),
		unix.ByteSliceToString(u.Machine[:]))
}

// runShell starts the first available shell as a session leader owning the
// console (so Ctrl-C reaches its foreground command) and reaps every child,
// orphans included, until the shell itself exits.
func runShell() error {
	var lastErr error
	for _, path := range shells {
		cmd := exec.Command(path)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			lastErr = err
			continue
		}
		reapUntil(cmd.Process.Pid)
		return nil
	}
	return fmt.Errorf("no shell could be started: %w", lastErr)
}

func reapUntil(pid int) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if got == pid || (err != nil && err != unix.EINTR) {
			return
		}
	}
}
