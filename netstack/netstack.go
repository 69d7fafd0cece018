// Package netstack is popek's user-mode networking (--net user): a NAT
// gateway built on gvisor-tap-vsock's virtual network, which runs a gVisor
// TCP/IP stack in the popek process. The guest needs no privileges on the
// host and the host needs no tap device.
//
// The network looks like QEMU's user networking:
//
//	10.0.2.0/24   the guest's subnet
//	10.0.2.2      gateway, DHCP server and DNS server; TCP and UDP to any
//	              other port of 10.0.2.2 reach the host's 127.0.0.1
//	10.0.2.15     the guest, leased by DHCP to the NIC's MAC
//
// Connections from the guest to other addresses are made by popek from the
// host (NAT). Host port forwards (hostfwd) listen on the host and connect to
// the guest's 10.0.2.15.
package netstack

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/containers/gvisor-tap-vsock/pkg/types"
	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"
)

// The fixed addresses of the user network.
const (
	Subnet    = "10.0.2.0/24"
	GatewayIP = "10.0.2.2"
	GuestIP   = "10.0.2.15"
	// GatewayMAC is the gateway's Ethernet address (gvisor-tap-vsock's
	// default).
	GatewayMAC = "5a:94:ef:e4:0c:dd"
	// DefaultMTU is what DHCP advertises when Config.MTU is zero.
	DefaultMTU = 1500
	// hostLoopback is where connections to the gateway's other ports go.
	hostLoopback = "127.0.0.1"
)

// Config describes one user network (one per NIC).
type Config struct {
	// MAC is the guest NIC's address; DHCP leases it GuestIP.
	MAC net.HardwareAddr
	// Forwards are host port forwards to the guest.
	Forwards []HostForward
	// MTU of the link; zero means DefaultMTU.
	MTU int
}

// Stack is a user network with one guest NIC attached. It implements
// virtio.NetBackend.
type Stack struct {
	vn     *virtualnetwork.VirtualNetwork
	conn   *frameConn
	ctx    context.Context
	cancel context.CancelFunc

	forwards []*forwarder
	wg       sync.WaitGroup
	close    sync.Once
}

// New starts a user network. Host forward listeners are open when it
// returns. The gVisor stack behind it cannot be shut down by
// gvisor-tap-vsock's API, so after Close a few idle goroutines remain.
func New(cfg Config) (*Stack, error) {
	if len(cfg.MAC) != 6 {
		return nil, fmt.Errorf("netstack: MAC %q is not six bytes", cfg.MAC)
	}
	mtu := cfg.MTU
	if mtu == 0 {
		mtu = DefaultMTU
	}
	vn, err := virtualnetwork.New(&types.Configuration{
		MTU:               mtu,
		Subnet:            Subnet,
		GatewayIP:         GatewayIP,
		GatewayMacAddress: GatewayMAC,
		DHCPStaticLeases:  map[string]string{GuestIP: cfg.MAC.String()},
		NAT:               map[string]string{GatewayIP: hostLoopback},
	})
	if err != nil {
		return nil, fmt.Errorf("netstack: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stack{vn: vn, conn: newFrameConn(), ctx: ctx, cancel: cancel}
	for _, f := range cfg.Forwards {
		fw, err := listenForward(ctx, vn, f)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.forwards = append(s.forwards, fw)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			fw.serve()
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Returns when the conn is closed; the error is only the end of
		// the stream.
		_ = vn.AcceptBess(ctx, s.conn)
	}()
	return s, nil
}

// SetReceiver implements virtio.NetBackend.
func (s *Stack) SetReceiver(deliver func(frame []byte)) { s.conn.deliver.Store(&deliver) }

// Send implements virtio.NetBackend: the frame is queued for the gateway.
func (s *Stack) Send(frame []byte) { s.conn.send(frame) }

// Dropped counts guest frames lost because the gateway fell behind.
func (s *Stack) Dropped() uint64 { return s.conn.dropped.Load() }

// ForwardAddrs returns the host addresses the forwards listen on, in
// Config order (useful when a forward asked for port 0).
func (s *Stack) ForwardAddrs() []net.Addr {
	addrs := make([]net.Addr, len(s.forwards))
	for i, f := range s.forwards {
		addrs[i] = f.ln.Addr()
	}
	return addrs
}

// Close stops the forwards and detaches the NIC.
func (s *Stack) Close() error {
	s.close.Do(func() {
		s.cancel()
		for _, f := range s.forwards {
			f.close()
		}
		s.conn.Close()
		s.wg.Wait()
	})
	return nil
}
