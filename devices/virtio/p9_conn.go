package virtio

import (
	"encoding/binary"
	"io"
	"sync"
)

// p9Conn is one in-memory connection to the 9P server. The device feeds it
// whole T-messages; the server reads them as a byte stream, answers each on
// its own goroutine, and its R-messages are cut back into messages here and
// handed to the device by tag.
type p9Conn struct {
	onReply func(msg []byte) // called with each whole R-message

	mu     sync.Mutex
	cond   sync.Cond
	queue  [][]byte // T-messages not yet read, oldest first
	cur    []byte   // rest of the message being read
	closed bool

	acc []byte // R bytes not yet forming a whole message (server's send lock)

	ended chan struct{} // closed by whoever runs the server, once it returns
}

func newP9Conn(onReply func([]byte)) *p9Conn {
	c := &p9Conn{onReply: onReply, ended: make(chan struct{})}
	c.cond.L = &c.mu
	return c
}

// push queues a T-message for the server. It never blocks.
func (c *p9Conn) push(msg []byte) {
	c.mu.Lock()
	c.queue = append(c.queue, msg)
	c.mu.Unlock()
	c.cond.Signal()
}

// Read implements the server's T stream.
func (c *p9Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.cur) == 0 {
		if c.closed {
			return 0, io.EOF
		}
		if len(c.queue) > 0 {
			c.cur = c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			continue
		}
		c.cond.Wait()
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// Write implements the server's R stream. The server writes each reply
// whole under its send lock, possibly in several pieces.
func (c *p9Conn) Write(p []byte) (int, error) {
	c.acc = append(c.acc, p...)
	for len(c.acc) >= p9HeaderLen {
		size := binary.LittleEndian.Uint32(c.acc)
		if size < p9HeaderLen || size > p9MaxMessage+p9HeaderLen {
			c.acc = c.acc[:0] // the server never frames badly
			break
		}
		if uint32(len(c.acc)) < size {
			break
		}
		msg := make([]byte, size)
		copy(msg, c.acc)
		c.acc = c.acc[size:]
		c.onReply(msg)
	}
	if len(c.acc) == 0 {
		c.acc = nil // let a large reply's buffer go
	}
	return len(p), nil
}

// Close ends the connection: the server sees EOF and shuts it down once
// its running handlers return.
func (c *p9Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cond.Broadcast()
	return nil
}
