package virtio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// Net feature bits (VIRTIO 1.2 section 5.1.3).
const (
	NetFMTU      = 1 << 3  // VIRTIO_NET_F_MTU: mtu in config
	NetFMAC      = 1 << 5  // VIRTIO_NET_F_MAC: mac in config
	NetFMrgRxbuf = 1 << 15 // VIRTIO_NET_F_MRG_RXBUF: a frame may span rx buffers
	NetFStatus   = 1 << 16 // VIRTIO_NET_F_STATUS: link status in config
)

const (
	netRxQueue   = 0
	netTxQueue   = 1
	netQueueSize = 256

	// netHdrLen is struct virtio_net_hdr_v1: with VERSION_1 the header
	// always carries num_buffers, so it is 12 bytes on every frame.
	netHdrLen = 12

	netStatusLinkUp = 1 // VIRTIO_NET_S_LINK_UP
	netStatusOff    = 6 // of status in struct virtio_net_config

	// netMinFrame is an Ethernet header; shorter frames are garbage.
	netMinFrame = 14
	// netMaxFrame bounds one frame either way. Without GSO features no
	// frame exceeds the MTU plus its Ethernet and VLAN headers.
	netMaxFrame = 65535 + 18

	// Receive backpressure: frames wait here while the guest posts no
	// buffers; beyond these bounds they are dropped and counted.
	netMaxPendingFrames = 256
	netMaxPendingBytes  = 1 << 20

	// netConfigLen covers mac, status, max_virtqueue_pairs and mtu.
	netConfigLen = 12
)

// NetBackend is what a NIC is plugged into: user-mode NAT, a virtual switch,
// or a test. Its methods are called from any goroutine.
type NetBackend interface {
	// SetReceiver installs the function the backend calls with every frame
	// for the guest. The function copies the frame and never blocks. It is
	// called once, before the first Send.
	SetReceiver(deliver func(frame []byte))
	// Send hands the backend one Ethernet frame from the guest. The frame
	// is only valid during the call; Send must not block the device worker
	// for long (a backend that cannot keep up drops).
	Send(frame []byte)
	// Close disconnects the NIC; no frames are delivered afterwards.
	Close() error
}

// NetConfig describes a NIC.
type NetConfig struct {
	// MAC is the guest's Ethernet address (six bytes, unicast).
	MAC net.HardwareAddr
	// Backend carries the frames; required.
	Backend NetBackend
	// MTU, when non-zero, is advertised with VIRTIO_NET_F_MTU (68..65535).
	MTU int
}

// NetStats counts traffic for monitoring. Rx is towards the guest.
type NetStats struct {
	RxPackets, RxBytes uint64
	TxPackets, TxBytes uint64
	// RxDropped counts frames for the guest lost because the queue of
	// frames waiting for receive buffers was full, the driver was not
	// running, or the frame did not fit the buffers the driver posts.
	RxDropped uint64
	// TxDropped counts malformed transmit requests.
	TxDropped uint64
}

type netCounters struct {
	rxPackets, rxBytes atomic.Uint64
	txPackets, txBytes atomic.Uint64
	rxDropped          atomic.Uint64
	txDropped          atomic.Uint64
}

// NetState is what a snapshot records of a NIC.
type NetState struct {
	MAC    [6]byte
	LinkUp bool
	// Flap is where a FlapLink stands; zero (none) in older snapshots.
	Flap NetFlap
	// Pending are frames received but not yet given to the guest.
	Pending [][]byte
	Stats   NetStats
}

// Net is the virtio network device (device ID 1) with one rx/tx queue pair.
type Net struct {
	mac     [6]byte
	mtu     uint16
	backend NetBackend
	host    Host

	mu           sync.Mutex // guards the fields below
	active       bool       // between Activate and Reset
	mergeable    bool       // MRG_RXBUF accepted
	statusNeg    bool       // VIRTIO_NET_F_STATUS accepted
	linkUp       bool
	flap         NetFlap
	pending      [][]byte // frames waiting for receive buffers, oldest first
	pendingBytes int
	free         [][]byte // recycled frame buffers

	stats netCounters

	// Worker-only scratch, reused so a frame costs no allocation.
	txBuf    []byte
	rxChains []Chain
	rxLens   []uint64
}

// NewNet returns a NIC on cfg.Backend with the link up.
func NewNet(cfg NetConfig) (*Net, error) {
	if len(cfg.MAC) != 6 {
		return nil, fmt.Errorf("virtio-net: MAC %q is not six bytes", cfg.MAC)
	}
	if cfg.MAC[0]&1 != 0 {
		return nil, fmt.Errorf("virtio-net: MAC %s is a multicast address", cfg.MAC)
	}
	if cfg.Backend == nil {
		return nil, errors.New("virtio-net: no backend")
	}
	if cfg.MTU != 0 && (cfg.MTU < 68 || cfg.MTU > 65535) {
		return nil, fmt.Errorf("virtio-net: MTU %d outside 68..65535", cfg.MTU)
	}
	n := &Net{backend: cfg.Backend, mtu: uint16(cfg.MTU), linkUp: true}
	copy(n.mac[:], cfg.MAC)
	cfg.Backend.SetReceiver(n.receive)
	return n, nil
}

// MAC is the guest's address.
func (n *Net) MAC() net.HardwareAddr { return append(net.HardwareAddr(nil), n.mac[:]...) }

// Stats returns the traffic counters.
func (n *Net) Stats() NetStats {
	s := &n.stats
	return NetStats{
		RxPackets: s.rxPackets.Load(), RxBytes: s.rxBytes.Load(),
		TxPackets: s.txPackets.Load(), TxBytes: s.txBytes.Load(),
		RxDropped: s.rxDropped.Load(), TxDropped: s.txDropped.Load(),
	}
}

// SetLink changes the link status the guest sees (cable plugged in or not).
// While the link is down frames for the guest are dropped.
func (n *Net) SetLink(up bool) {
	n.mu.Lock()
	changed := n.linkUp != up
	n.linkUp = up
	n.mu.Unlock()
	if changed && n.host != nil {
		n.host.ConfigChanged()
	}
}

// statusUp is the link status the guest reads: down while a flap is
// showing it down. mu held.
func (n *Net) statusUp() bool { return n.linkUp && n.flap != NetFlapDown }

func (n *Net) Type() uint32 { return DeviceNet }

func (n *Net) Features() uint64 {
	f := uint64(NetFMAC | NetFStatus | NetFMrgRxbuf)
	if n.mtu != 0 {
		f |= NetFMTU
	}
	return f
}

func (n *Net) QueueSizes(uint64) []uint16 { return []uint16{netQueueSize, netQueueSize} }
func (n *Net) WriteConfig(uint64, []byte) {}
func (n *Net) Attach(h Host)              { n.host = h }
func (n *Net) Close() error               { return n.backend.Close() }

// ReadConfig serves struct virtio_net_config up to mtu.
func (n *Net) ReadConfig(off uint64, p []byte) {
	var cfg [netConfigLen]byte
	copy(cfg[0:6], n.mac[:])
	n.mu.Lock()
	if n.statusUp() {
		binary.LittleEndian.PutUint16(cfg[6:], netStatusLinkUp)
	}
	flapEnds := n.flap == NetFlapDown && off < netStatusOff+2 && off+uint64(len(p)) > netStatusOff
	if flapEnds {
		n.flap = NetFlapNone
	}
	n.mu.Unlock()
	if flapEnds && n.host != nil {
		// This read returns down; the next shows the link up again.
		n.host.ConfigChanged()
	}
	binary.LittleEndian.PutUint16(cfg[8:], 1) // max_virtqueue_pairs
	binary.LittleEndian.PutUint16(cfg[10:], n.mtu)
	readConfigBytes(cfg[:], off, p)
}

func (n *Net) Activate(features uint64, _ []*Queue) error {
	// Without VERSION_1 a driver expects the legacy 10-byte header (no
	// num_buffers unless MRG_RXBUF); every frame would be misread.
	if features&FeatureVersion1 == 0 {
		return fmt.Errorf("virtio-net: driver did not accept VIRTIO_F_VERSION_1; the legacy header layout is not supported")
	}
	n.mu.Lock()
	n.active = true
	n.mergeable = features&NetFMrgRxbuf != 0
	n.statusNeg = features&NetFStatus != 0
	announce := n.flap == NetFlapOwed && n.statusNeg
	if announce {
		n.flap = NetFlapDown
	} else if !n.statusNeg {
		n.flap = NetFlapNone // a driver without STATUS cannot see a flap
	}
	n.mu.Unlock()
	if announce && n.host != nil {
		n.host.ConfigChanged()
	}
	return nil
}

// Reset drops frames queued for the old driver: they are stale for the next.
func (n *Net) Reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.active, n.mergeable, n.statusNeg = false, false, false
	n.flap = NetFlapNone // the next driver reads the identity at probe
	for _, f := range n.pending {
		n.recycle(f)
	}
	n.pending, n.pendingBytes = nil, 0
}

func (n *Net) Notify(q *Queue) {
	switch q.Index() {
	case netRxQueue:
		n.deliver(q)
	case netTxQueue:
		n.transmit(q)
	}
}

// transmit hands every transmit request to the backend, dropping the
// virtio_net_hdr. Without offloads negotiated the header carries nothing the
// backend needs.
func (n *Net) transmit(q *Queue) {
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		r := c.Readable()
		if r < netHdrLen+netMinFrame || r > netHdrLen+netMaxFrame {
			n.stats.txDropped.Add(1)
			q.Push(c, 0)
			continue
		}
		size := int(r - netHdrLen)
		if cap(n.txBuf) < size {
			n.txBuf = make([]byte, netMaxFrame)
		}
		frame := n.txBuf[:size]
		c.ReadAt(frame, netHdrLen)
		q.Push(c, 0)
		n.stats.txPackets.Add(1)
		n.stats.txBytes.Add(uint64(size))
		n.backend.Send(frame)
	}
}

// receive is the backend's delivery function: it queues a copy of frame for
// the guest and wakes the worker. It never blocks.
func (n *Net) receive(frame []byte) {
	if len(frame) < netMinFrame || len(frame) > netMaxFrame {
		n.stats.rxDropped.Add(1)
		return
	}
	n.mu.Lock()
	if !n.active || !n.statusUp() || len(n.pending) >= netMaxPendingFrames || n.pendingBytes+len(frame) > netMaxPendingBytes {
		n.mu.Unlock()
		n.stats.rxDropped.Add(1)
		return
	}
	buf := n.frameBuf(len(frame))
	copy(buf, frame)
	n.pending = append(n.pending, buf)
	n.pendingBytes += len(buf)
	n.mu.Unlock()
	if n.host != nil {
		n.host.Kick(netRxQueue)
	}
}

// frameBuf returns a buffer of size bytes, recycled when possible. mu held.
func (n *Net) frameBuf(size int) []byte {
	if k := len(n.free); k > 0 && cap(n.free[k-1]) >= size {
		b := n.free[k-1][:size]
		n.free = n.free[:k-1]
		return b
	}
	return make([]byte, size, max(size, 2048))
}

// recycle keeps a delivered frame's buffer for reuse. mu held.
func (n *Net) recycle(b []byte) {
	if len(n.free) < netMaxPendingFrames && cap(b) <= 2048 {
		n.free = append(n.free, b)
	}
}

// SaveState captures the NIC.
func (n *Net) SaveState() NetState {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := NetState{MAC: n.mac, LinkUp: n.linkUp, Flap: n.flap, Stats: n.Stats()}
	for _, f := range n.pending {
		s.Pending = append(s.Pending, append([]byte(nil), f...))
	}
	return s
}

// RestoreState replaces the NIC's state. A snapshot of a NIC with another
// MAC is refused: the guest driver read the address at probe time.
func (n *Net) RestoreState(s NetState) error {
	if s.MAC != n.mac {
		return fmt.Errorf("virtio-net: snapshot MAC %s, device has %s", net.HardwareAddr(s.MAC[:]), net.HardwareAddr(n.mac[:]))
	}
	if s.Flap > NetFlapDown {
		return fmt.Errorf("virtio-net: snapshot has link flap state %d", s.Flap)
	}
	if len(s.Pending) > netMaxPendingFrames {
		return fmt.Errorf("virtio-net: snapshot has %d pending frames, limit %d", len(s.Pending), netMaxPendingFrames)
	}
	var pending [][]byte
	total := 0
	for _, f := range s.Pending {
		if len(f) < netMinFrame || len(f) > netMaxFrame {
			return fmt.Errorf("virtio-net: snapshot frame of %d bytes", len(f))
		}
		total += len(f)
		pending = append(pending, append([]byte(nil), f...))
	}
	if total > netMaxPendingBytes {
		return fmt.Errorf("virtio-net: snapshot has %d pending bytes, limit %d", total, netMaxPendingBytes)
	}
	n.mu.Lock()
	// The transport calls Activate afterwards if the snapshot was running.
	n.active = false
	n.linkUp = s.LinkUp
	n.flap = s.Flap
	n.pending, n.pendingBytes = pending, total
	n.mu.Unlock()
	st := &n.stats
	st.rxPackets.Store(s.Stats.RxPackets)
	st.rxBytes.Store(s.Stats.RxBytes)
	st.txPackets.Store(s.Stats.TxPackets)
	st.txBytes.Store(s.Stats.TxBytes)
	st.rxDropped.Store(s.Stats.RxDropped)
	st.txDropped.Store(s.Stats.TxDropped)
	return nil
}

func (n *Net) MarshalState() ([]byte, error) { return encodeState(n.SaveState()) }

func (n *Net) UnmarshalState(b []byte) error {
	var s NetState
	if err := decodeState(b, &s); err != nil {
		return err
	}
	return n.RestoreState(s)
}
