package vswitch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Host-wide switches. A switch named NAME in a Registry with a HostDir is
// shared by every process of the user on the host: the process holding an
// flock on HostDir/NAME.lock hosts the switch and serves HostDir/NAME.sock
// (SOCK_SEQPACKET, one Ethernet frame per packet, one connection per NIC);
// every NIC, the host process's own included, connects to that socket.
// When the hosting process exits the kernel drops its lock, the NICs'
// connections end, and the first remaining process to take the lock hosts
// the switch from then on: the others reconnect to it and the address
// table is learned again, as after a switch restart.

// Backend is what a NIC needs from a switch (virtio.NetBackend).
type Backend interface {
	SetReceiver(deliver func(frame []byte))
	Send(frame []byte)
	Close() error
}

// maxFrame bounds one packet: a 64 KiB frame (virtio-net's largest without
// TSO) plus headroom; longer packets are dropped.
const maxFrame = 65550

// hostQueueLen bounds a NIC's frames waiting for its socket.
const hostQueueLen = 256

// dialTimeout bounds how long a NIC waits for a switch to appear while
// another process is taking it over.
const dialTimeout = 5 * time.Second

// DefaultHostDir is where host-wide switches live: $POPEK_SWITCH_DIR, else
// $XDG_RUNTIME_DIR/popek/switches, else /tmp/popek-UID/switches.
func DefaultHostDir() string {
	if d := os.Getenv("POPEK_SWITCH_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "popek", "switches")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("popek-%d", os.Getuid()), "switches")
}

// Join connects a new NIC to the switch called name: host-wide when the
// registry has a HostDir, else the process's own.
func (r *Registry) Join(name string) (Backend, error) {
	if r.opts.HostDir == "" {
		return r.Connect(name)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := r.prepareHostDir(); err != nil {
		return nil, err
	}
	p := &HostPort{r: r, name: name, out: make(chan []byte, hostQueueLen), done: make(chan struct{})}
	c, err := r.dial(name)
	if err != nil {
		return nil, err
	}
	p.conn = c
	p.wg.Add(1)
	go p.write()
	return p, nil
}

func checkName(name string) error {
	if name == "" || len(name) > 64 || name == "." || name == ".." || filepath.Base(name) != name {
		return fmt.Errorf("vswitch: switch name %q must be 1..64 characters without '/'", name)
	}
	return nil
}

// prepareHostDir creates HostDir private to the user, and refuses one that
// another user could tamper with.
func (r *Registry) prepareHostDir() error {
	dir := r.opts.HostDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("vswitch: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("vswitch: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != uint32(os.Getuid()) || st.Mode&0o077 != 0 {
		return fmt.Errorf("vswitch: %s must be a directory owned by you with mode 0700", dir)
	}
	return nil
}

func (r *Registry) sockPath(name string) string { return filepath.Join(r.opts.HostDir, name+".sock") }

// dial connects to the switch's socket, hosting the switch first if no
// process does.
func (r *Registry) dial(name string) (*net.UnixConn, error) {
	addr := &net.UnixAddr{Net: "unixpacket", Name: r.sockPath(name)}
	deadline := time.Now().Add(dialTimeout)
	for {
		c, err := net.DialUnix("unixpacket", nil, addr)
		if err == nil {
			if err = awaitReady(c); err == nil {
				return c, nil
			}
			c.Close()
		}
		herr := r.host(name)
		if herr != nil && !errors.Is(herr, errHostedElsewhere) {
			return nil, herr
		}
		if herr == nil {
			continue // we host it now: the next dial succeeds
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("vswitch: switch %q: another process holds it but does not answer: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errHostedElsewhere = errors.New("hosted by another process")

// readyPacket is the hub's first packet on a connection: the NIC's port is
// on the switch, so frames sent from now on reach it. Frames are never
// this short.
var readyPacket = []byte{0}

func awaitReady(c *net.UnixConn) error {
	c.SetReadDeadline(time.Now().Add(dialTimeout))
	defer c.SetReadDeadline(time.Time{})
	var b [ethMinFrame]byte
	n, err := c.Read(b[:])
	if err != nil {
		return err
	}
	if n != len(readyPacket) || b[0] != readyPacket[0] {
		return errors.New("vswitch: unexpected greeting from the switch")
	}
	return nil
}

// hub is a host-wide switch this process hosts.
type hub struct {
	sw   *Switch
	l    *net.UnixListener
	lock *os.File
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[*net.UnixConn]struct{}
}

// host makes this process the host of switch name, if no process is.
func (r *Registry) host(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("vswitch: registry closed")
	}
	if r.hubs[name] != nil {
		return nil
	}
	lock, err := os.OpenFile(filepath.Join(r.opts.HostDir, name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("vswitch: %v", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return errHostedElsewhere
		}
		return fmt.Errorf("vswitch: lock switch %q: %v", name, err)
	}
	// The lock is ours, so any socket file left is a dead host's.
	sock := r.sockPath(name)
	os.Remove(sock)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Net: "unixpacket", Name: sock})
	if err != nil {
		lock.Close()
		return fmt.Errorf("vswitch: %v", err)
	}
	l.SetUnlinkOnClose(false) // a successor may already have replaced it
	h := &hub{sw: New(name, r.opts), l: l, lock: lock, conns: map[*net.UnixConn]struct{}{}}
	if r.hubs == nil {
		r.hubs = map[string]*hub{}
	}
	r.hubs[name] = h
	h.wg.Add(1)
	go h.serve()
	return nil
}

func (h *hub) serve() {
	defer h.wg.Done()
	for {
		c, err := h.l.AcceptUnix()
		if err != nil {
			return // closed
		}
		h.mu.Lock()
		h.conns[c] = struct{}{}
		h.mu.Unlock()
		h.wg.Add(1)
		go h.link(c)
	}
}

// link bridges one NIC's connection to a port of the switch.
func (h *hub) link(c *net.UnixConn) {
	defer h.wg.Done()
	port := h.sw.Connect()
	// A slow or stopped peer blocks only this port's delivery goroutine;
	// its queue then drops, as for an in-process NIC.
	c.Write(readyPacket) // before any frame: the port queues them until SetReceiver
	port.SetReceiver(func(f []byte) { c.Write(f) })
	buf := make([]byte, maxFrame+1)
	for {
		n, _, flags, _, err := c.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			break
		}
		if flags&unix.MSG_TRUNC != 0 || n > maxFrame {
			continue
		}
		port.Send(buf[:n])
	}
	port.Close()
	c.Close()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

func (h *hub) close() {
	h.l.Close()
	h.mu.Lock()
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	h.lock.Close() // releases the flock: another process may take over
}

// Close stops hosting this process's host-wide switches; NICs of other
// processes reconnect to whichever process takes them over. Close the
// NICs first.
func (r *Registry) Close() error {
	r.mu.Lock()
	hubs := r.hubs
	r.hubs, r.closed = nil, true
	r.mu.Unlock()
	for _, h := range hubs {
		h.close()
	}
	return nil
}

// HostPort is a NIC's connection to a host-wide switch. It implements
// virtio.NetBackend.
type HostPort struct {
	r    *Registry
	name string
	out  chan []byte
	done chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	conn    *net.UnixConn
	closed  bool
	started bool
}

// SetReceiver starts delivering frames from the switch. Only the first
// call has an effect.
func (p *HostPort) SetReceiver(deliver func(frame []byte)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	p.wg.Add(1)
	go p.read(deliver)
}

// Send queues a frame for the switch, dropping it if the queue is full.
func (p *HostPort) Send(frame []byte) {
	if len(frame) < ethMinFrame || len(frame) > maxFrame {
		return
	}
	select {
	case p.out <- append([]byte(nil), frame...):
	default:
	}
}

func (p *HostPort) current() *net.UnixConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn
}

func (p *HostPort) write() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case f := <-p.out:
			p.current().Write(f) // a broken connection is the reader's to replace
		}
	}
}

func (p *HostPort) read(deliver func([]byte)) {
	defer p.wg.Done()
	buf := make([]byte, maxFrame+1)
	for {
		c := p.current()
		n, _, flags, _, err := c.ReadMsgUnix(buf, nil)
		if err == nil && n > 0 {
			if flags&unix.MSG_TRUNC == 0 && n >= ethMinFrame {
				deliver(buf[:n])
			}
			continue
		}
		// The host went away (or we are closing): find the new one.
		select {
		case <-p.done:
			return
		default:
		}
		nc, err := p.r.dial(p.name)
		if err != nil {
			select {
			case <-p.done:
				return
			case <-time.After(100 * time.Millisecond):
				continue // keep trying: the segment comes back when a host does
			}
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			nc.Close()
			return
		}
		p.conn.Close()
		p.conn = nc
		p.mu.Unlock()
	}
}

// Close disconnects the NIC and waits for its goroutines.
func (p *HostPort) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.conn.Close()
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}
