package virtio

import "encoding/binary"

// deliver copies waiting frames into the driver's receive buffers until
// either runs out. A frame that finds too few buffers stays queued and the
// buffers go back to the ring, so nothing is lost while the guest is slow.
func (n *Net) deliver(q *Queue) {
	for {
		n.mu.Lock()
		if len(n.pending) == 0 {
			n.mu.Unlock()
			return
		}
		// Only this worker removes frames (Reset and RestoreState run with
		// it stopped), so the head stays valid after unlocking.
		frame, mergeable := n.pending[0], n.mergeable
		n.mu.Unlock()

		switch n.deliverFrame(q, frame, mergeable) {
		case rxNoBuffers:
			return
		case rxTooSmall:
			n.stats.rxDropped.Add(1)
		case rxDelivered:
			n.stats.rxPackets.Add(1)
			n.stats.rxBytes.Add(uint64(len(frame)))
		}
		n.mu.Lock()
		n.pending[0] = nil
		n.pending = n.pending[1:]
		n.pendingBytes -= len(frame)
		n.recycle(frame)
		n.mu.Unlock()
	}
}

type rxResult int

const (
	rxDelivered rxResult = iota
	rxNoBuffers          // the ring ran dry; retry when the driver adds buffers
	rxTooSmall           // without MRG_RXBUF the next buffer cannot hold the frame
)

// deliverFrame writes the header and frame into one receive chain, or with
// MRG_RXBUF into as many as it needs, and returns them all to the driver.
func (n *Net) deliverFrame(q *Queue, frame []byte, mergeable bool) rxResult {
	need := uint64(netHdrLen + len(frame))
	chains := n.rxChains[:0]
	var room uint64
	for room < need {
		c, ok := q.Pop()
		if !ok {
			n.rxChains = chains
			unpop(q, len(chains))
			return rxNoBuffers
		}
		chains = n.holdRx(chains, c)
		room += c.Writable()
		if !mergeable {
			break
		}
	}
	n.rxChains = chains
	if room < need {
		// The buffer stays in the ring for a smaller frame.
		unpop(q, len(chains))
		return rxTooSmall
	}

	var hdr [netHdrLen]byte
	binary.LittleEndian.PutUint16(hdr[10:], uint16(len(chains))) // num_buffers
	lens := n.rxLens[:0]
	var off uint64 // into the stream hdr || frame
	for i := range chains {
		c := &chains[i]
		take := min(c.Writable(), need-off)
		var w uint64
		if off < netHdrLen {
			h := min(take, netHdrLen-off)
			w += uint64(c.WriteAt(hdr[off:off+h], 0))
		}
		if w < take {
			fo := off + w - netHdrLen
			w += uint64(c.WriteAt(frame[fo:fo+take-w], w))
		}
		lens = append(lens, w)
		off += w
	}
	n.rxLens = lens
	for i := range chains {
		q.Push(&chains[i], lens[i])
	}
	return rxDelivered
}

// holdRx copies c into the reusable chain slots: Pop overwrites the
// chain it returns, and a merged frame needs several at once.
func (n *Net) holdRx(chains []Chain, c *Chain) []Chain {
	i := len(chains)
	if i < cap(chains) {
		chains = chains[:i+1]
	} else {
		chains = append(chains, Chain{})
	}
	segs := chains[i].Segments[:0]
	chains[i] = *c
	chains[i].Segments = append(segs, c.Segments...)
	return chains
}

// unpop hands the last k popped chains back to the avail ring, unused, as if
// they had never been taken. It relies on the driver not touching chains it
// gave to the device, which the spec guarantees until they are used.
// (A Queue.Unpop in queue.go would be the natural home for this.)
func unpop(q *Queue, k int) {
	q.lastAvail -= uint16(k)
}
