package main

import (
	"fmt"
	"net"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/netstack"
)

// defaultMAC is QEMU's first NIC address; NIC i gets the last byte + i.
var defaultMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// newBlockDevice opens a --drive image as a virtio-blk disk.
func newBlockDevice(d driveSpec) (virtio.Device, error) {
	blk, err := virtio.NewBlock(virtio.BlockConfig{Path: d.File, ReadOnly: d.ReadOnly, Serial: d.Serial, Overlay: d.Overlay})
	if err != nil {
		return nil, fmt.Errorf("--drive %s: %v", d.File, err)
	}
	return blk, nil
}

// newNetDevice creates a virtio-net NIC on its own user-mode network.
func newNetDevice(n netSpec, index int) (virtio.Device, error) {
	mac := n.MAC
	if mac == nil {
		mac = append(net.HardwareAddr(nil), defaultMAC...)
		mac[5] += byte(index)
	}
	stack, err := netstack.New(netstack.Config{MAC: mac, Forwards: n.Forwards})
	if err != nil {
		return nil, fmt.Errorf("--net %s: %v", n.Original, err)
	}
	nic, err := virtio.NewNet(virtio.NetConfig{MAC: mac, Backend: stack})
	if err != nil {
		stack.Close()
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
