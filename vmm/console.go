package vmm

import (
	"context"
	"sync"
)

// ScrollbackSize is how much console output each VM keeps for replay.
const ScrollbackSize = 64 << 10

// consoleLog is a VM's console output: a ring of the last ScrollbackSize
// bytes addressed by absolute stream offset, so any number of readers
// follow it at their own pace without buffers of their own. A reader that
// falls more than the ring behind skips ahead (and is told how much it
// lost); the guest never waits for a reader.
type consoleLog struct {
	mu     sync.Mutex
	ring   []byte
	total  uint64        // bytes ever written; the ring holds the last min(total, len)
	notify chan struct{} // made when a reader waits, closed by the next write
}

// ConsoleLogState is a console log's serialisable state.
type ConsoleLogState struct {
	Data  []byte `json:"data"`  // the retained bytes, oldest first
	Total uint64 `json:"total"` // stream offset just past Data
}

func newConsoleLog() *consoleLog { return &consoleLog{ring: make([]byte, ScrollbackSize)} }

// Write appends guest output. It never blocks on readers.
func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeLocked(p), nil
}

func (c *consoleLog) writeLocked(p []byte) int {
	n := len(p)
	if n > len(c.ring) {
		c.total += uint64(n - len(c.ring))
		p = p[n-len(c.ring):]
	}
	for len(p) > 0 {
		off := int(c.total % uint64(len(c.ring)))
		k := copy(c.ring[off:], p)
		p = p[k:]
		c.total += uint64(k)
	}
	if c.notify != nil {
		close(c.notify)
		c.notify = nil
	}
	return n
}

// oldest is the first offset still in the ring.
func (c *consoleLog) oldest() uint64 {
	if c.total > uint64(len(c.ring)) {
		return c.total - uint64(len(c.ring))
	}
	return 0
}

// Offsets returns the oldest retained offset and the end of the stream.
func (c *consoleLog) Offsets() (oldest, end uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.oldest(), c.total
}

// ReadAt copies output from offset pos into p, waiting until there is
// some. It returns the bytes read, the offset after them and how many
// bytes were lost because pos had already left the ring.
func (c *consoleLog) ReadAt(ctx context.Context, p []byte, pos uint64) (n int, next, lost uint64, err error) {
	for {
		c.mu.Lock()
		if pos < c.oldest() {
			lost = c.oldest() - pos
			pos = c.oldest()
		}
		if pos > c.total {
			pos = c.total
		}
		if pos < c.total {
			for n < len(p) && pos < c.total {
				off := int(pos % uint64(len(c.ring)))
				end := len(c.ring)
				if avail := c.total - pos; uint64(end-off) > avail {
					end = off + int(avail)
				}
				k := copy(p[n:], c.ring[off:end])
				n += k
				pos += uint64(k)
			}
			c.mu.Unlock()
			return n, pos, lost, nil
		}
		if c.notify == nil {
			c.notify = make(chan struct{})
		}
		ch := c.notify
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, pos, lost, ctx.Err()
		}
	}
}

// SaveState returns the retained output.
func (c *consoleLog) SaveState() ConsoleLogState {
	c.mu.Lock()
	defer c.mu.Unlock()
	data := make([]byte, 0, c.total-c.oldest())
	for pos := c.oldest(); pos < c.total; {
		off := int(pos % uint64(len(c.ring)))
		end := min(len(c.ring), off+int(c.total-pos))
		data = append(data, c.ring[off:end]...)
		pos += uint64(end - off)
	}
	return ConsoleLogState{Data: data, Total: c.total}
}

// RestoreState makes the log exactly the saved one.
func (c *consoleLog) RestoreState(s ConsoleLogState) error {
	if len(s.Data) > ScrollbackSize || uint64(len(s.Data)) > s.Total {
		return errorf(KindInvalid, "console log: %d bytes retained of a %d-byte stream (ring %d)", len(s.Data), s.Total, ScrollbackSize)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total = s.Total - uint64(len(s.Data))
	clear(c.ring)
	c.writeLocked(s.Data)
	return nil
}
