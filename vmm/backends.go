package vmm

import (
	"fmt"
	"net"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/netstack"
	"github.com/popek-vm/popek/vswitch"
)

// NewBackends returns the daemon's device backends: user-mode NAT (with
// host port forwards) per NIC, the virtual switches of switches (give every
// VM of a manager the same registry so they share segments), and 9p
// directory shares.
func NewBackends(switches *vswitch.Registry) Backends {
	return Backends{
		NewNet:   func(vm string, index int, n NetConfig) (virtio.Device, error) { return newNet(switches, vm, index, n) },
		NewShare: newShare,
	}
}

// newNet builds one NIC. Unless the config names a MAC, it derives from the
// VM's name and the NIC's index: stable across restarts, distinct between
// the VMs on a switch.
func newNet(switches *vswitch.Registry, vm string, index int, n NetConfig) (virtio.Device, error) {
	mac := virtio.DeriveMAC(fmt.Sprintf("%s/%d", vm, index))
	if n.MAC != "" {
		hw, err := net.ParseMAC(n.MAC)
		if err != nil {
			return nil, err
		}
		mac = hw
	}
	var backend virtio.NetBackend
	switch n.Mode {
	case "switch":
		port, err := switches.Join(n.Switch)
		if err != nil {
			return nil, err
		}
		backend = port
	case "user", "":
		var fwds []netstack.HostForward
		for _, s := range n.HostFwd {
			f, err := netstack.ParseHostFwd(s)
			if err != nil {
				return nil, err
			}
			fwds = append(fwds, f)
		}
		stack, err := netstack.New(netstack.Config{MAC: mac, Forwards: fwds})
		if err != nil {
			return nil, err
		}
		backend = stack
	default:
		return nil, fmt.Errorf("mode %q: want user or switch", n.Mode)
	}
	if n.RateLimit != nil {
		l, err := n.RateLimit.limit()
		if err != nil {
			backend.Close()
			return nil, fmt.Errorf("rate_limit: %v", err)
		}
		backend = newLimitedNet(backend, l)
	}
	nic, err := virtio.NewNet(virtio.NetConfig{MAC: mac, Backend: backend})
	if err != nil {
		backend.Close()
		return nil, err
	}
	return nic, nil
}

// newShare exports a host directory over virtio-9p.
func newShare(s ShareConfig) (virtio.Device, error) {
	return virtio.New9P(s.Path, s.Tag, s.ReadOnly)
}
