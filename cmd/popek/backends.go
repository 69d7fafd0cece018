package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/netstack"
	"github.com/popek-vm/popek/vswitch"
)

// defaultMAC is QEMU's first NIC address; NIC i gets the last byte + i.
var defaultMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// newBlockDevice opens a --drive image as a virtio-blk disk.
func newBlockDevice(d driveSpec) (virtio.Device, error) {
	if d.Format != "" {
		got, err := virtio.DiskFormat(d.File)
		if err != nil {
			return nil, fmt.Errorf("--drive %s: %v", d.File, err)
		}
		if got != d.Format {
			return nil, fmt.Errorf("--drive %s: format=%s, but the file is a %s image (popek detects the format; format= may be left out)", d.File, d.Format, got)
		}
	}
	blk, err := virtio.NewBlock(virtio.BlockConfig{Path: d.File, ReadOnly: d.ReadOnly, Serial: d.Serial, Overlay: d.Overlay})
	if errors.Is(err, virtio.ErrWritableQcow2) {
		return nil, fmt.Errorf("--drive %s: a qcow2 image is only read, never written: add overlay=PATH (a copy-on-write file that takes the guest's writes) or readonly=on", d.File)
	}
	if err != nil {
		return nil, fmt.Errorf("--drive %s: %v", d.File, err)
	}
	return blk, nil
}

// newNetDevice creates a virtio-net NIC: on its own user-mode network, or
// plugged into the named switch of switches. A switch port's MAC, unless
// given, derives from macSeed and the NIC's index, so that every VM on a
// segment differs; user networks are private, so QEMU's address is fine.
func newNetDevice(n netSpec, index int, macSeed string, switches *vswitch.Registry) (virtio.Device, error) {
	mac := n.MAC
	var backend virtio.NetBackend
	switch n.Mode {
	case "switch":
		if mac == nil {
			mac = virtio.DeriveMAC(fmt.Sprintf("%s/%d", macSeed, index))
		}
		port, err := switches.Join(n.Switch)
		if err != nil {
			return nil, fmt.Errorf("--net %s: %v", n.Original, err)
		}
		backend = port
	default:
		if mac == nil {
			mac = append(net.HardwareAddr(nil), defaultMAC...)
			mac[5] += byte(index)
		}
		stack, err := netstack.New(netstack.Config{MAC: mac, Forwards: n.Forwards})
		if err != nil {
			return nil, fmt.Errorf("--net %s: %v", n.Original, err)
		}
		backend = stack
	}
	nic, err := virtio.NewNet(virtio.NetConfig{MAC: mac, Backend: backend})
	if err != nil {
		backend.Close()
		return nil, fmt.Errorf("--net %s: %v", n.Original, err)
	}
	return nic, nil
}

// newShareDevice exports a host directory over virtio-9p; the guest mounts
// it with: mount -t 9p -o trans=virtio TAG /mnt
func newShareDevice(s shareSpec) (virtio.Device, error) {
	dev, err := virtio.New9P(s.Path, s.Tag, s.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("--share %s: %v", s.Path, err)
	}
	return dev, nil
}

// newVsockDevice creates the virtio-vsock device; its Unix socket listens
// from now until the machine closes.
func newVsockDevice(v vsockSpec) (virtio.Device, error) {
	dev, err := virtio.NewVsock(v.CID, v.UDS)
	if err != nil {
		return nil, fmt.Errorf("--vsock: %v", err)
	}
	return dev, nil
}
