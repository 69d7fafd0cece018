// Package vswitch is a virtual Ethernet switch: the NICs of VMs in one
// process, or with a Registry's HostDir of every process on the host
// (--net switch=NAME), share an L2 segment through it. It is a
// learning switch: it remembers which port each source MAC came from, sends
// unicast frames to that port only, and floods broadcast, multicast and
// unknown destinations to every other port. Each port has a bounded queue
// and its own delivery goroutine, so a slow VM never stalls the others.
//
// There is no DHCP on a plain switch: guests configure static addresses
// (e.g. 10.0.3.1/24, 10.0.3.2/24) or one of them runs a DHCP server.
package vswitch

import (
	"sync"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultAgeing   = 300 * time.Second // as IEEE 802.1D recommends
	DefaultQueueLen = 256
	DefaultMaxMACs  = 4096
)

// ethMinFrame is the Ethernet header; shorter frames are dropped.
const ethMinFrame = 14

// Options tune a switch.
type Options struct {
	// Ageing is how long a learned address is trusted without traffic
	// from it.
	Ageing time.Duration
	// QueueLen bounds the frames waiting for each port's receiver.
	QueueLen int
	// MaxMACs bounds the address table, so a guest inventing source
	// addresses cannot grow it without limit; past it frames flood.
	MaxMACs int
	// Now is the clock (tests use a fake one).
	Now func() time.Time
	// HostDir, for a Registry, makes Join's switches host-wide: shared
	// through sockets in this directory by every process that uses it
	// (see DefaultHostDir). Empty keeps them private to the process.
	HostDir string
}

func (o Options) withDefaults() Options {
	if o.Ageing <= 0 {
		o.Ageing = DefaultAgeing
	}
	if o.QueueLen <= 0 {
		o.QueueLen = DefaultQueueLen
	}
	if o.MaxMACs <= 0 {
		o.MaxMACs = DefaultMaxMACs
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

type mac [6]byte

type macEntry struct {
	port *Port
	seen time.Time
}

// Switch is one L2 segment.
type Switch struct {
	name string
	opts Options

	mu    sync.Mutex // guards ports and table
	ports []*Port
	table map[mac]macEntry

	bufs sync.Pool // *[]byte frame copies, recycled after delivery
}

// New returns an empty switch.
func New(name string, opts Options) *Switch {
	return &Switch{name: name, opts: opts.withDefaults(), table: make(map[mac]macEntry)}
}

// Name is the segment's name.
func (s *Switch) Name() string { return s.name }

// Ports is the number of connected ports.
func (s *Switch) Ports() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ports)
}

// Connect adds a port. The port implements virtio.NetBackend.
func (s *Switch) Connect() *Port {
	p := &Port{sw: s, queue: make(chan []byte, s.opts.QueueLen), done: make(chan struct{}), stopped: make(chan struct{})}
	s.mu.Lock()
	s.ports = append(s.ports, p)
	s.mu.Unlock()
	return p
}

// forward sends frame from src to the ports that should see it.
func (s *Switch) forward(src *Port, frame []byte) {
	var dst, from mac
	copy(dst[:], frame[0:6])
	copy(from[:], frame[6:12])
	now := s.opts.Now()

	s.mu.Lock()
	defer s.mu.Unlock()
	if src.closed {
		return
	}
	s.learn(from, src, now)
	if dst[0]&1 == 0 {
		if e, ok := s.table[dst]; ok && now.Sub(e.seen) < s.opts.Ageing {
			if e.port != src { // a frame for its own sender goes nowhere
				e.port.enqueue(frame)
			}
			return
		}
	}
	for _, p := range s.ports {
		if p != src {
			p.enqueue(frame)
		}
	}
}

// learn records that from is behind port p. mu held.
func (s *Switch) learn(from mac, p *Port, now time.Time) {
	if from[0]&1 != 0 || from == (mac{}) {
		return // multicast or zero sources are never destinations
	}
	if _, ok := s.table[from]; !ok && len(s.table) >= s.opts.MaxMACs {
		s.expire(now)
		if len(s.table) >= s.opts.MaxMACs {
			return
		}
	}
	s.table[from] = macEntry{port: p, seen: now}
}

// expire forgets aged addresses. mu held.
func (s *Switch) expire(now time.Time) {
	for m, e := range s.table {
		if now.Sub(e.seen) >= s.opts.Ageing {
			delete(s.table, m)
		}
	}
}

// disconnect removes p and the addresses learned on it.
func (s *Switch) disconnect(p *Port) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return false
	}
	p.closed = true
	for i, q := range s.ports {
		if q == p {
			s.ports = append(s.ports[:i], s.ports[i+1:]...)
			break
		}
	}
	for m, e := range s.table {
		if e.port == p {
			delete(s.table, m)
		}
	}
	return true
}

// Lookup reports the port an address was learned on, for tests and
// monitoring.
func (s *Switch) Lookup(addr [6]byte) (*Port, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.table[addr]
	if !ok || s.opts.Now().Sub(e.seen) >= s.opts.Ageing {
		return nil, false
	}
	return e.port, true
}
