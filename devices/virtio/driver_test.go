package virtio

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/popek-vm/popek/mem"
)

// This file is the driver side of the tests: a Go model of what a guest
// driver does through the registers and the rings in guest RAM.

const testRAMBase = 0x80000000

type fakeIRQ struct {
	level  atomic.Bool
	raised atomic.Int32 // low-to-high transitions
}

func (f *fakeIRQ) SetLevel(high bool) {
	if high && !f.level.Swap(true) {
		f.raised.Add(1)
	}
	if !high {
		f.level.Store(false)
	}
}

// testQueue is the driver's view of one virtqueue.
type testQueue struct {
	size              uint16
	desc, avail, used uint64
	nextDesc          uint16
	availIdx          uint16
	lastUsed          uint16
}

type testDriver struct {
	t      testing.TB
	ram    *mem.RAM
	m      *MMIO
	irq    *fakeIRQ
	queues []*testQueue
	next   uint64 // bump allocator over guest RAM
}

func newTestRAM(t testing.TB, size uint64) *mem.RAM {
	ram, err := mem.New(testRAMBase, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ram.Close() })
	return ram
}

func newTestDriver(t *testing.T, dev Device) *testDriver {
	ram := newTestRAM(t, 4<<20)
	return newTestDriverRAM(t, dev, ram)
}

func newTestDriverRAM(t *testing.T, dev Device, ram *mem.RAM) *testDriver {
	irq := &fakeIRQ{}
	m := NewMMIO(dev, ram, irq)
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testDriver{t: t, ram: ram, m: m, irq: irq, next: testRAMBase}
}

func (d *testDriver) reg(off uint64) uint32       { return uint32(d.m.Read(off, 4)) }
func (d *testDriver) setReg(off uint64, v uint32) { d.m.Write(off, 4, uint64(v)) }

// alloc returns zeroed guest memory aligned to align.
func (d *testDriver) alloc(n, align uint64) uint64 {
	a := (d.next + align - 1) &^ (align - 1)
	d.next = a + n
	if !d.ram.Contains(a, n) {
		d.t.Fatalf("test RAM exhausted")
	}
	b, _ := d.ram.Slice(a, n)
	clear(b)
	return a
}

func (d *testDriver) mem(addr, n uint64) []byte {
	b, ok := d.ram.Slice(addr, n)
	if !ok {
		d.t.Fatalf("address %#x+%d outside RAM", addr, n)
	}
	return b
}

func (d *testDriver) put(addr uint64, p []byte) { copy(d.mem(addr, uint64(len(p))), p) }

func (d *testDriver) deviceFeatures() uint64 {
	d.setReg(regDeviceFeatSel, 1)
	hi := uint64(d.reg(regDeviceFeatures))
	d.setReg(regDeviceFeatSel, 0)
	return hi<<32 | uint64(d.reg(regDeviceFeatures))
}

// negotiate runs the status handshake up to FEATURES_OK and reports whether
// the device accepted the features.
func (d *testDriver) negotiate(features uint64) bool {
	d.setReg(regStatus, 0)
	d.setReg(regStatus, StatusAcknowledge)
	d.setReg(regStatus, StatusAcknowledge|StatusDriver)
	d.setReg(regDriverFeatSel, 1)
	d.setReg(regDriverFeatures, uint32(features>>32))
	d.setReg(regDriverFeatSel, 0)
	d.setReg(regDriverFeatures, uint32(features))
	d.setReg(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK)
	return d.reg(regStatus)&StatusFeaturesOK != 0
}

// setupQueue lays out queue i like Linux does (desc, avail, then used on
// the next page) and enables it.
func (d *testDriver) setupQueue(i int, size uint16) *testQueue {
	d.setReg(regQueueSel, uint32(i))
	if d.reg(regQueueReady) != 0 {
		d.t.Fatalf("queue %d already ready", i)
	}
	if max := d.reg(regQueueNumMax); max == 0 || uint32(size) > max {
		d.t.Fatalf("queue %d: max size %d, want %d", i, max, size)
	}
	n := uint64(size)
	q := &testQueue{size: size}
	q.desc = d.alloc(16*n+6+2*n, 4096)
	q.avail = q.desc + 16*n
	q.used = d.alloc(6+8*n, 4096)
	d.setReg(regQueueNum, uint32(size))
	d.setReg(regQueueDescLow, uint32(q.desc))
	d.setReg(regQueueDescHigh, uint32(q.desc>>32))
	d.setReg(regQueueDriverLow, uint32(q.avail))
	d.setReg(regQueueDriverHigh, uint32(q.avail>>32))
	d.setReg(regQueueDeviceLow, uint32(q.used))
	d.setReg(regQueueDeviceHigh, uint32(q.used>>32))
	d.setReg(regQueueReady, 1)
	for len(d.queues) <= i {
		d.queues = append(d.queues, nil)
	}
	d.queues[i] = q
	return q
}

// start negotiates features, sets up every queue the device has with size
// and sets DRIVER_OK.
func (d *testDriver) start(features uint64, size uint16) {
	if !d.negotiate(features) {
		d.t.Fatalf("device refused features %#x: %v", features, d.m.Err())
	}
	for i := 0; ; i++ {
		d.setReg(regQueueSel, uint32(i))
		max := d.reg(regQueueNumMax)
		if max == 0 {
			break
		}
		d.setupQueue(i, min(size, uint16(max)))
	}
	d.setReg(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK)
	if s := d.reg(regStatus); s&StatusDeviceNeedsReset != 0 {
		d.t.Fatalf("device needs reset after start: %v", d.m.Err())
	}
}

// buf is one buffer of a request: data to send, or room for the device.
type buf struct {
	data  []byte // readable contents
	write uint32 // > 0: a device-writable buffer of this size
}

func out(p []byte) buf { return buf{data: p} }
func in(n uint32) buf  { return buf{write: n} }

// req is a submitted request: the guest addresses of its buffers.
type req struct {
	head  uint16
	addrs []uint64
	bufs  []buf
}

// written returns what the device put in writable buffer i.
func (d *testDriver) written(r req, i int) []byte {
	return append([]byte(nil), d.mem(r.addrs[i], uint64(r.bufs[i].write))...)
}

func (d *testDriver) writeDesc(table uint64, i uint16, addr uint64, length uint32, flags, next uint16) {
	e := d.mem(table+16*uint64(i), 16)
	binary.LittleEndian.PutUint64(e, addr)
	binary.LittleEndian.PutUint32(e[8:], length)
	binary.LittleEndian.PutUint16(e[12:], flags)
	binary.LittleEndian.PutUint16(e[14:], next)
}

// submit places a request on queue qi, direct or through an indirect table,
// and publishes it in the avail ring (without notifying).
func (d *testDriver) submit(qi int, indirect bool, bufs ...buf) req {
	q := d.queues[qi]
	r := req{bufs: bufs}
	for _, b := range bufs {
		if b.write > 0 {
			align := uint64(8)
			if b.write%4096 == 0 { // whole pages, as the balloon reports them
				align = 4096
			}
			r.addrs = append(r.addrs, d.alloc(uint64(b.write), align))
		} else {
			a := d.alloc(uint64(len(b.data)), 8)
			d.put(a, b.data)
			r.addrs = append(r.addrs, a)
		}
	}
	descFor := func(i int) (uint64, uint32, uint16) {
		if bufs[i].write > 0 {
			return r.addrs[i], bufs[i].write, descFWrite
		}
		return r.addrs[i], uint32(len(bufs[i].data)), 0
	}
	if indirect {
		table := d.alloc(16*uint64(len(bufs)), 16)
		for i := range bufs {
			a, l, f := descFor(i)
			if i+1 < len(bufs) {
				f |= descFNext
			}
			d.writeDesc(table, uint16(i), a, l, f, uint16(i+1))
		}
		r.head = q.nextDesc
		d.writeDesc(q.desc, r.head, table, uint32(16*len(bufs)), descFIndirect, 0)
		q.nextDesc = (q.nextDesc + 1) % q.size
	} else {
		r.head = q.nextDesc
		for i := range bufs {
			a, l, f := descFor(i)
			cur := q.nextDesc
			q.nextDesc = (q.nextDesc + 1) % q.size
			if i+1 < len(bufs) {
				f |= descFNext
			}
			d.writeDesc(q.desc, cur, a, l, f, q.nextDesc)
		}
	}
	d.publish(qi, r.head)
	return r
}

// publish adds head to the avail ring and bumps avail.idx.
func (d *testDriver) publish(qi int, head uint16) {
	q := d.queues[qi]
	binary.LittleEndian.PutUint16(d.mem(q.avail+4+2*uint64(q.availIdx%q.size), 2), head)
	q.availIdx++
	store16(d.ram, q.avail+2, q.availIdx)
}

func (d *testDriver) kick(qi int) { d.setReg(regQueueNotify, uint32(qi)) }

func (d *testDriver) usedIdx(qi int) uint16 { return load16(d.ram, d.queues[qi].used+2) }

// waitUsed waits until the device has used n more buffers on queue qi and
// returns their (id, len) pairs. The deadline only guards against a hang.
func (d *testDriver) waitUsed(qi, n int) [][2]uint32 {
	d.t.Helper()
	q := d.queues[qi]
	deadline := time.Now().Add(10 * time.Second)
	for int(d.usedIdx(qi)-q.lastUsed) < n {
		if time.Now().After(deadline) {
			d.t.Fatalf("queue %d: device used %d buffers, want %d (status %#x, err %v)",
				qi, d.usedIdx(qi)-q.lastUsed, n, d.reg(regStatus), d.m.Err())
		}
		time.Sleep(100 * time.Microsecond)
	}
	var elems [][2]uint32
	for range n {
		e := d.mem(q.used+4+8*uint64(q.lastUsed%q.size), 8)
		elems = append(elems, [2]uint32{binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])})
		q.lastUsed++
	}
	return elems
}

// call submits a request, notifies and waits for its completion.
func (d *testDriver) call(qi int, indirect bool, bufs ...buf) (req, uint32) {
	d.t.Helper()
	r := d.submit(qi, indirect, bufs...)
	d.kick(qi)
	e := d.waitUsed(qi, 1)[0]
	if e[0] != uint32(r.head) {
		d.t.Fatalf("used id %d, want head %d", e[0], r.head)
	}
	return r, e[1]
}

// waitBroken waits for DEVICE_NEEDS_RESET.
func (d *testDriver) waitBroken() {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for d.reg(regStatus)&StatusDeviceNeedsReset == 0 {
		if time.Now().After(deadline) {
			d.t.Fatal("device never entered DEVICE_NEEDS_RESET")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// waitFor waits until cond holds. The deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}
