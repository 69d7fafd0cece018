package vswitch

import (
	"sync"
	"sync/atomic"
)

// poolFrameCap covers any frame of a 1500-byte MTU; larger ones are
// allocated and not recycled.
const poolFrameCap = 1536

// Port is one NIC's connection to a switch. It implements virtio.NetBackend.
type Port struct {
	sw    *Switch
	queue chan []byte // frames for this port's receiver
	done  chan struct{}

	closed bool // guarded by sw.mu

	started  atomic.Bool
	stopOnce sync.Once
	stopped  chan struct{} // closed when the delivery goroutine exits

	sent, received, dropped atomic.Uint64
}

// PortStats counts a port's frames.
type PortStats struct {
	Sent     uint64 // frames the NIC sent into the switch
	Received uint64 // frames delivered to the NIC
	Dropped  uint64 // frames for the NIC lost because its queue was full
}

// Stats returns the port's counters.
func (p *Port) Stats() PortStats {
	return PortStats{Sent: p.sent.Load(), Received: p.received.Load(), Dropped: p.dropped.Load()}
}

// SetReceiver starts delivering frames to deliver, one at a time on the
// port's own goroutine. Only the first call has an effect.
func (p *Port) SetReceiver(deliver func(frame []byte)) {
	if !p.started.Swap(true) {
		go p.run(deliver)
	}
}

func (p *Port) run(deliver func([]byte)) {
	defer close(p.stopped)
	for {
		select {
		case <-p.done:
			return
		case f := <-p.queue:
			deliver(f)
			p.received.Add(1)
			p.sw.putBuf(f)
		}
	}
}

// Send forwards a frame from the NIC. It never blocks on other ports.
func (p *Port) Send(frame []byte) {
	if len(frame) < ethMinFrame {
		return
	}
	p.sent.Add(1)
	p.sw.forward(p, frame)
}

// enqueue queues a copy of frame for this port, or drops it when the queue
// is full. sw.mu held, so the port is still connected.
func (p *Port) enqueue(frame []byte) {
	buf := p.sw.getBuf(len(frame))
	copy(buf, frame)
	select {
	case p.queue <- buf:
	default:
		p.dropped.Add(1)
		p.sw.putBuf(buf)
	}
}

// Close disconnects the port and waits for its delivery goroutine, so the
// receiver is not called afterwards (a receiver must therefore not block).
func (p *Port) Close() error {
	p.sw.disconnect(p)
	p.stopOnce.Do(func() { close(p.done) })
	if p.started.Load() {
		<-p.stopped
	}
	return nil
}

func (s *Switch) getBuf(n int) []byte {
	if n <= poolFrameCap {
		if b, ok := s.bufs.Get().(*[]byte); ok {
			return (*b)[:n]
		}
		return make([]byte, n, poolFrameCap)
	}
	return make([]byte, n)
}

func (s *Switch) putBuf(b []byte) {
	if cap(b) == poolFrameCap {
		b = b[:0]
		s.bufs.Put(&b)
	}
}
