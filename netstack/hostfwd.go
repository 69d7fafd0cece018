package netstack

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"
)

// HostForward forwards TCP connections made to HostAddr on the host to
// GuestPort on the guest (GuestIP).
type HostForward struct {
	HostAddr  string // host "IP:port"; port 0 picks a free one
	GuestPort uint16
}

// ParseHostFwd parses QEMU's hostfwd syntax, tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
// (the "tcp:" may be left out). An empty HOSTADDR means 127.0.0.1, not
// QEMU's every interface, so a guest service is not exposed to the network
// by accident; write 0.0.0.0 to ask for that. GUESTADDR, if given, must be
// GuestIP. Only TCP is supported.
func ParseHostFwd(s string) (HostForward, error) {
	bad := func(why string) (HostForward, error) {
		return HostForward{}, fmt.Errorf("hostfwd %q: %s (want tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)", s, why)
	}
	rest := s
	if proto, r, ok := strings.Cut(s, ":"); ok && (proto == "tcp" || proto == "udp" || proto == "") {
		if proto == "udp" {
			return bad("only tcp forwards are supported")
		}
		rest = r
	}
	host, guest, ok := strings.Cut(rest, "-")
	if !ok {
		return bad("missing '-' between host and guest side")
	}
	hostIP, hostPort, ok := strings.Cut(host, ":")
	if !ok {
		return bad("host side is not ADDR:PORT")
	}
	if hostIP == "" {
		hostIP = hostLoopback
	}
	if net.ParseIP(hostIP) == nil {
		return bad(fmt.Sprintf("host address %q is not an IP", hostIP))
	}
	hp, err := strconv.ParseUint(hostPort, 10, 16)
	if err != nil {
		return bad(fmt.Sprintf("host port %q", hostPort))
	}
	guestIP, guestPort, ok := strings.Cut(guest, ":")
	if !ok {
		return bad("guest side is not [ADDR]:PORT")
	}
	if guestIP != "" && guestIP != GuestIP {
		return bad("the guest address is always " + GuestIP)
	}
	gp, err := strconv.ParseUint(guestPort, 10, 16)
	if err != nil || gp == 0 {
		return bad(fmt.Sprintf("guest port %q", guestPort))
	}
	return HostForward{HostAddr: net.JoinHostPort(hostIP, strconv.FormatUint(hp, 10)), GuestPort: uint16(gp)}, nil
}

// forwarder accepts host connections for one HostForward and splices each
// to a connection into the guest made through the virtual network.
type forwarder struct {
	ctx   context.Context
	vn    *virtualnetwork.VirtualNetwork
	ln    net.Listener
	guest string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func listenForward(ctx context.Context, vn *virtualnetwork.VirtualNetwork, f HostForward) (*forwarder, error) {
	ln, err := net.Listen("tcp", f.HostAddr)
	if err != nil {
		return nil, fmt.Errorf("netstack: hostfwd %s: %w", f.HostAddr, err)
	}
	return &forwarder{
		ctx: ctx, vn: vn, ln: ln,
		guest: net.JoinHostPort(GuestIP, strconv.Itoa(int(f.GuestPort))),
		conns: make(map[net.Conn]struct{}),
	}, nil
}

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			f.wg.Wait()
			return // closed
		}
		if !f.track(c) {
			c.Close()
			continue
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.splice(c)
		}()
	}
}

// track registers c so close can end it; false once closing.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

// splice copies both ways between the host connection and the guest,
// passing half-closes on, until both directions end.
func (f *forwarder) splice(host net.Conn) {
	defer f.untrack(host)
	guest, err := f.vn.DialContextTCP(f.ctx, f.guest)
	if err != nil {
		return // nothing listens in the guest: the host sees the close
	}
	if !f.track(guest) {
		guest.Close()
		return
	}
	defer f.untrack(guest)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(guest, host)
		closeWrite(guest)
	}()
	io.Copy(host, guest)
	closeWrite(host)
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// close stops accepting and ends every open connection.
func (f *forwarder) close() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
}
