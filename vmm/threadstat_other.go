//go:build !linux

package vmm

import "time"

// threadClock without per-thread clocks: wall time stands in for CPU time,
// so WFI sleeps count as use and caps are conservative.
type threadClock struct{ start time.Time }

func openThreadClock() threadClock { return threadClock{start: time.Now()} }

func (c *threadClock) cpu() time.Duration          { return time.Since(c.start) }
func (c *threadClock) runQueueWait() time.Duration { return 0 }
func (c *threadClock) close()                      {}
