package virtio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testCID = 3

// vsockGuest plays the guest's vsock driver over the virtqueues.
type vsockGuest struct {
	t   *testing.T
	d   *testDriver
	v   *Vsock
	uds string
	rx  map[uint16]req
}

func newVsockDevice(t *testing.T) (*Vsock, string) {
	t.Helper()
	uds := filepath.Join(t.TempDir(), "v.sock")
	v, err := NewVsock(testCID, uds)
	if err != nil {
		t.Fatal(err)
	}
	return v, uds
}

func newVsockGuest(t *testing.T) *vsockGuest {
	v, uds := newVsockDevice(t)
	g := &vsockGuest{t: t, d: newTestDriver(t, v), v: v, uds: uds, rx: map[uint16]req{}}
	g.d.start(FeatureVersion1|FeatureEventIdx|FeatureIndirectDesc, 64)
	for range 16 {
		g.post()
	}
	return g
}

func (g *vsockGuest) post() {
	r := g.d.submit(vsockRxQueue, false, in(4096))
	g.rx[r.head] = r
	g.d.kick(vsockRxQueue)
}

// recv waits for the next packet to the guest.
func (g *vsockGuest) recv() (vsockHdr, []byte) {
	g.t.Helper()
	u := g.d.waitUsed(vsockRxQueue, 1)[0]
	r := g.rx[uint16(u[0])]
	delete(g.rx, uint16(u[0]))
	b := g.d.written(r, 0)[:u[1]]
	g.post()
	h, ok := parseVsockHdr(b)
	if !ok || uint64(len(b)) != vsockHdrLen+uint64(h.Len) {
		g.t.Fatalf("bad packet %x", b)
	}
	return h, b[vsockHdrLen:]
}

// expect waits for a packet with op and checks its addresses.
func (g *vsockGuest) expect(op uint16, hostPort, guestPort uint32) (vsockHdr, []byte) {
	g.t.Helper()
	h, p := g.recv()
	if h.Op != op || h.SrcCID != VsockHostCID || h.DstCID != testCID || h.SrcPort != hostPort || h.DstPort != guestPort || h.Type != vsockTypeStream {
		g.t.Fatalf("got %+v, want op %d from 2:%d to 3:%d", h, op, hostPort, guestPort)
	}
	return h, p
}

// readData collects n payload bytes of RW packets.
func (g *vsockGuest) readData(n int, hostPort, guestPort uint32) []byte {
	g.t.Helper()
	var got []byte
	for len(got) < n {
		_, p := g.expect(vsockOpRW, hostPort, guestPort)
		got = append(got, p...)
	}
	return got
}

func (g *vsockGuest) send(h vsockHdr, payload []byte) {
	g.t.Helper()
	h.Len = uint32(len(payload))
	b := make([]byte, vsockHdrLen, vsockHdrLen+len(payload))
	h.encode(b)
	g.d.call(vsockTxQueue, false, out(append(b, payload...)))
}

// pkt is a guest packet on connection guestPort -> hostPort.
func pkt(op uint16, guestPort, hostPort uint32) vsockHdr {
	return vsockHdr{SrcCID: testCID, DstCID: VsockHostCID, SrcPort: guestPort, DstPort: hostPort, Type: vsockTypeStream, Op: op, BufAlloc: 1 << 16}
}

func TestNewVsockRejects(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	cases := []struct {
		cid  uint64
		path string
	}{{2, filepath.Join(dir, "a")}, {0xffffffff, filepath.Join(dir, "b")}, {3, ""}, {3, file}}
	for _, c := range cases {
		if v, err := NewVsock(c.cid, c.path); err == nil {
			v.Close()
			t.Errorf("NewVsock(%d, %q) accepted", c.cid, c.path)
		}
	}
}

func TestVsockConfigAndClose(t *testing.T) {
	v, uds := newVsockDevice(t)
	d := newTestDriver(t, v)
	if cid := d.m.Read(regConfig, 8); cid != testCID {
		t.Fatalf("config cid %d", cid)
	}
	if sizes := v.QueueSizes(0); len(sizes) != 3 {
		t.Fatalf("%d queues", len(sizes))
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(uds); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
	// A stale socket file is replaced.
	ln, _ := net.Listen("unix", uds)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	v2, err := NewVsock(testCID, uds)
	if err != nil {
		t.Fatal(err)
	}
	v2.Close()
}

// hostConnect connects a host program through the CONNECT handshake and
// returns the socket and the host port the device chose.
func (g *vsockGuest) hostConnect(guestPort uint32) (net.Conn, *bufio.Reader, uint32) {
	g.t.Helper()
	sock, err := net.Dial("unix", g.uds)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { sock.Close() })
	fmt.Fprintf(sock, "CONNECT %d\n", guestPort)
	h, _ := g.recv()
	if h.Op != vsockOpRequest || h.DstPort != guestPort || h.SrcPort < vsockFirstHostPort || h.SrcCID != VsockHostCID {
		g.t.Fatalf("request %+v", h)
	}
	g.send(pkt(vsockOpResponse, guestPort, h.SrcPort), nil)
	br := bufio.NewReader(sock)
	line, err := br.ReadString('\n')
	if err != nil || line != fmt.Sprintf("OK %d\n", h.SrcPort) {
		g.t.Fatalf("handshake answer %q, %v", line, err)
	}
	return sock, br, h.SrcPort
}

func TestVsockHostConnects(t *testing.T) {
	g := newVsockGuest(t)
	sock, br, hp := g.hostConnect(1234)

	sock.Write([]byte("ping from host"))
	if got := g.readData(14, hp, 1234); string(got) != "ping from host" {
		t.Fatalf("guest got %q", got)
	}
	g.send(pkt(vsockOpRW, 1234, hp), []byte("pong from guest"))
	buf := make([]byte, 15)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "pong from guest" {
		t.Fatalf("host got %q, %v", buf, err)
	}

	// The guest closes: SHUTDOWN both ways, the device resets, the host
	// sees the end of the stream.
	sd := pkt(vsockOpShutdown, 1234, hp)
	sd.Flags = vsockShutdownBoth
	g.send(sd, nil)
	g.expect(vsockOpRst, hp, 1234)
	if n, err := br.Read(buf); err != io.EOF {
		t.Fatalf("host read %d, %v after guest close", n, err)
	}
	waitFor(t, "connection removed", func() bool { return g.v.Conns() == 0 })
}

func TestVsockGuestConnects(t *testing.T) {
	g := newVsockGuest(t)
	ln, err := net.Listen("unix", g.uds+"_5000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g.send(pkt(vsockOpRequest, 40000, 5000), nil)
	g.expect(vsockOpResponse, 5000, 40000)
	sock, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	g.send(pkt(vsockOpRW, 40000, 5000), []byte("hello host"))
	buf := make([]byte, 10)
	if _, err := io.ReadFull(sock, buf); err != nil || string(buf) != "hello host" {
		t.Fatalf("host got %q, %v", buf, err)
	}
	sock.Write([]byte("hello guest"))
	if got := g.readData(11, 5000, 40000); string(got) != "hello guest" {
		t.Fatalf("guest got %q", got)
	}

	// The host program closes: the guest hears it will get no more.
	sock.Close()
	h, _ := g.expect(vsockOpShutdown, 5000, 40000)
	if h.Flags != vsockShutdownSend {
		t.Fatalf("shutdown flags %d", h.Flags)
	}
	g.send(pkt(vsockOpRst, 40000, 5000), nil)
	waitFor(t, "connection removed", func() bool { return g.v.Conns() == 0 })
}

func TestVsockGuestHalfClose(t *testing.T) {
	g := newVsockGuest(t)
	ln, err := net.Listen("unix", g.uds+"_6000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g.send(pkt(vsockOpRequest, 1, 6000), nil)
	g.expect(vsockOpResponse, 6000, 1)
	sock, _ := ln.Accept()
	defer sock.Close()
	g.send(pkt(vsockOpRW, 1, 6000), []byte("request"))
	sd := pkt(vsockOpShutdown, 1, 6000)
	sd.Flags = vsockShutdownSend
	g.send(sd, nil)
	// The host reads the request, then end of stream, and can still answer.
	all, err := io.ReadAll(sock)
	if err != nil || string(all) != "request" {
		t.Fatalf("host read %q, %v", all, err)
	}
	sock.Write([]byte("answer"))
	if got := g.readData(6, 6000, 1); string(got) != "answer" {
		t.Fatalf("guest got %q", got)
	}
}

func TestVsockCredit(t *testing.T) {
	g := newVsockGuest(t)
	ln, err := net.Listen("unix", g.uds+"_7000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	req := pkt(vsockOpRequest, 2, 7000)
	req.BufAlloc = 10
	g.send(req, nil)
	g.expect(vsockOpResponse, 7000, 2)
	sock, _ := ln.Accept()
	defer sock.Close()
	sock.Write([]byte("0123456789abcdefghijKLMNO"))

	small := func(op uint16, fwd uint32) vsockHdr {
		h := pkt(op, 2, 7000)
		h.BufAlloc, h.FwdCnt = 10, fwd
		return h
	}
	for i, want := range []string{"0123456789", "abcdefghij", "KLMNO"} {
		if got := g.readData(len(want), 7000, 2); string(got) != want {
			t.Fatalf("window %d: got %q, want %q", i, got, want)
		}
		if i < 2 {
			// The window is full: asked for credit, the device answers
			// with an update, not with data.
			g.send(small(vsockOpCreditRequest, uint32(10*i)), nil)
			h, _ := g.expect(vsockOpCreditUpdate, 7000, 2)
			if h.BufAlloc != vsockBufAlloc {
				t.Fatalf("device buf_alloc %d", h.BufAlloc)
			}
			g.send(small(vsockOpCreditUpdate, uint32(10*(i+1))), nil)
		}
	}
}

func TestVsockResets(t *testing.T) {
	g := newVsockGuest(t)
	otherCID := pkt(vsockOpRequest, 10, 11)
	otherCID.DstCID = 9
	seq := pkt(vsockOpRequest, 12, 13)
	seq.Type = 2
	spoofed := pkt(vsockOpRequest, 14, 15)
	spoofed.SrcCID = 8
	cases := []struct {
		name string
		h    vsockHdr
		want *vsockHdr // nil: no answer
	}{
		{"nobody listens", pkt(vsockOpRequest, 20, 21), &vsockHdr{SrcCID: 2, DstCID: testCID, SrcPort: 21, DstPort: 20}},
		{"unknown connection", pkt(vsockOpRW, 22, 23), &vsockHdr{SrcCID: 2, DstCID: testCID, SrcPort: 23, DstPort: 22}},
		{"other destination CID", otherCID, &vsockHdr{SrcCID: 9, DstCID: testCID, SrcPort: 11, DstPort: 10}},
		{"seqpacket", seq, &vsockHdr{SrcCID: 2, DstCID: testCID, SrcPort: 13, DstPort: 12}},
		{"reset of nothing", pkt(vsockOpRst, 24, 25), nil},
		{"spoofed source", spoofed, nil},
	}
	for _, c := range cases {
		g.send(c.h, nil)
		// A marker request to a closed port: its reset comes right after
		// the answer under test, if any.
		g.send(pkt(vsockOpRequest, 99, 98), nil)
		if c.want != nil {
			h, _ := g.recv()
			if h.Op != vsockOpRst || h.SrcCID != c.want.SrcCID || h.DstCID != c.want.DstCID || h.SrcPort != c.want.SrcPort || h.DstPort != c.want.DstPort {
				t.Fatalf("%s: got %+v", c.name, h)
			}
		}
		if h, _ := g.recv(); h.Op != vsockOpRst || h.SrcPort != 98 {
			t.Fatalf("%s: got %+v instead of the marker's reset", c.name, h)
		}
	}
	if g.v.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1 (the spoofed packet)", g.v.Dropped())
	}
}

func TestVsockBadHandshake(t *testing.T) {
	cases := []struct {
		name  string
		line  string
		start bool
	}{
		{"not CONNECT", "HELLO 5\n", true},
		{"bad port", "CONNECT x\n", true},
		{"too long", "CONNECT " + strings.Repeat("1", 80) + "\n", true},
		{"no driver yet", "CONNECT 5\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, uds := newVsockDevice(t)
			d := newTestDriver(t, v)
			if c.start {
				d.start(FeatureVersion1, 64)
			}
			sock, err := net.Dial("unix", uds)
			if err != nil {
				t.Fatal(err)
			}
			defer sock.Close()
			sock.Write([]byte(c.line))
			if b, _ := io.ReadAll(sock); len(b) != 0 {
				t.Fatalf("host got %q", b)
			}
		})
	}
}

// A guest that sends beyond the credit the device granted is reset.
func TestVsockGuestOverrunsCredit(t *testing.T) {
	v, _ := newVsockDevice(t)
	defer v.Close()
	v.bufAlloc = 16
	host, far := net.Pipe() // nobody reads far: the writer blocks
	defer far.Close()
	v.mu.Lock()
	c := v.newConn(vsockKey{host: 1, guest: 2}, vsockEstablished)
	c.sock = host
	v.conns[c.key] = c
	c.start()
	h := pkt(vsockOpRW, 2, 1)
	for range 3 {
		v.handle(&h, make([]byte, 10))
	}
	reset := c.sendRst
	v.mu.Unlock()
	if !reset {
		t.Fatal("30 bytes into a 16-byte window accepted")
	}
}

func TestVsockDriverResetClosesConnections(t *testing.T) {
	g := newVsockGuest(t)
	_, br, _ := g.hostConnect(80)
	g.d.setReg(regStatus, 0)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("host read after reset: %v", err)
	}
	if g.v.Conns() != 0 {
		t.Fatal("connections survived reset")
	}
}

// After a restore the guest is told to drop its sockets, and connections
// of the old timeline end.
func TestVsockRestoreSendsTransportReset(t *testing.T) {
	g := newVsockGuest(t)
	_, br, _ := g.hostConnect(80)
	g.d.m.Quiesce()
	st := g.d.m.SaveState()
	if err := g.d.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("host read after restore: %v", err)
	}
	g.d.m.Resume()
	r := g.d.submit(vsockEventQueue, false, in(8))
	g.d.kick(vsockEventQueue)
	u := g.d.waitUsed(vsockEventQueue, 1)[0]
	if u[0] != uint32(r.head) || u[1] != 4 || binary.LittleEndian.Uint32(g.d.written(r, 0)) != vsockEventTransportReset {
		t.Fatalf("event %v %x", u, g.d.written(r, 0))
	}
	other, _ := newVsockDevice(t)
	defer other.Close()
	if err := other.RestoreState(VsockState{CID: 7}); err == nil {
		t.Fatal("state of another CID accepted")
	}
	blob, _ := g.v.MarshalState()
	var s VsockState
	if err := decodeState(blob, &s); err != nil || s.CID != testCID || s.NextPort <= vsockFirstHostPort {
		t.Fatalf("state %+v, %v", s, err)
	}
}

func TestVsockManyConnections(t *testing.T) {
	g := newVsockGuest(t)
	ln, err := net.Listen("unix", g.uds+"_9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 8
	for i := range uint32(n) {
		g.send(pkt(vsockOpRequest, 100+i, 9000), nil)
		g.expect(vsockOpResponse, 9000, 100+i)
	}
	socks := make([]net.Conn, n)
	for i := range socks {
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		socks[i] = s
	}
	for i := range uint32(n) {
		g.send(pkt(vsockOpRW, 100+i, 9000), []byte{byte(i)})
	}
	seen := map[byte]bool{}
	for _, s := range socks {
		b := make([]byte, 1)
		if _, err := io.ReadFull(s, b); err != nil {
			t.Fatal(err)
		}
		seen[b[0]] = true
	}
	if len(seen) != n {
		t.Fatalf("host saw %v", seen)
	}
	if g.v.Conns() != n {
		t.Fatalf("%d connections", g.v.Conns())
	}
}

// restoreVsockAs restores the transport state st, with the device state's
// CID replaced by cid as a clone's would be, into a new device on a copy
// of g's RAM, and returns it as a guest that continues g's rings.
func restoreVsockAs(t *testing.T, g *vsockGuest, st MMIOState, cid uint64) *vsockGuest {
	t.Helper()
	var s VsockState
	if err := decodeState(st.Device, &s); err != nil {
		t.Fatal(err)
	}
	s.CID = cid
	blob, err := encodeState(s)
	if err != nil {
		t.Fatal(err)
	}
	st.Device = blob
	uds := filepath.Join(t.TempDir(), "clone.sock")
	v, err := NewVsock(cid, uds)
	if err != nil {
		t.Fatal(err)
	}
	ram := newTestRAM(t, g.d.ram.Size())
	copy(ram.Bytes(), g.d.ram.Bytes())
	d := newTestDriverRAM(t, v, ram)
	d.queues, d.next = g.d.queues, g.d.next
	if err := d.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	return &vsockGuest{t: t, d: d, v: v, uds: uds, rx: g.rx}
}

// A clone's vsock owes the guest a TRANSPORT_RESET until the driver posts
// an event buffer that holds one, across further snapshots; then the
// guest reads its new CID and connects from it.
func TestVsockCloneResetWaitsForEventBuffer(t *testing.T) {
	const newCID = 9
	g := newVsockGuest(t) // no event buffers posted
	g.d.m.Quiesce()
	c := restoreVsockAs(t, g, g.d.m.SaveState(), newCID)
	if !c.v.SaveState().ResetPending {
		t.Fatal("restored device owes no transport reset")
	}
	// Snapshot the clone before the guest took the event.
	c.d.m.Quiesce()
	st := c.d.m.SaveState()
	var s VsockState
	if err := decodeState(st.Device, &s); err != nil || !s.ResetPending || s.CID != newCID {
		t.Fatalf("state of a device owing a reset: %+v, %v", s, err)
	}
	c2 := restoreVsockAs(t, c, st, newCID)
	if !c2.v.SaveState().ResetPending {
		t.Fatal("reset no longer owed after a second restore")
	}

	small := c2.d.submit(vsockEventQueue, false, in(2))
	good := c2.d.submit(vsockEventQueue, false, in(8))
	c2.d.kick(vsockEventQueue)
	used := c2.d.waitUsed(vsockEventQueue, 2)
	if used[0] != [2]uint32{uint32(small.head), 0} {
		t.Fatalf("too small event buffer used as %v", used[0])
	}
	if used[1][0] != uint32(good.head) || used[1][1] != vsockEventLen || binary.LittleEndian.Uint32(c2.d.written(good, 0)) != vsockEventTransportReset {
		t.Fatalf("event %v %x", used[1], c2.d.written(good, 0))
	}
	if c2.v.SaveState().ResetPending {
		t.Fatal("reset still owed after delivery")
	}
	if cid := c2.d.m.Read(regConfig, 8); cid != newCID {
		t.Fatalf("config guest_cid %d after the reset, want %d", cid, newCID)
	}

	// The guest connects from its new CID; its old one is not this guest.
	ln, err := net.Listen("unix", c2.uds+"_5000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stale := pkt(vsockOpRequest, 40001, 5000)
	c2.send(stale, nil)
	req := pkt(vsockOpRequest, 40000, 5000)
	req.SrcCID = newCID
	c2.send(req, nil)
	h, _ := c2.recv()
	if h.Op != vsockOpResponse || h.DstCID != newCID || h.DstPort != 40000 || h.SrcPort != 5000 {
		t.Fatalf("answer to the clone's request: %+v", h)
	}
	sock, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sock.Close()
	if c2.v.Dropped() != 1 {
		t.Fatalf("dropped %d packets, want the one from the old CID", c2.v.Dropped())
	}
}

// TestVsockSocketInUse: a second device cannot take a socket a live one
// listens on; once that one closes, or if only a stale file is left, it
// can.
func TestVsockSocketInUse(t *testing.T) {
	uds := filepath.Join(t.TempDir(), "v.sock")
	a, err := NewVsock(3, uds)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := NewVsock(4, uds); err == nil {
		b.Close()
		t.Fatal("a second device took the socket of a running one")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q does not say the socket is in use", err)
	}
	a.Close()
	b, err := NewVsock(4, uds)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	b.Close()
	// A stale socket file (its listener gone without unlinking it).
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: uds, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	c, err := NewVsock(5, uds)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	c.Close()
}

// TestVsockTakeover: a VM moving to another process on this host gets a
// device that listens beside the old one's socket until Commit moves it
// over; the old device's Close then leaves the new socket in place. A
// takeover that is abandoned before Commit leaves the old socket alone.
func TestVsockTakeover(t *testing.T) {
	uds := filepath.Join(t.TempDir(), "v.sock")
	old, err := NewVsock(3, uds)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldSock, err := os.Lstat(uds)
	if err != nil {
		t.Fatal(err)
	}

	// Abandoned: the new device closes before Commit.
	gone, err := NewVsockTakeover(3, uds)
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	if fi, err := os.Lstat(uds); err != nil || !sameSocket(fi, oldSock) {
		t.Fatalf("an abandoned takeover changed the old socket: %v", err)
	}
	if _, err := os.Lstat(uds + socketStaging); !os.IsNotExist(err) {
		t.Errorf("an abandoned takeover left its staging socket: %v", err)
	}
	checkListens(t, uds)

	moved, err := NewVsockTakeover(3, uds)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if fi, err := os.Lstat(uds); err != nil || !sameSocket(fi, oldSock) {
		t.Fatalf("the socket was taken over before Commit: %v", err)
	}
	if err := moved.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := moved.Commit(); err != nil {
		t.Fatalf("a second Commit: %v", err)
	}
	if fi, err := os.Lstat(uds); err != nil || sameSocket(fi, oldSock) {
		t.Fatalf("after Commit the old socket is still there: %v", err)
	}
	old.Close()
	checkListens(t, uds)
	moved.Close()
	if _, err := os.Lstat(uds); !os.IsNotExist(err) {
		t.Errorf("socket left after the last device closed: %v", err)
	}
}

// checkListens checks that a vsock device without a driver accepts on
// path: it answers a CONNECT by hanging up.
func checkListens(t *testing.T, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("nobody listens on %s: %v", path, err)
	}
	defer c.Close()
	c.Write([]byte("CONNECT 1234\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 16)); err != io.EOF {
		t.Errorf("CONNECT to a device without a driver: read %d bytes, %v; want EOF", n, err)
	}
}
