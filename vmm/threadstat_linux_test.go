//go:build linux

package vmm

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnstartedMeterClosesNothing: a hart that never ran a slice (a VM
// stopped or a migration abandoned right after its machine was built)
// closes its meter without closing fd 0. It did once, and the file that
// had reused fd 0 by then (another VM's vsock listener) went dead.
func TestUnstartedMeterClosesNothing(t *testing.T) {
	// Make sure fd 0 is something this test owns and can check.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	saved, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { unix.Dup2(saved, 0); unix.Close(saved) }()
	if err := unix.Dup2(int(r.Fd()), 0); err != nil {
		t.Fatal(err)
	}

	s := NewScheduler(1)
	newHartMeter(s.join(100, 1, 0)).close()
	var c threadClock
	c.close()
	if _, err := unix.FcntlInt(0, unix.F_GETFD, 0); err != nil {
		t.Fatalf("fd 0 was closed by an unstarted meter: %v", err)
	}

	// A started one closes its own file, once.
	c = openThreadClock()
	if !c.open {
		t.Skip("no /proc/thread-self/schedstat here")
	}
	fd := c.fd
	c.close()
	c.close()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Errorf("the clock's file %d is still open after close", fd)
	}
	if _, err := unix.FcntlInt(0, unix.F_GETFD, 0); err != nil {
		t.Fatalf("closing a clock twice closed fd 0: %v", err)
	}
}
