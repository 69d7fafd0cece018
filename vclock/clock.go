// Package vclock is a VM's time base: the value of mtime, counting at Freq
// from the host's monotonic clock. It can be paused so that a paused or
// snapshotted guest does not see time race ahead when it resumes.
package vclock

import (
	"sync"
	"sync/atomic"
	"time"
)

// Freq is the timebase frequency in Hz, as on QEMU's virt board.
const Freq = 10_000_000

// Clock is safe for concurrent use by all harts and devices of a VM. Reads
// are lock-free (harts read it on every timer check); writers serialise.
type Clock struct {
	mu sync.Mutex
	s  atomic.Pointer[state]
}

// state is immutable once published.
type state struct {
	start  time.Time // host instant at which guest time was base
	base   uint64    // guest ticks at start, or the frozen value while paused
	paused bool
}

// New returns a running clock that reads 0 now.
func New() *Clock {
	c := &Clock{}
	c.s.Store(&state{start: time.Now()})
	return c
}

// Now returns the current guest time in ticks.
func (c *Clock) Now() uint64 { return c.s.Load().now() }

func (s *state) now() uint64 {
	if s.paused {
		return s.base
	}
	return s.base + uint64(time.Since(s.start)/100) // 100 ns per tick at 10 MHz
}

// Paused reports whether guest time is stopped.
func (c *Clock) Paused() bool { return c.s.Load().paused }

// Pause stops guest time. Idempotent.
func (c *Clock) Pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.s.Load(); !s.paused {
		c.s.Store(&state{base: s.now(), paused: true})
	}
}

// Resume restarts guest time from where it was paused. Idempotent.
func (c *Clock) Resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.s.Load(); s.paused {
		c.s.Store(&state{base: s.base, start: time.Now()})
	}
}

// Set makes the clock read ticks now (restore from a snapshot), keeping the
// paused state.
func (c *Clock) Set(ticks uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Store(&state{base: ticks, start: time.Now(), paused: c.s.Load().paused})
}

// pausedPoll is what Until answers while the clock is paused: nothing
// becomes due, but a sleeper must look again soon, because nobody wakes it
// when the clock resumes.
const pausedPoll = 20 * time.Millisecond

// Until returns the host duration until the clock reads ticks (0 if past).
// While paused it returns pausedPoll.
func (c *Clock) Until(ticks uint64) time.Duration {
	s := c.s.Load()
	if s.paused {
		return pausedPoll
	}
	now := s.now()
	if ticks <= now {
		return 0
	}
	d := ticks - now
	if d > uint64(time.Hour/100) {
		return time.Hour
	}
	return time.Duration(d) * 100
}
