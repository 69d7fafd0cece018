package virtio

import (
	"crypto/sha256"
	"net"
)

// DeriveMAC returns a locally administered unicast address 52:54:00:xx:xx:xx
// (QEMU's range) whose last three bytes hash seed, e.g. "vmname/slot", so a
// VM keeps its address across restarts and VMs on one segment differ.
func DeriveMAC(seed string) net.HardwareAddr {
	h := sha256.Sum256([]byte(seed))
	return net.HardwareAddr{0x52, 0x54, 0x00, h[0], h[1], h[2]}
}
