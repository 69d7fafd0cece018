package virtio

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"sync"
	"testing"
)

// fakeNetBackend records what the NIC sends and lets the test deliver.
type fakeNetBackend struct {
	mu      sync.Mutex
	deliver func([]byte)
	sent    [][]byte
	closed  bool
}

func (b *fakeNetBackend) SetReceiver(f func([]byte)) { b.deliver = f }

func (b *fakeNetBackend) Send(frame []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, bytes.Clone(frame))
}

func (b *fakeNetBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

func (b *fakeNetBackend) frames() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.sent...)
}

var testMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

func newTestNet(t *testing.T, mtu int) (*Net, *fakeNetBackend) {
	be := &fakeNetBackend{}
	n, err := NewNet(NetConfig{MAC: testMAC, Backend: be, MTU: mtu})
	if err != nil {
		t.Fatal(err)
	}
	return n, be
}

// testFrame is an Ethernet frame of size bytes with a recognisable payload.
func testFrame(size int, seed byte) []byte {
	f := make([]byte, size)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	for i := 14; i < size; i++ {
		f[i] = seed + byte(i)
	}
	return f
}

const netTestFeatures = FeatureVersion1 | FeatureEventIdx | FeatureIndirectDesc | NetFMAC | NetFStatus

func TestNetNewRejects(t *testing.T) {
	be := &fakeNetBackend{}
	cases := []struct {
		name string
		cfg  NetConfig
	}{
		{"short MAC", NetConfig{MAC: net.HardwareAddr{1, 2, 3}, Backend: be}},
		{"multicast MAC", NetConfig{MAC: net.HardwareAddr{1, 0, 0, 0, 0, 1}, Backend: be}},
		{"no backend", NetConfig{MAC: testMAC}},
		{"tiny MTU", NetConfig{MAC: testMAC, Backend: be, MTU: 20}},
	}
	for _, c := range cases {
		if _, err := NewNet(c.cfg); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

func TestNetConfigSpace(t *testing.T) {
	cases := []struct {
		mtu      int
		wantMTUF bool
	}{{0, false}, {1500, true}}
	for _, c := range cases {
		n, _ := newTestNet(t, c.mtu)
		d := newTestDriver(t, n)
		f := d.deviceFeatures()
		if f&NetFMAC == 0 || f&NetFStatus == 0 || f&NetFMrgRxbuf == 0 || (f&NetFMTU != 0) != c.wantMTUF {
			t.Errorf("mtu %d: features %#x", c.mtu, f)
		}
		var mac [6]byte
		for i := range mac {
			mac[i] = byte(d.m.Read(regConfig+uint64(i), 1))
		}
		if !bytes.Equal(mac[:], testMAC) {
			t.Errorf("config mac %x", mac)
		}
		if s := d.m.Read(regConfig+6, 2); s != netStatusLinkUp {
			t.Errorf("status %#x", s)
		}
		if m := d.m.Read(regConfig+10, 2); m != uint64(c.mtu) {
			t.Errorf("mtu %d, want %d", m, c.mtu)
		}
	}
}

func TestNetLinkStatusChange(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	gen := d.reg(regConfigGeneration)
	n.SetLink(false)
	if d.m.Read(regConfig+6, 2) != 0 || d.reg(regConfigGeneration) == gen || d.reg(regInterruptStatus)&InterruptConfig == 0 {
		t.Fatal("link down not reported")
	}
	be.deliver(testFrame(60, 0))
	if n.Stats().RxDropped != 1 {
		t.Fatalf("frame accepted with link down: %+v", n.Stats())
	}
	n.SetLink(true)
	if d.m.Read(regConfig+6, 2) != netStatusLinkUp {
		t.Fatal("link up not reported")
	}
}

func TestNetTransmit(t *testing.T) {
	cases := []struct {
		name     string
		indirect bool
		split    bool // header and frame in separate descriptors
		size     int
	}{
		{"one descriptor", false, false, 60},
		{"header apart", false, true, 1514},
		{"indirect", true, true, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, be := newTestNet(t, 0)
			d := newTestDriver(t, n)
			d.start(netTestFeatures, 16)
			frame := testFrame(c.size, 7)
			hdr := make([]byte, netHdrLen)
			if c.split {
				d.call(netTxQueue, c.indirect, out(hdr), out(frame))
			} else {
				d.call(netTxQueue, c.indirect, out(append(hdr, frame...)))
			}
			got := be.frames()
			if len(got) != 1 || !bytes.Equal(got[0], frame) {
				t.Fatalf("backend got %d frames, first %x", len(got), got)
			}
			if s := n.Stats(); s.TxPackets != 1 || s.TxBytes != uint64(c.size) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestNetTransmitMalformed(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	d.call(netTxQueue, false, out(make([]byte, netHdrLen+5)))                            // runt
	d.call(netTxQueue, false, out(make([]byte, netHdrLen)), in(64))                      // no frame at all
	d.call(netTxQueue, false, out(append(make([]byte, netHdrLen), testFrame(60, 1)...))) // fine
	if s := n.Stats(); s.TxDropped != 2 || s.TxPackets != 1 || len(be.frames()) != 1 {
		t.Fatalf("stats %+v, %d frames", s, len(be.frames()))
	}
}

// rxFrames posts receive buffers of the given sizes and returns their
// requests, in ring order.
func postRx(d *testDriver, sizes ...uint32) []req {
	var reqs []req
	for _, s := range sizes {
		reqs = append(reqs, d.submit(netRxQueue, false, in(s)))
	}
	d.kick(netRxQueue)
	return reqs
}

// rxPayload reassembles what the device wrote into a run of used buffers.
func rxPayload(t *testing.T, d *testDriver, reqs []req, used [][2]uint32) (hdr, frame []byte) {
	t.Helper()
	var all []byte
	for i, u := range used {
		if u[0] != uint32(reqs[i].head) {
			t.Fatalf("used[%d] head %d, want %d", i, u[0], reqs[i].head)
		}
		all = append(all, d.written(reqs[i], 0)[:u[1]]...)
	}
	if len(all) < netHdrLen {
		t.Fatalf("only %d bytes received", len(all))
	}
	return all[:netHdrLen], all[netHdrLen:]
}

func TestNetReceive(t *testing.T) {
	cases := []struct {
		name      string
		mergeable bool
		bufs      []uint32
		size      int
		wantUsed  int
	}{
		{"one big buffer", false, []uint32{1526}, 1514, 1},
		{"one big buffer, mergeable", true, []uint32{1526}, 1514, 1},
		{"merged over three", true, []uint32{100, 100, 100, 100}, 250, 3},
		{"header split across buffers", true, []uint32{5, 5, 200}, 60, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, be := newTestNet(t, 0)
			d := newTestDriver(t, n)
			features := uint64(netTestFeatures)
			if c.mergeable {
				features |= NetFMrgRxbuf
			}
			d.start(features, 16)
			reqs := postRx(d, c.bufs...)
			frame := testFrame(c.size, 3)
			be.deliver(frame)
			used := d.waitUsed(netRxQueue, c.wantUsed)
			hdr, got := rxPayload(t, d, reqs, used)
			if nb := binary.LittleEndian.Uint16(hdr[10:]); nb != uint16(c.wantUsed) {
				t.Errorf("num_buffers %d, want %d", nb, c.wantUsed)
			}
			if !bytes.Equal(hdr[:10], make([]byte, 10)) {
				t.Errorf("header %x", hdr)
			}
			if !bytes.Equal(got, frame) {
				t.Errorf("frame differs: got %d bytes", len(got))
			}
			if s := n.Stats(); s.RxPackets != 1 || s.RxBytes != uint64(c.size) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestNetReceiveWaitsForBuffers(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures|NetFMrgRxbuf, 16)
	frames := [][]byte{testFrame(300, 1), testFrame(64, 2)}
	for _, f := range frames {
		be.deliver(f)
	}
	// Too little room for the first frame: both buffers must come back.
	first := postRx(d, 100, 100)
	// The worker asks to be notified past the two buffers (avail_event)
	// when it finds no third, then gives them back.
	waitFor(t, "worker to find the ring short", func() bool { return load16(d.ram, d.queues[netRxQueue].used+4+8*16) == 2 })
	if got := d.usedIdx(netRxQueue); got != 0 {
		t.Fatalf("device used %d buffers for a frame that does not fit", got)
	}
	rest := postRx(d, 200, 100)
	reqs := append(first, rest...)
	used := d.waitUsed(netRxQueue, 4)
	_, got := rxPayload(t, d, reqs[:3], used[:3])
	if !bytes.Equal(got, frames[0]) {
		t.Fatalf("first frame differs")
	}
	_, got = rxPayload(t, d, reqs[3:], used[3:])
	if !bytes.Equal(got, frames[1]) {
		t.Fatalf("second frame differs")
	}
}

func TestNetReceiveTooSmallWithoutMerge(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	reqs := postRx(d, 200)
	be.deliver(testFrame(1000, 1)) // does not fit: dropped, buffer kept
	small := testFrame(100, 2)
	be.deliver(small)
	used := d.waitUsed(netRxQueue, 1)
	_, got := rxPayload(t, d, reqs, used)
	if !bytes.Equal(got, small) {
		t.Fatal("small frame differs")
	}
	if s := n.Stats(); s.RxDropped != 1 || s.RxPackets != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNetReceiveBackpressureBounded(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	for i := range netMaxPendingFrames + 10 {
		be.deliver(testFrame(60, byte(i)))
	}
	if s := n.Stats(); s.RxDropped != 10 {
		t.Fatalf("dropped %d, want 10", s.RxDropped)
	}
	big := netMaxPendingBytes / netMaxFrame
	n2, be2 := newTestNet(t, 0)
	d2 := newTestDriver(t, n2)
	d2.start(netTestFeatures, 16)
	for range big + 1 {
		be2.deliver(testFrame(netMaxFrame, 0))
	}
	if s := n2.Stats(); s.RxDropped != 1 {
		t.Fatalf("byte bound: dropped %d, want 1", s.RxDropped)
	}
}

func TestNetReceiveBeforeDriverDropped(t *testing.T) {
	n, be := newTestNet(t, 0)
	be.deliver(testFrame(60, 0))
	be.deliver(testFrame(3, 0)) // runt
	if s := n.Stats(); s.RxDropped != 2 || len(n.SaveState().Pending) != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNetResetDropsPending(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	be.deliver(testFrame(60, 0))
	d.setReg(regStatus, 0)
	if p := n.SaveState().Pending; len(p) != 0 {
		t.Fatalf("%d frames survived reset", len(p))
	}
}

func TestNetStateRoundTrip(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	f1, f2 := testFrame(60, 1), testFrame(70, 2)
	be.deliver(f1)
	be.deliver(f2)
	n.SetLink(false)
	blob, err := n.MarshalState()
	if err != nil {
		t.Fatal(err)
	}

	n2, _ := newTestNet(t, 0)
	if err := n2.UnmarshalState(blob); err != nil {
		t.Fatal(err)
	}
	s := n2.SaveState()
	if s.LinkUp || len(s.Pending) != 2 || !bytes.Equal(s.Pending[0], f1) || !bytes.Equal(s.Pending[1], f2) {
		t.Fatalf("restored %+v", s)
	}

	other, err := NewNet(NetConfig{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 9}, Backend: &fakeNetBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.UnmarshalState(blob); err == nil {
		t.Fatal("state of another MAC accepted")
	}
	bad := n.SaveState()
	bad.Pending = append(bad.Pending, []byte{1, 2})
	if err := n2.RestoreState(bad); err == nil {
		t.Fatal("runt frame in state accepted")
	}
}

// A restored transport carries on delivering the frames the snapshot held.
func TestNetRestoreDeliversPending(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	frame := testFrame(90, 4)
	be.deliver(frame)
	d.m.Quiesce()
	st := d.m.SaveState()

	ram2 := newTestRAM(t, d.ram.Size())
	copy(ram2.Bytes(), d.ram.Bytes())
	n2, _ := newTestNet(t, 0)
	d2 := newTestDriverRAM(t, n2, ram2)
	d2.queues, d2.next = d.queues, d.next
	if err := d2.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	reqs := postRx(d2, 1526)
	used := d2.waitUsed(netRxQueue, 1)
	if _, got := rxPayload(t, d2, reqs, used); !bytes.Equal(got, frame) {
		t.Fatal("restored frame differs")
	}
}

func TestNetCloseClosesBackend(t *testing.T) {
	n, be := newTestNet(t, 0)
	if err := n.Close(); err != nil || !be.closed {
		t.Fatalf("close: %v, backend closed %v", err, be.closed)
	}
}

func TestDeriveMAC(t *testing.T) {
	a, b := DeriveMAC("vm1/0"), DeriveMAC("vm1/1")
	if bytes.Equal(a, b) || !bytes.Equal(a, DeriveMAC("vm1/0")) {
		t.Fatalf("derived %s and %s", a, b)
	}
	for _, m := range []net.HardwareAddr{a, b} {
		if len(m) != 6 || m[0] != 0x52 || m[1] != 0x54 || m[2] != 0 {
			t.Errorf("MAC %s not in 52:54:00", m)
		}
	}
}

// TestNetRefusesLegacyHeader: the transport lets a driver skip VERSION_1
// (as QEMU does, for xv6), but virtio-net's header would then be the
// 10-byte legacy one, so the device refuses to start rather than misread
// every frame.
func TestNetRefusesLegacyHeader(t *testing.T) {
	n, _ := newTestNet(t, 0)
	d := newTestDriver(t, n)
	if !d.negotiate(netTestFeatures &^ FeatureVersion1) {
		t.Fatalf("FEATURES_OK refused: %v", d.m.Err())
	}
	for i := 0; i < 2; i++ {
		d.setupQueue(i, 16)
	}
	d.setReg(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK)
	if d.reg(regStatus)&StatusDeviceNeedsReset == 0 {
		t.Fatal("virtio-net started without VERSION_1")
	}
	if err := d.m.Err(); err == nil || !strings.Contains(err.Error(), "VERSION_1") {
		t.Errorf("error %v, want mention of VERSION_1", err)
	}
}
