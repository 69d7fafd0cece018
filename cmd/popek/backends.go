package main

import (
	"fmt"

	"github.com/popek-vm/popek/devices/virtio"
)

// newNetDevice and newShareDevice create the backends of --net and --share.
// Their virtio device models are not part of popek yet, so the flags are
// parsed and validated and then refused with one clear line.
func newNetDevice(n netSpec) (virtio.Device, error) {
	return nil, fmt.Errorf("--net %s: virtio-net is not supported yet", n.Original)
}

func newShareDevice(s shareSpec) (virtio.Device, error) {
	return nil, fmt.Errorf("--share %s: directory sharing is not supported yet", s.Path)
}
