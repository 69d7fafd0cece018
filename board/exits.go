package board

import (
	"fmt"

	"github.com/popek-vm/popek/devices/virtio"
)

// virtioName is the short device-type name used in exit counters.
func virtioName(id uint32) string {
	switch id {
	case virtio.DeviceNet:
		return "net"
	case virtio.DeviceBlock:
		return "blk"
	case virtio.DeviceConsole:
		return "console"
	case virtio.DeviceEntropy:
		return "rng"
	case virtio.DeviceBalloon:
		return "balloon"
	case virtio.Device9P:
		return "9p"
	case virtio.DeviceVsock:
		return "vsock"
	}
	return fmt.Sprintf("type%d", id)
}

// Exits counts the VMM's exits by cause: MMIO accesses by device ("mmio:"
// followed by the window name) and SBI calls by extension ("sbi:" followed
// by the extension name). Safe to call while the machine runs.
func (m *Machine) Exits() map[string]uint64 {
	out := make(map[string]uint64)
	for k, v := range m.bus.Exits() {
		out["mmio:"+k] = v
	}
	if m.sbi != nil {
		for k, v := range m.sbi.Calls() {
			out["sbi:"+k] = v
		}
	}
	return out
}
