package vmm

import "github.com/popek-vm/popek/devices/virtio"

// limitedNet polices a NIC's traffic: a frame that finds its direction's
// bucket empty is dropped, as a congested link would, and TCP in the guest
// or on the host backs off. Each direction has its own limiter (as
// Firecracker's rx and tx rate limiters).
type limitedNet struct {
	virtio.NetBackend
	tx, rx *RateLimiter
}

func newLimitedNet(b virtio.NetBackend, l RateLimit) *limitedNet {
	return &limitedNet{NetBackend: b, tx: NewRateLimiter(l), rx: NewRateLimiter(l)}
}

// Send forwards a guest frame if the transmit bucket allows it.
func (n *limitedNet) Send(frame []byte) {
	if n.tx.Reserve(uint64(len(frame))) == 0 {
		n.NetBackend.Send(frame)
	}
}

// SetReceiver installs deliver behind the receive bucket.
func (n *limitedNet) SetReceiver(deliver func(frame []byte)) {
	n.NetBackend.SetReceiver(func(frame []byte) {
		if n.rx.Reserve(uint64(len(frame))) == 0 {
			deliver(frame)
		}
	})
}
