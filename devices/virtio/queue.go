package virtio

import (
	"encoding/binary"
	"fmt"

	"github.com/popek-vm/popek/mem"
)

// queueOwner is what a Queue needs from its transport.
type queueOwner interface {
	// halted reports that the worker must stop or the device is broken.
	halted() bool
	// fail puts the device into DEVICE_NEEDS_RESET.
	fail(err error)
	// usedBufferNotify raises the used buffer interrupt.
	usedBufferNotify()
}

// Queue is one split virtqueue. The transport programs it from the queue
// registers; the device uses Pop, Push, PushHead and Signal on its worker
// goroutine only.
type Queue struct {
	index   int
	maxSize uint16
	owner   queueOwner
	ram     *mem.RAM

	// Registers as the driver wrote them.
	size               uint16
	regReady           bool
	desc, avail, used  uint64
	eventIdx, indirect bool

	// live is set while the device may access the rings: the driver enabled
	// the queue and its layout passed validation.
	live     bool
	descMem  []byte
	availMem []byte
	usedMem  []byte

	// Ring state owned by the device.
	lastAvail     uint16
	usedIdx       uint16
	signalledUsed uint16 // used index at the last interrupt decision
	pushed        bool   // used entries added since that decision

	chain Chain
}

func newQueue(index int, maxSize uint16, owner queueOwner, ram *mem.RAM, features uint64) *Queue {
	return &Queue{
		index:    index,
		maxSize:  maxSize,
		owner:    owner,
		ram:      ram,
		size:     maxSize,
		eventIdx: features&FeatureEventIdx != 0,
		indirect: features&FeatureIndirectDesc != 0,
		chain:    Chain{ram: ram},
	}
}

// Index is the queue's number on its device.
func (q *Queue) Index() int { return q.index }

// Size is the number of ring entries the driver chose.
func (q *Queue) Size() uint16 { return q.size }

// Ready reports whether the driver enabled the queue with a valid layout.
func (q *Queue) Ready() bool { return q.live }

// enable validates the layout the driver programmed and makes the rings
// accessible, starting both indices at zero as a fresh ring does.
func (q *Queue) enable() error {
	n := uint64(q.size)
	switch {
	case q.size == 0 || q.size > q.maxSize || q.size&(q.size-1) != 0:
		return fmt.Errorf("queue %d: size %d is not a power of two up to %d", q.index, q.size, q.maxSize)
	case q.desc%16 != 0 || q.avail%2 != 0 || q.used%4 != 0:
		return fmt.Errorf("queue %d: misaligned rings desc=%#x avail=%#x used=%#x", q.index, q.desc, q.avail, q.used)
	}
	var ok1, ok2, ok3 bool
	q.descMem, ok1 = q.ram.Slice(q.desc, 16*n)
	q.availMem, ok2 = q.ram.Slice(q.avail, 6+2*n)
	q.usedMem, ok3 = q.ram.Slice(q.used, 6+8*n)
	if !ok1 || !ok2 || !ok3 {
		q.descMem, q.availMem, q.usedMem = nil, nil, nil
		return fmt.Errorf("queue %d: rings outside RAM desc=%#x avail=%#x used=%#x size %d", q.index, q.desc, q.avail, q.used, q.size)
	}
	q.lastAvail, q.usedIdx, q.signalledUsed, q.pushed = 0, 0, 0, false
	q.live = true
	return nil
}

func (q *Queue) disable() {
	q.live = false
	q.descMem, q.availMem, q.usedMem = nil, nil, nil
}

// Pop returns the next available chain. It returns false when the ring is
// empty, when the transport is stopping the worker, or when the ring is
// malformed (the device then needs a reset). The chain stays valid until the
// next Pop on this queue.
func (q *Queue) Pop() (*Chain, bool) {
	if !q.live || q.owner.halted() {
		return nil, false
	}
	availIdx := load16(q.ram, q.avail+2)
	if availIdx == q.lastAvail {
		if !q.eventIdx {
			return nil, false
		}
		// Ask for a notification when the driver adds the next buffer, then
		// look again: it may have added one before seeing avail_event.
		store16(q.ram, q.used+4+8*uint64(q.size), q.lastAvail)
		q.ram.MarkDirtyRange(q.used+4+8*uint64(q.size), 2)
		availIdx = load16(q.ram, q.avail+2)
		if availIdx == q.lastAvail {
			return nil, false
		}
	}
	if pending := availIdx - q.lastAvail; pending > q.size {
		q.owner.fail(fmt.Errorf("queue %d: avail index %d is %d entries ahead of %d, queue size %d", q.index, availIdx, pending, q.lastAvail, q.size))
		return nil, false
	}
	slot := 4 + 2*uint64(q.lastAvail&(q.size-1))
	head := binary.LittleEndian.Uint16(q.availMem[slot:])
	if err := q.walk(head); err != nil {
		q.owner.fail(err)
		return nil, false
	}
	q.lastAvail++
	return &q.chain, true
}

// walk decodes the chain starting at head into q.chain, checking every
// descriptor against the queue size, the RAM and the spec's rules.
func (q *Queue) walk(head uint16) error {
	c := &q.chain
	c.Head = head
	c.Segments = c.Segments[:0]
	c.readable, c.writable = 0, 0
	if head >= q.size {
		return fmt.Errorf("queue %d: head descriptor %d out of range (size %d)", q.index, head, q.size)
	}
	i := head
	for count := 0; ; count++ {
		if count >= int(q.size) {
			return fmt.Errorf("queue %d: descriptor chain from %d loops or exceeds queue size", q.index, head)
		}
		d := q.descMem[16*uint64(i):]
		addr := binary.LittleEndian.Uint64(d)
		length := binary.LittleEndian.Uint32(d[8:])
		flags := binary.LittleEndian.Uint16(d[12:])
		next := binary.LittleEndian.Uint16(d[14:])
		if flags&descFIndirect != 0 {
			if !q.indirect {
				return fmt.Errorf("queue %d: indirect descriptor %d without VIRTIO_F_INDIRECT_DESC", q.index, i)
			}
			if flags&descFNext != 0 {
				return fmt.Errorf("queue %d: descriptor %d is indirect and chained", q.index, i)
			}
			return q.walkIndirect(addr, length)
		}
		if err := q.addSegment(addr, length, flags&descFWrite != 0); err != nil {
			return err
		}
		if flags&descFNext == 0 {
			return nil
		}
		if next >= q.size {
			return fmt.Errorf("queue %d: descriptor %d links to %d, out of range (size %d)", q.index, i, next, q.size)
		}
		i = next
	}
}

// walkIndirect decodes an indirect table: at most its length/16 entries,
// none of them indirect again.
func (q *Queue) walkIndirect(addr uint64, length uint32) error {
	if length == 0 || length%16 != 0 || length/16 > MaxIndirectDescriptors {
		return fmt.Errorf("queue %d: indirect table length %d invalid", q.index, length)
	}
	table, ok := q.ram.Slice(addr, uint64(length))
	if !ok {
		return fmt.Errorf("queue %d: indirect table %#x+%d outside RAM", q.index, addr, length)
	}
	n := uint16(length / 16)
	var i uint16
	for count := uint16(0); ; count++ {
		if count >= n {
			return fmt.Errorf("queue %d: indirect chain loops", q.index)
		}
		d := table[16*uint64(i):]
		flags := binary.LittleEndian.Uint16(d[12:])
		if flags&descFIndirect != 0 {
			return fmt.Errorf("queue %d: nested indirect descriptor", q.index)
		}
		if err := q.addSegment(binary.LittleEndian.Uint64(d), binary.LittleEndian.Uint32(d[8:]), flags&descFWrite != 0); err != nil {
			return err
		}
		if flags&descFNext == 0 {
			return nil
		}
		i = binary.LittleEndian.Uint16(d[14:])
		if i >= n {
			return fmt.Errorf("queue %d: indirect descriptor links to %d of %d", q.index, i, n)
		}
	}
}

func (q *Queue) addSegment(addr uint64, length uint32, write bool) error {
	c := &q.chain
	if write {
		c.writable += uint64(length)
	} else {
		if c.writable != 0 {
			return fmt.Errorf("queue %d: readable descriptor after a writable one", q.index)
		}
		c.readable += uint64(length)
	}
	if c.readable+c.writable > MaxChainBytes {
		return fmt.Errorf("queue %d: chain longer than %d bytes", q.index, MaxChainBytes)
	}
	if length == 0 {
		return nil
	}
	if !q.ram.Contains(addr, uint64(length)) {
		return fmt.Errorf("queue %d: buffer %#x+%d outside RAM", q.index, addr, length)
	}
	c.Segments = append(c.Segments, Segment{Addr: addr, Len: length, Write: write})
	return nil
}

// Push returns a chain to the driver, reporting that the device wrote the
// first written bytes of its writable stream (clamped to Writable). Those
// pages are marked dirty. Push works while the worker is stopping, so a
// device always completes the request it popped.
func (q *Queue) Push(c *Chain, written uint64) {
	written = min(written, c.writable)
	c.markWritten(written)
	q.pushUsed(c.Head, uint32(written))
}

// PushHead returns a chain the device kept across Pops (for example the
// balloon's statistics buffer) without having written to it.
func (q *Queue) PushHead(head uint16) {
	if head < q.size {
		q.pushUsed(head, 0)
	}
}

func (q *Queue) pushUsed(head uint16, written uint32) {
	if !q.live {
		return
	}
	off := 4 + 8*uint64(q.usedIdx&(q.size-1))
	binary.LittleEndian.PutUint32(q.usedMem[off:], uint32(head))
	binary.LittleEndian.PutUint32(q.usedMem[off+4:], written)
	q.ram.MarkDirtyRange(q.used+off, 8)
	q.usedIdx++
	store16(q.ram, q.used+2, q.usedIdx) // after the entry: release
	q.ram.MarkDirtyRange(q.used+2, 2)
	q.pushed = true
}

// Signal raises the used buffer interrupt if buffers were pushed since the
// last decision and the driver asked for one (used_event with EVENT_IDX,
// else the absence of VRING_AVAIL_F_NO_INTERRUPT). The transport calls it
// after every Notify; long-running devices may call it in between.
func (q *Queue) Signal() {
	if !q.pushed || !q.live {
		return
	}
	q.pushed = false
	var need bool
	if q.eventIdx {
		// store16 of used.idx was a full barrier, so this read is not stale.
		event := load16(q.ram, q.avail+4+2*uint64(q.size))
		need = needEvent(event, q.usedIdx, q.signalledUsed)
		q.signalledUsed = q.usedIdx
	} else {
		need = load16(q.ram, q.avail)&availFNoInterrupt == 0
	}
	if need {
		q.owner.usedBufferNotify()
	}
}

// needEvent is vring_need_event: has the index moved past event since old?
func needEvent(event, newIdx, old uint16) bool {
	return newIdx-event-1 < newIdx-old
}
