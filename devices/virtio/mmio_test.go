package virtio

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestMMIOIdentityRegisters(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	cases := []struct {
		name string
		off  uint64
		size int
		want uint64
	}{
		{"magic", regMagic, 4, 0x74726976},
		{"version", regVersion, 4, 2},
		{"device id", regDeviceID, 4, DeviceEntropy},
		{"vendor", regVendorID, 4, VendorID},
		{"shm len low", regSHMLenLow, 4, 0xffffffff},
		{"shm len high", regSHMLenHigh, 4, 0xffffffff},
		{"shm base low", regSHMBaseLow, 4, 0xffffffff},
		{"shm base high", regSHMBaseHigh, 4, 0xffffffff},
		{"byte read of a register", regMagic, 1, 0},
		{"misaligned register", regMagic + 2, 4, 0},
		{"legacy QueuePFN", 0x040, 4, 0},
		{"queue num max before FEATURES_OK", regQueueNumMax, 4, 0},
		{"status at start", regStatus, 4, 0},
		{"config past the window", MMIOSize - 2, 4, 0},
	}
	for _, c := range cases {
		if got := d.m.Read(c.off, c.size); got != c.want {
			t.Errorf("%s: read %#x/%d = %#x, want %#x", c.name, c.off, c.size, got, c.want)
		}
	}
	d.setReg(regSHMSel, 3)
	if got := d.reg(regSHMLenLow); got != 0xffffffff {
		t.Errorf("shm region 3 length low = %#x, want absent", got)
	}
}

func TestDeviceFeaturesWindow(t *testing.T) {
	d := newTestDriver(t, NewBalloon(newTestRAM(t, 1<<20)))
	want := uint64(NewBalloon(nil).Features()) | transportFeatures
	for sel, w := range []uint32{uint32(want), uint32(want >> 32), 0} {
		d.setReg(regDeviceFeatSel, uint32(sel))
		if got := d.reg(regDeviceFeatures); got != w {
			t.Errorf("DeviceFeatures[sel %d] = %#x, want %#x", sel, got, w)
		}
	}
}

func TestFeatureNegotiation(t *testing.T) {
	cases := []struct {
		name     string
		features uint64
		ok       bool
		errPart  string
	}{
		{"version 1 only", FeatureVersion1, true, ""},
		{"all transport features", FeatureVersion1 | FeatureEventIdx | FeatureIndirectDesc, true, ""},
		{"without VERSION_1, as xv6", FeatureEventIdx, true, ""},
		{"nothing", 0, true, ""},
		{"feature not offered", FeatureVersion1 | 1<<0, false, "did not offer"},
		{"packed ring not offered", FeatureVersion1 | 1<<34, false, "did not offer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newTestDriver(t, NewRNG())
			if got := d.negotiate(c.features); got != c.ok {
				t.Fatalf("FEATURES_OK accepted = %v, want %v (err %v)", got, c.ok, d.m.Err())
			}
			if !c.ok {
				if err := d.m.Err(); err == nil || !strings.Contains(err.Error(), c.errPart) {
					t.Errorf("error %v, want mention of %q", err, c.errPart)
				}
				d.setReg(regQueueSel, 0)
				if d.reg(regQueueNumMax) != 0 {
					t.Error("queues exist although features were refused")
				}
				return
			}
			d.setReg(regQueueSel, 0)
			if got := d.reg(regQueueNumMax); got != 64 {
				t.Errorf("QueueNumMax = %d, want 64", got)
			}
			// Features are frozen after FEATURES_OK.
			d.setReg(regDriverFeatSel, 0)
			d.setReg(regDriverFeatures, 0xffffffff)
			if st := d.m.SaveState(); st.DriverFeatures != c.features {
				t.Errorf("driver features changed after FEATURES_OK: %#x", st.DriverFeatures)
			}
		})
	}
}

func TestDriverOKWithoutFeaturesOK(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.setReg(regStatus, StatusAcknowledge|StatusDriver|StatusDriverOK)
	if s := d.reg(regStatus); s&StatusDeviceNeedsReset == 0 {
		t.Fatalf("status %#x: DRIVER_OK without FEATURES_OK accepted", s)
	}
}

func TestResetClearsEverything(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	d.call(0, false, in(32))
	if d.reg(regInterruptStatus) == 0 || !d.irq.level.Load() {
		t.Fatal("no interrupt after a used buffer")
	}
	d.setReg(regStatus, 0)
	checks := []struct {
		name string
		off  uint64
	}{
		{"status", regStatus},
		{"interrupt status", regInterruptStatus},
		{"queue num max", regQueueNumMax},
		{"queue ready", regQueueReady},
	}
	d.setReg(regQueueSel, 0)
	for _, c := range checks {
		if got := d.reg(c.off); got != 0 {
			t.Errorf("%s = %#x after reset, want 0", c.name, got)
		}
	}
	if d.irq.level.Load() {
		t.Error("interrupt line still high after reset")
	}
	// The device works again after a fresh initialisation.
	d.next = testRAMBase
	d.queues = nil
	d.start(FeatureVersion1|FeatureEventIdx, 8)
	_, n := d.call(0, false, in(16))
	if n != 16 {
		t.Errorf("used len %d after re-init, want 16", n)
	}
}

func TestInterruptAck(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	d.call(0, false, in(8))
	d.m.Quiesce() // the interrupt decision follows the used index
	defer d.m.Resume()
	if got := d.reg(regInterruptStatus); got != InterruptVring {
		t.Fatalf("InterruptStatus = %#x, want used-buffer bit", got)
	}
	d.setReg(regInterruptAck, InterruptConfig) // acking another bit changes nothing
	if !d.irq.level.Load() {
		t.Fatal("line dropped on an unrelated ack")
	}
	d.setReg(regInterruptAck, InterruptVring)
	if d.reg(regInterruptStatus) != 0 || d.irq.level.Load() {
		t.Fatal("interrupt still pending after ack")
	}
}

// setUsedEvent writes used_event (the avail ring's trailing field).
func (d *testDriver) setUsedEvent(qi int, v uint16) {
	q := d.queues[qi]
	binary.LittleEndian.PutUint16(d.mem(q.avail+4+2*uint64(q.size), 2), v)
}

func (d *testDriver) availEvent(qi int) uint16 {
	q := d.queues[qi]
	return binary.LittleEndian.Uint16(d.mem(q.used+4+8*uint64(q.size), 2))
}

func TestUsedBufferSuppression(t *testing.T) {
	cases := []struct {
		name      string
		features  uint64
		usedEvent uint16 // EVENT_IDX only
		noIntr    bool   // VRING_AVAIL_F_NO_INTERRUPT, without EVENT_IDX
		requests  int
		want      bool
	}{
		{"event idx: interrupt at first entry", FeatureVersion1 | FeatureEventIdx, 0, false, 1, true},
		{"event idx: driver waits for the 3rd entry", FeatureVersion1 | FeatureEventIdx, 2, false, 2, false},
		{"event idx: 3rd entry reached", FeatureVersion1 | FeatureEventIdx, 2, false, 3, true},
		{"event idx: far ahead", FeatureVersion1 | FeatureEventIdx, 100, false, 3, false},
		{"no event idx: flag clear", FeatureVersion1, 0, false, 1, true},
		{"no event idx: NO_INTERRUPT", FeatureVersion1, 0, true, 2, false},
		{"event idx ignores the flag", FeatureVersion1 | FeatureEventIdx, 0, true, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newTestDriver(t, NewRNG())
			d.start(c.features, 16)
			d.setUsedEvent(0, c.usedEvent)
			if c.noIntr {
				binary.LittleEndian.PutUint16(d.mem(d.queues[0].avail, 2), availFNoInterrupt)
			}
			for range c.requests {
				d.call(0, false, in(4))
			}
			d.m.Quiesce()
			defer d.m.Resume()
			got := d.reg(regInterruptStatus)&InterruptVring != 0
			if got != c.want {
				t.Fatalf("interrupt = %v, want %v", got, c.want)
			}
			if got != d.irq.level.Load() {
				t.Fatalf("line level %v disagrees with InterruptStatus", d.irq.level.Load())
			}
		})
	}
}

func TestAvailEventRequestsKicks(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1|FeatureEventIdx, 16)
	for i := 1; i <= 3; i++ {
		d.call(0, false, in(4))
		d.m.Quiesce()
		// Drained: the device asks to be kicked for the next entry.
		if got := d.availEvent(0); got != uint16(i) {
			t.Fatalf("after %d requests avail_event = %d, want %d", i, got, i)
		}
		d.m.Resume()
	}
}

func TestIndirectDescriptors(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1|FeatureIndirectDesc, 16)
	r, n := d.call(0, true, in(64), in(64))
	if n != 128 {
		t.Fatalf("used len %d, want 128", n)
	}
	if a, b := d.written(r, 0), d.written(r, 1); bytes.Equal(a, make([]byte, 64)) || bytes.Equal(b, make([]byte, 64)) {
		t.Fatal("indirect buffers not filled")
	}
}

func TestIndirectWithoutFeatureBreaks(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	d.submit(0, true, in(8))
	d.kick(0)
	d.waitBroken()
	if err := d.m.Err(); err == nil || !strings.Contains(err.Error(), "INDIRECT") {
		t.Fatalf("error %v", err)
	}
}

// hostileRing describes one malformed request written straight into queue 0.
type hostileRing struct {
	name    string
	build   func(d *testDriver) // writes descriptors and publishes
	errPart string
}

func hostileRings() []hostileRing {
	const flagsNW = descFNext | descFWrite
	return []hostileRing{
		{"self loop", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, testRAMBase, 8, flagsNW, 0)
			d.publish(0, 0)
		}, "loops"},
		{"two-descriptor loop", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, testRAMBase, 8, flagsNW, 1)
			d.writeDesc(d.queues[0].desc, 1, testRAMBase, 8, flagsNW, 0)
			d.publish(0, 0)
		}, "loops"},
		{"next out of range", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, testRAMBase, 8, flagsNW, 999)
			d.publish(0, 0)
		}, "out of range"},
		{"head out of range", func(d *testDriver) { d.publish(0, 4000) }, "out of range"},
		{"buffer outside RAM", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, 0x1000, 8, descFWrite, 0)
			d.publish(0, 0)
		}, "outside RAM"},
		{"buffer wrapping the address space", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, ^uint64(0)-3, 8, descFWrite, 0)
			d.publish(0, 0)
		}, "outside RAM"},
		{"buffer running off the end of RAM", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, d.ram.End()-4, 8, descFWrite, 0)
			d.publish(0, 0)
		}, "outside RAM"},
		{"huge lengths", func(d *testDriver) {
			for i := uint16(0); i < 2; i++ {
				d.writeDesc(d.queues[0].desc, i, testRAMBase, 0xffffffff, flagsNW, i+1)
			}
			d.publish(0, 0)
		}, "longer than"},
		{"readable after writable", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, testRAMBase, 8, flagsNW, 1)
			d.writeDesc(d.queues[0].desc, 1, testRAMBase, 8, 0, 0)
			d.publish(0, 0)
		}, "readable descriptor after"},
		{"indirect and next", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, testRAMBase, 16, descFIndirect|descFNext, 1)
			d.publish(0, 0)
		}, "indirect and chained"},
		{"indirect table outside RAM", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, 0x10, 32, descFIndirect, 0)
			d.publish(0, 0)
		}, "outside RAM"},
		{"indirect table odd length", func(d *testDriver) {
			d.writeDesc(d.queues[0].desc, 0, testRAMBase, 24, descFIndirect, 0)
			d.publish(0, 0)
		}, "length"},
		{"nested indirect", func(d *testDriver) {
			table := d.alloc(32, 16)
			d.writeDesc(table, 0, table, 32, descFIndirect, 0)
			d.writeDesc(d.queues[0].desc, 0, table, 32, descFIndirect, 0)
			d.publish(0, 0)
		}, "nested"},
		{"indirect loop", func(d *testDriver) {
			table := d.alloc(32, 16)
			d.writeDesc(table, 0, testRAMBase, 8, flagsNW, 1)
			d.writeDesc(table, 1, testRAMBase, 8, flagsNW, 0)
			d.writeDesc(d.queues[0].desc, 0, table, 32, descFIndirect, 0)
			d.publish(0, 0)
		}, "loops"},
		{"indirect next out of table", func(d *testDriver) {
			table := d.alloc(32, 16)
			d.writeDesc(table, 0, testRAMBase, 8, flagsNW, 7)
			d.writeDesc(d.queues[0].desc, 0, table, 32, descFIndirect, 0)
			d.publish(0, 0)
		}, "links to"},
		{"avail index far ahead", func(d *testDriver) {
			store16(d.ram, d.queues[0].avail+2, 1000)
		}, "ahead"},
	}
}

func TestHostileRingsNeedReset(t *testing.T) {
	for _, c := range hostileRings() {
		t.Run(c.name, func(t *testing.T) {
			d := newTestDriver(t, NewRNG())
			d.start(FeatureVersion1|FeatureIndirectDesc|FeatureEventIdx, 16)
			c.build(d)
			d.kick(0)
			d.waitBroken()
			if err := d.m.Err(); err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Fatalf("error %v, want mention of %q", err, c.errPart)
			}
			if d.reg(regInterruptStatus)&InterruptConfig == 0 {
				t.Error("no config change interrupt for DEVICE_NEEDS_RESET")
			}
			if d.usedIdx(0) != 0 {
				t.Error("device used a malformed chain")
			}
			// A reset recovers the device.
			d.next, d.queues = testRAMBase, nil
			d.start(FeatureVersion1, 8)
			if _, n := d.call(0, false, in(8)); n != 8 {
				t.Errorf("used len %d after recovery", n)
			}
		})
	}
}

func TestQueueLayoutValidation(t *testing.T) {
	cases := []struct {
		name              string
		size              uint32
		desc, avail, used uint64
	}{
		{"size not a power of two", 12, testRAMBase, testRAMBase + 0x1000, testRAMBase + 0x2000},
		{"size zero", 0, testRAMBase, testRAMBase + 0x1000, testRAMBase + 0x2000},
		{"size above max", 128, testRAMBase, testRAMBase + 0x1000, testRAMBase + 0x2000},
		{"size above 16 bits", 1 << 16, testRAMBase, testRAMBase + 0x1000, testRAMBase + 0x2000},
		{"misaligned descriptors", 16, testRAMBase + 8, testRAMBase + 0x1000, testRAMBase + 0x2000},
		{"misaligned avail", 16, testRAMBase, testRAMBase + 0x1001, testRAMBase + 0x2000},
		{"misaligned used", 16, testRAMBase, testRAMBase + 0x1000, testRAMBase + 0x2002},
		{"descriptors outside RAM", 16, 0x10000000, testRAMBase + 0x1000, testRAMBase + 0x2000},
		{"used ring in MMIO space", 16, testRAMBase, testRAMBase + 0x1000, 0x10001000},
		{"avail ring past the end of RAM", 16, testRAMBase, testRAMBase + 4<<20 - 8, testRAMBase + 0x2000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newTestDriver(t, NewRNG())
			if !d.negotiate(FeatureVersion1) {
				t.Fatal("negotiation failed")
			}
			d.setReg(regQueueSel, 0)
			d.setReg(regQueueNum, c.size)
			d.setReg(regQueueDescLow, uint32(c.desc))
			d.setReg(regQueueDescHigh, uint32(c.desc>>32))
			d.setReg(regQueueDriverLow, uint32(c.avail))
			d.setReg(regQueueDeviceLow, uint32(c.used))
			d.setReg(regQueueReady, 1)
			if d.reg(regStatus)&StatusDeviceNeedsReset == 0 {
				t.Fatal("invalid layout accepted")
			}
			if d.reg(regQueueReady) != 1 {
				t.Error("QueueReady does not read back the written value")
			}
		})
	}
}

func TestQueueRegistersFrozenWhileReady(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	d.setReg(regQueueSel, 0)
	d.setReg(regQueueDescLow, 0x1000)
	d.setReg(regQueueNum, 2)
	if _, n := d.call(0, false, in(8)); n != 8 {
		t.Fatalf("queue broken by writes while ready: len %d", n)
	}
}

func TestQueueDisableStopsAccess(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	d.setReg(regQueueSel, 0)
	d.setReg(regQueueReady, 0)
	if d.reg(regQueueReady) != 0 {
		t.Fatal("QueueReady still reads 1")
	}
	d.submit(0, false, in(8))
	d.kick(0)
	d.m.Quiesce()
	defer d.m.Resume()
	if st := d.m.SaveState(); st.Queues[0].LastAvail != 0 || st.Queues[0].Live {
		t.Fatalf("disabled queue was used: %+v", st.Queues[0])
	}
}

func TestQuiesceHoldsRequests(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	d.m.Quiesce()
	r := d.submit(0, false, in(8))
	d.kick(0)
	if st := d.m.SaveState(); st.Queues[0].LastAvail != 0 {
		t.Fatal("a request was taken while quiesced")
	}
	if !bytes.Equal(d.written(r, 0), make([]byte, 8)) {
		t.Fatal("guest memory written while quiesced")
	}
	d.m.Resume()
	if e := d.waitUsed(0, 1); e[0][1] != 8 {
		t.Fatalf("used %v after resume", e)
	}
}

// panicky is a device that panics on its first request, standing in for a
// device bug.
type panicky struct{ *RNG }

func (panicky) Notify(q *Queue) {
	if _, ok := q.Pop(); ok {
		panic("boom")
	}
}

func TestDevicePanicBreaksDevice(t *testing.T) {
	d := newTestDriver(t, panicky{NewRNG()})
	d.start(FeatureVersion1, 16)
	d.submit(0, false, in(8))
	d.kick(0)
	d.waitBroken()
	if err := d.m.Err(); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("error %v", err)
	}
}

func TestNotifyUnknownQueueIgnored(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	for _, q := range []uint32{1, 63, 64, 0xffffffff} {
		d.setReg(regQueueNotify, q)
	}
	if _, n := d.call(0, false, in(8)); n != 8 {
		t.Fatalf("len %d", n)
	}
}
