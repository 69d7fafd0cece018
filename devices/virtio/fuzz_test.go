package virtio

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeOwner stands in for the transport when a Queue is driven directly.
type fakeOwner struct {
	broken     bool
	err        error
	interrupts int
}

func (f *fakeOwner) halted() bool      { return f.broken }
func (f *fakeOwner) fail(err error)    { f.broken, f.err = true, err }
func (f *fakeOwner) usedBufferNotify() { f.interrupts++ }

const (
	fuzzRAMSize = 64 << 10
	fuzzDesc    = testRAMBase
	fuzzAvail   = testRAMBase + 0x1000
	fuzzUsed    = testRAMBase + 0x2000
)

// FuzzVirtqueue feeds arbitrary descriptor tables, rings and indices to the
// walker: it must never panic, never hand a device a buffer outside RAM or
// break the spec's rules, and the device side must write nothing but the
// used ring and the writable buffers it was given.
func FuzzVirtqueue(f *testing.F) {
	f.Add([]byte{3, 1, 0, 0, 0, 0x0f}, []byte{})
	// A valid one-descriptor request at head 0.
	valid := make([]byte, 0x3000)
	binary.LittleEndian.PutUint64(valid[0:], testRAMBase+0x4000)
	binary.LittleEndian.PutUint32(valid[8:], 64)
	binary.LittleEndian.PutUint16(valid[12:], descFWrite)
	f.Add([]byte{4, 1, 0, 0, 0, 0x03}, valid)
	// An indirect table in RAM pointing back at the rings.
	ind := bytes.Clone(valid)
	binary.LittleEndian.PutUint64(ind[0:], testRAMBase+0x3000)
	binary.LittleEndian.PutUint32(ind[8:], 48)
	binary.LittleEndian.PutUint16(ind[12:], descFIndirect)
	f.Add([]byte{4, 1, 0, 0, 0, 0x03}, append(ind, valid[:48]...))
	f.Fuzz(fuzzVirtqueueOnce)
}

func fuzzVirtqueueOnce(t *testing.T, ctl []byte, memory []byte) {
	if len(ctl) < 6 {
		return
	}
	ram := newTestRAM(t, fuzzRAMSize)
	copy(ram.Bytes(), memory)
	size := uint16(1) << (ctl[0] % 9) // 1..256
	// Bit 7 of a descriptor's flags pulls its address into (or just
	// past) RAM, so the fuzzer reaches the deeper checks.
	for i := uint64(0); i < uint64(size); i++ {
		d := ram.Bytes()[16*i:]
		if binary.LittleEndian.Uint16(d[12:])&0x80 != 0 {
			a := binary.LittleEndian.Uint64(d)
			binary.LittleEndian.PutUint64(d, testRAMBase+a%(fuzzRAMSize+64))
		}
	}
	binary.LittleEndian.PutUint16(ram.Bytes()[0x1002:], binary.LittleEndian.Uint16(ctl[1:]))
	before := bytes.Clone(ram.Bytes())

	owner := &fakeOwner{}
	q := newQueue(0, 256, owner, ram, uint64(ctl[5])<<28&(FeatureIndirectDesc|FeatureEventIdx))
	q.size, q.desc, q.avail, q.used = size, fuzzDesc, fuzzAvail, fuzzUsed
	if err := q.enable(); err != nil {
		t.Fatal(err)
	}
	q.lastAvail = binary.LittleEndian.Uint16(ctl[3:])
	q.usedIdx = q.lastAvail

	// Ranges the device may write, as a difference array over RAM.
	allowed := make([]int32, fuzzRAMSize+1)
	allow := func(a, n uint64) {
		allowed[a-testRAMBase]++
		allowed[a-testRAMBase+n]--
	}
	allow(fuzzUsed, 6+8*uint64(size))
	for range 2*int(size) + 2 {
		c, ok := q.Pop()
		if !ok {
			break
		}
		checkChain(t, ram.End(), c, size)
		for _, s := range c.Segments {
			if s.Write {
				allow(s.Addr, uint64(s.Len))
			}
		}
		junk := make([]byte, min(c.Writable(), 4096))
		for i := range junk {
			junk[i] = 0xee
		}
		c.WriteAt(junk, 0)
		c.ReadAt(make([]byte, min(c.Readable(), 4096)), 0)
		q.Push(c, c.Writable())
		q.Signal()
	}
	if owner.broken && owner.err == nil {
		t.Fatal("broken without an error")
	}
	if _, ok := q.Pop(); ok && owner.broken {
		t.Fatal("Pop succeeded on a broken device")
	}
	depth := int32(0)
	for i, b := range ram.Bytes() {
		depth += allowed[i]
		if b != before[i] && depth == 0 {
			t.Fatalf("device wrote %#x, outside the used ring and writable buffers", testRAMBase+i)
		}
	}
}

func checkChain(t *testing.T, ramEnd uint64, c *Chain, size uint16) {
	t.Helper()
	if c.Head >= size {
		t.Fatalf("head %d >= size %d", c.Head, size)
	}
	var r, w uint64
	seenWrite := false
	for _, s := range c.Segments {
		if s.Addr < testRAMBase || s.Addr+uint64(s.Len) > ramEnd || s.Addr+uint64(s.Len) < s.Addr {
			t.Fatalf("segment %#x+%d outside RAM", s.Addr, s.Len)
		}
		if s.Write {
			seenWrite = true
			w += uint64(s.Len)
		} else {
			if seenWrite {
				t.Fatal("readable segment after a writable one")
			}
			r += uint64(s.Len)
		}
	}
	if r != c.Readable() || w != c.Writable() || r+w > MaxChainBytes {
		t.Fatalf("lengths %d/%d, chain says %d/%d", r, w, c.Readable(), c.Writable())
	}
	if len(c.Segments) > int(size)+MaxIndirectDescriptors {
		t.Fatalf("%d segments", len(c.Segments))
	}
}

// FuzzMMIORegisters drives a device's register window (and the guest memory
// its rings live in) with arbitrary operations: no sequence may panic,
// deadlock, or crash the device model.
func FuzzMMIORegisters(f *testing.F) {
	// An operation is 8 bytes: kind, register/config offset, a 16-bit RAM
	// word index and a 32-bit value.
	op := func(kind, reg byte, word uint16, val uint32) []byte {
		b := []byte{kind, reg, 0, 0, 0, 0, 0, 0}
		binary.LittleEndian.PutUint16(b[2:], word)
		binary.LittleEndian.PutUint32(b[4:], val)
		return b
	}
	w := func(reg byte, val uint32) []byte { return op(0, reg, 0, val) }
	var init []byte
	for _, o := range [][]byte{
		w(regStatus/4, 3), w(regDriverFeatSel/4, 1), w(regDriverFeatures/4, 1),
		w(regStatus/4, 11), w(regQueueSel/4, 0), w(regQueueNum/4, 16),
		w(regQueueDescLow/4, testRAMBase), w(regQueueDriverLow/4, testRAMBase+0x1000),
		w(regQueueDeviceLow/4, testRAMBase+0x2000), w(regQueueReady/4, 1),
		w(regStatus/4, 15),
		// descriptor 0: 64 writable bytes at 0x4000; avail ring: idx 1, head 0
		op(2, 0, 0, testRAMBase+0x4000), op(2, 0, 2, 64), op(2, 0, 3, descFWrite),
		op(2, 0, 0x1000/4, 1<<16), w(regQueueNotify/4, 0),
	} {
		init = append(init, o...)
	}
	for dev := byte(0); dev < 4; dev++ {
		f.Add(dev, init)
	}
	f.Add(byte(1), append(bytes.Clone(init), w(regStatus/4, 0)...))
	f.Add(byte(3), append(bytes.Clone(init), op(3, 0, 0, 0)...))
	f.Fuzz(func(t *testing.T, which byte, ops []byte) {
		ram := newTestRAM(t, fuzzRAMSize)
		var dev Device
		switch which % 4 {
		case 0:
			dev = NewRNG()
		case 1:
			dev = NewConsole(&syncBuffer{})
		case 2:
			dev = NewBalloon(ram)
		case 3:
			p := filepath.Join(t.TempDir(), "disk")
			os.WriteFile(p, make([]byte, 64<<10), 0o644)
			b, err := NewBlock(BlockConfig{Path: p, Serial: "fuzz"})
			if err != nil {
				t.Fatal(err)
			}
			dev = b
		}
		m := NewMMIO(dev, ram, &fakeIRQ{})
		for len(ops) >= 8 {
			kind, reg := ops[0], ops[1]
			word, val := binary.LittleEndian.Uint16(ops[2:]), binary.LittleEndian.Uint32(ops[4:])
			ops = ops[8:]
			switch kind % 6 {
			case 0:
				m.Write(uint64(reg)*4, 4, uint64(val))
			case 1:
				m.Read(uint64(reg)*4, 4)
			case 2: // guest memory, one 32-bit word
				binary.LittleEndian.PutUint32(ram.Bytes()[uint32(word)*4%fuzzRAMSize:], val)
			case 3:
				m.Quiesce()
				st := m.SaveState()
				m.Resume()
				if err := m.RestoreState(st); err != nil {
					t.Fatalf("restoring a just-saved state: %v", err)
				}
			case 4:
				m.Write(regConfig+uint64(reg), 1<<(val%4), uint64(val))
			case 5:
				m.Read(regConfig+uint64(reg), 1<<(val%4))
			}
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Err(); err != nil && strings.Contains(err.Error(), "panicked") {
			t.Fatal(err)
		}
	})
}
