package netstack

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// frameConn is the in-memory link between the NIC and gvisor-tap-vsock's
// switch, in its "bess" (SOCK_SEQPACKET) framing: every Read returns one
// whole Ethernet frame from the guest and every Write carries one frame for
// it. Neither side ever blocks the other: guest frames wait in a bounded
// queue, and frames for the guest go straight to the NIC's receive function,
// which copies and never blocks.
type frameConn struct {
	in      chan []byte // frames from the guest
	closed  chan struct{}
	once    sync.Once
	eofSent atomic.Bool

	deliver atomic.Pointer[func([]byte)]
	dropped atomic.Uint64 // guest frames lost to a full queue

	bufs sync.Pool // *[]byte for guest frames
}

const (
	frameQueueLen = 256
	framePoolCap  = 1536
)

func newFrameConn() *frameConn {
	return &frameConn{in: make(chan []byte, frameQueueLen), closed: make(chan struct{})}
}

// send queues a guest frame for the switch, or drops it when the queue is
// full.
func (c *frameConn) send(frame []byte) {
	var buf []byte
	if len(frame) <= framePoolCap {
		if b, ok := c.bufs.Get().(*[]byte); ok {
			buf = (*b)[:len(frame)]
		} else {
			buf = make([]byte, len(frame), framePoolCap)
		}
	} else {
		buf = make([]byte, len(frame))
	}
	copy(buf, frame)
	select {
	case <-c.closed:
	case c.in <- buf:
		return
	default:
		c.dropped.Add(1)
	}
}

// Read returns the next guest frame. After Close it returns one sentinel
// frame (an all-zero Ethernet header, which the switch drops) so that the
// switch's read loop comes round to its cancelled context and ends quietly
// instead of logging a read error; later reads return io.EOF.
func (c *frameConn) Read(b []byte) (int, error) {
	select {
	case f := <-c.in:
		n := copy(b, f)
		if cap(f) == framePoolCap {
			f = f[:0]
			c.bufs.Put(&f)
		}
		return n, nil
	case <-c.closed:
		if c.eofSent.Swap(true) {
			return 0, io.EOF
		}
		return copy(b, make([]byte, 14)), nil
	}
}

// Write delivers one frame to the guest.
func (c *frameConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return len(b), nil
	default:
	}
	if d := c.deliver.Load(); d != nil {
		(*d)(b)
	}
	return len(b), nil
}

func (c *frameConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

type frameAddr struct{}

func (frameAddr) Network() string { return "virtio-net" }
func (frameAddr) String() string  { return "virtio-net" }

func (c *frameConn) LocalAddr() net.Addr              { return frameAddr{} }
func (c *frameConn) RemoteAddr() net.Addr             { return frameAddr{} }
func (c *frameConn) SetDeadline(time.Time) error      { return nil }
func (c *frameConn) SetReadDeadline(time.Time) error  { return nil }
func (c *frameConn) SetWriteDeadline(time.Time) error { return nil }
