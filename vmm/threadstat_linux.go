//go:build linux

package vmm

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadClock measures the host CPU a hart goroutine uses. The goroutine
// is locked to its OS thread (the scheduler does that on the first slice),
// so the thread's clocks are the hart's alone: CPU time excludes WFI sleeps
// and throttling, and schedstat's run-queue wait is the time the hart was
// ready to run but the host gave its core to someone else.
//
// The zero value has no file: a hart that never ran a slice never opened
// one, and closing its clock must not close fd 0 (or whatever file
// reuses that number by then).
type threadClock struct {
	fd   int // /proc/thread-self/schedstat, when open
	open bool
	buf  [128]byte
}

func openThreadClock() threadClock {
	fd, err := unix.Open("/proc/thread-self/schedstat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return threadClock{}
	}
	return threadClock{fd: fd, open: true}
}

// cpu is the calling thread's CPU time.
func (c *threadClock) cpu() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// runQueueWait is the thread's total time spent runnable but not running
// (0 when schedstat is unavailable).
func (c *threadClock) runQueueWait() time.Duration {
	if !c.open {
		return 0
	}
	n, err := unix.Pread(c.fd, c.buf[:], 0)
	if err != nil || n <= 0 {
		return 0
	}
	// "oncpu_ns wait_ns timeslices\n": the second field.
	field, v := 0, int64(0)
	for _, b := range c.buf[:n] {
		switch {
		case b >= '0' && b <= '9':
			if field == 1 {
				v = v*10 + int64(b-'0')
			}
		case b == ' ':
			field++
			if field > 1 {
				return time.Duration(v)
			}
		default:
			return time.Duration(v)
		}
	}
	return time.Duration(v)
}

func (c *threadClock) close() {
	if c.open {
		unix.Close(c.fd)
		c.open = false
	}
}
