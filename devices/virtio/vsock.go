package virtio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
)

const (
	vsockRxQueue    = 0
	vsockTxQueue    = 1
	vsockEventQueue = 2
	vsockQueueSize  = 256

	// vsockBufAlloc is the receive buffer each connection advertises: how
	// many guest bytes may wait for the host program to read them.
	vsockBufAlloc = 256 << 10
	// vsockHostBuf bounds bytes read from a host socket and not yet sent.
	vsockHostBuf = 64 << 10
	// vsockMaxPayload bounds one packet from the guest (Linux sends at
	// most 64 KiB).
	vsockMaxPayload = 64 << 10
	vsockMaxConns   = 1024
	// vsockMaxRsts bounds resets owed for packets without a connection;
	// beyond it they are dropped (the guest times out instead).
	vsockMaxRsts = 64
	// vsockFirstHostPort is where ports for host-initiated connections
	// start, as in Firecracker.
	vsockFirstHostPort = 1 << 30
)

// Vsock is the socket device (device ID 19): AF_VSOCK stream sockets
// between the guest and host programs, exposed on the host as Unix sockets
// the way Firecracker does it:
//
//   - A host program connects to udsPath and writes "CONNECT <port>\n";
//     popek connects to the guest's port and answers "OK <hostport>\n",
//     after which the Unix socket carries the stream.
//   - A guest connection to host (CID 2) port P is connected to the Unix
//     socket "<udsPath>_P" if a host program listens there, else reset.
//
// Flow control follows the spec's credit scheme (buf_alloc, fwd_cnt), so
// neither side buffers without bound, and the device worker never waits on
// a host socket: each connection has its own reader and writer goroutines.
type Vsock struct {
	cid     uint64
	udsPath string
	ln      *net.UnixListener
	// at is where the listener's socket file is (udsPath, or a staging
	// path until a takeover's Commit) and sock its stat, to unlink it on
	// Close only while it is still this device's; mu guards both.
	at   string
	sock os.FileInfo
	host Host

	mu         sync.Mutex
	active     bool
	closed     bool
	conns      map[vsockKey]*vsockConn
	ready      []*vsockConn // connections with something for the guest
	rsts       []vsockHdr   // resets owed for packets with no connection
	handshakes map[net.Conn]struct{}
	lingering  map[*vsockConn]struct{} // removed, still writing to the host
	nextPort   uint32
	resetEvent bool // TRANSPORT_RESET owed on the event queue

	bufAlloc uint32 // vsockBufAlloc; smaller in tests
	wg       sync.WaitGroup

	dropped atomic.Uint64 // malformed guest packets

	// Worker-only scratch.
	pkt   []byte
	txBuf []byte
}

// vsockKey names a connection: the host-side and guest-side ports.
type vsockKey struct{ host, guest uint32 }

// VsockState is what a snapshot records. Connections are host sockets and
// cannot be carried over; after every restore the device sends the guest a
// TRANSPORT_RESET event, as Firecracker does, on which Linux re-reads
// guest_cid from config space (a clone's new CID) and resets every
// connected socket, as the spec intends for migration.
type VsockState struct {
	CID      uint64
	NextPort uint32
	// ResetPending: a TRANSPORT_RESET is owed and waits for the driver to
	// post an event buffer. A restore owes one whatever this says, so a
	// snapshot taken while one is pending still delivers it.
	ResetPending bool
}

// NewVsock returns a device with guest CID cid (3 or more) listening on the
// Unix socket udsPath. A stale socket file there is replaced; a socket
// something still listens on (another VM's) or any other file is an error.
func NewVsock(cid uint64, udsPath string) (*Vsock, error) {
	return newVsock(cid, udsPath, false)
}

// NewVsockTakeover is NewVsock for a VM that moves to this process (a
// live migration on one host) while the old device still listens on
// udsPath: the new device listens on a staging path beside it until
// Commit moves its socket over udsPath, so a migration that fails before
// then leaves the old device's socket untouched.
func NewVsockTakeover(cid uint64, udsPath string) (*Vsock, error) {
	return newVsock(cid, udsPath, true)
}

func newVsock(cid uint64, udsPath string, takeover bool) (*Vsock, error) {
	if cid < 3 || cid >= 0xffffffff {
		return nil, fmt.Errorf("virtio-vsock: guest CID %d outside 3..%d", cid, uint32(0xfffffffe))
	}
	if udsPath == "" {
		return nil, errors.New("virtio-vsock: no Unix socket path")
	}
	at := udsPath
	if takeover {
		at += socketStaging
	}
	ln, sock, err := listenUnix("virtio-vsock", at)
	if err != nil {
		return nil, err
	}
	v := &Vsock{
		cid: cid, udsPath: udsPath, at: at, ln: ln, sock: sock,
		conns:      make(map[vsockKey]*vsockConn),
		handshakes: make(map[net.Conn]struct{}),
		lingering:  make(map[*vsockConn]struct{}),
		nextPort:   vsockFirstHostPort,
		bufAlloc:   vsockBufAlloc,
	}
	v.wg.Add(1)
	go v.acceptLoop()
	return v, nil
}

// Commit ends a takeover: the device's socket replaces whatever is at
// udsPath (the old device's, which then leaves it alone on Close). The
// listener keeps working across the rename. It does nothing for a device
// that listens on udsPath already.
func (v *Vsock) Commit() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.at == v.udsPath {
		return nil
	}
	sock, err := moveSocket("virtio-vsock", v.at, v.udsPath, v.sock)
	if err != nil {
		return err
	}
	v.at, v.sock = v.udsPath, sock
	return nil
}

// CID is the guest's address.
func (v *Vsock) CID() uint64 { return v.cid }

// Dropped counts malformed packets from the guest.
func (v *Vsock) Dropped() uint64 { return v.dropped.Load() }

// Conns is the number of open connections.
func (v *Vsock) Conns() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.conns)
}

func (v *Vsock) Type() uint32 { return DeviceVsock }

// Features is empty: stream sockets only (no SEQPACKET), which needs no
// feature bit.
func (v *Vsock) Features() uint64 { return 0 }

func (v *Vsock) QueueSizes(uint64) []uint16 {
	return []uint16{vsockQueueSize, vsockQueueSize, vsockQueueSize}
}
func (v *Vsock) WriteConfig(uint64, []byte) {}
func (v *Vsock) Attach(h Host)              { v.host = h }

// ReadConfig serves struct virtio_vsock_config: le64 guest_cid.
func (v *Vsock) ReadConfig(off uint64, p []byte) {
	var cfg [8]byte
	binary.LittleEndian.PutUint64(cfg[:], v.cid)
	readConfigBytes(cfg[:], off, p)
}

func (v *Vsock) Activate(uint64, []*Queue) error {
	v.mu.Lock()
	v.active = true
	event := v.resetEvent
	v.mu.Unlock()
	if event && v.host != nil {
		v.host.Kick(vsockEventQueue)
	}
	return nil
}

// Reset closes every connection: they belonged to the old driver.
func (v *Vsock) Reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.active = false
	v.dropAll()
	v.resetEvent = false
}

// dropAll closes every connection and forgets owed packets. mu held.
func (v *Vsock) dropAll() {
	for _, c := range v.conns {
		c.shutdown(true)
	}
	for c := range v.lingering {
		c.shutdown(true)
	}
	clear(v.conns)
	v.ready, v.rsts = nil, nil
}

// Close stops listening, closes every connection and waits for their
// goroutines.
func (v *Vsock) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed, v.active = true, false
	v.dropAll()
	for c := range v.handshakes {
		c.Close()
	}
	at, sock := v.at, v.sock
	v.mu.Unlock()
	err := v.ln.Close()
	unlinkOwnSocket(at, sock)
	v.wg.Wait()
	return err
}

func (v *Vsock) Notify(q *Queue) {
	switch q.Index() {
	case vsockRxQueue:
		v.deliver(q)
	case vsockTxQueue:
		v.transmit(q)
	case vsockEventQueue:
		v.sendEvent(q)
	}
}

// kick wakes the worker to deliver to the guest.
func (v *Vsock) kick() {
	if v.host != nil {
		v.host.Kick(vsockRxQueue)
	}
}

// sendEvent delivers an owed TRANSPORT_RESET into the first event buffer
// that holds one; without a buffer it stays owed until the driver posts
// one and notifies.
func (v *Vsock) sendEvent(q *Queue) {
	v.mu.Lock()
	owed := v.resetEvent
	v.mu.Unlock()
	if !owed {
		return
	}
	var ev [vsockEventLen]byte
	binary.LittleEndian.PutUint32(ev[:], vsockEventTransportReset)
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		if c.Writable() < vsockEventLen {
			// Linux ignores an event of the wrong length; try the next.
			q.Push(c, 0)
			continue
		}
		q.Push(c, uint64(c.WriteAt(ev[:], 0)))
		v.mu.Lock()
		v.resetEvent = false
		v.mu.Unlock()
		return
	}
}

// SaveState captures the device.
func (v *Vsock) SaveState() VsockState {
	v.mu.Lock()
	defer v.mu.Unlock()
	return VsockState{CID: v.cid, NextPort: v.nextPort, ResetPending: v.resetEvent}
}

// RestoreState replaces the device state: open connections end (they were
// the host sockets of another timeline) and the guest is told to reset its
// sockets and re-read its CID as soon as it has an event buffer.
func (v *Vsock) RestoreState(s VsockState) error {
	if s.CID != v.cid {
		return fmt.Errorf("virtio-vsock: snapshot is of guest CID %d, device has %d", s.CID, v.cid)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.active = false // Activate follows if the snapshot was running
	v.dropAll()
	v.nextPort = max(s.NextPort, vsockFirstHostPort)
	v.resetEvent = true
	return nil
}

func (v *Vsock) MarshalState() ([]byte, error) { return encodeState(v.SaveState()) }

func (v *Vsock) UnmarshalState(b []byte) error {
	var s VsockState
	if err := decodeState(b, &s); err != nil {
		return err
	}
	return v.RestoreState(s)
}
