package smptest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
)

// Console records everything a guest prints and lets callers wait for text
// without polling.
type Console struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write and at close
	closed  bool
}

// NewConsole returns an empty console log.
func NewConsole() *Console { return &Console{changed: make(chan struct{})} }

// Write implements io.Writer for board.Config.Console.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	close(c.changed)
	c.changed = make(chan struct{})
	return len(p), nil
}

// Close marks the end of output: waiters stop waiting.
func (c *Console) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.changed)
	}
}

// String returns everything printed so far.
func (c *Console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// Len is the number of bytes printed so far: an offset for WaitFor.
func (c *Console) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

// WaitFor blocks until s appears at or after offset from. It returns the
// text between from and s and the offset just past s, or an error when ctx
// ends or the output ends first.
func (c *Console) WaitFor(ctx context.Context, s string, from int) (before string, next int, err error) {
	for {
		c.mu.Lock()
		out, changed, closed := c.buf.String(), c.changed, c.closed
		c.mu.Unlock()
		from = min(from, len(out))
		if i := strings.Index(out[from:], s); i >= 0 {
			return out[from : from+i], from + i + len(s), nil
		}
		if closed {
			return out[from:], len(out), fmt.Errorf("console ended before %q appeared", s)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return out[from:], len(out), fmt.Errorf("waiting for %q: %v", s, ctx.Err())
		}
	}
}

// Trouble lists the kernel's own reports of a sick SMP system found in a
// console log: lockups, RCU stalls, oopses, panics, hung tasks.
func Trouble(log string) []string {
	patterns := [...]string{
		"soft lockup", "hard LOCKUP", "rcu_sched self-detected stall", "rcu: INFO", "detected stall",
		"BUG:", "Oops", "Kernel panic", "blocked for more than", "WARNING: CPU",
	}
	var found []string
	for _, line := range strings.Split(log, "\n") {
		for _, p := range patterns {
			if strings.Contains(line, p) {
				found = append(found, strings.TrimSpace(line))
				break
			}
		}
	}
	return found
}
