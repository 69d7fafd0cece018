package virtio

// NetFlap is where a link flap started by FlapLink stands. It is part of
// NetState, so a snapshot taken mid-flap finishes the flap after restore.
type NetFlap uint8

const (
	// NetFlapNone: the guest reads the link status SetLink chose.
	NetFlapNone NetFlap = iota
	// NetFlapOwed: a flap was asked for while no driver ran; the link goes
	// down when the driver sets DRIVER_OK.
	NetFlapOwed
	// NetFlapDown: the status reads link-down and a configuration change
	// interrupt was raised. The first driver read of the status field ends
	// the flap: that read still returns down, then the link is up again
	// with a second configuration change interrupt.
	NetFlapDown
)

// FlapLink takes the link down and up again as the guest sees it, so that
// a running guest notices a new identity (a clone's MAC): Linux's
// virtio_net reads the MAC only at probe, but reports every carrier change,
// and a guest agent rebinds the driver on down→up (popek's default guest
// does). Ending the flap on the driver's read rather than after a delay
// makes sure the driver sees the down state, however slow the guest is.
// Frames for the guest are dropped while the link is down. A driver that
// did not accept VIRTIO_NET_F_STATUS cannot be told, and gets no flap.
func (n *Net) FlapLink() {
	n.mu.Lock()
	switch {
	case !n.active:
		n.flap = NetFlapOwed
	case n.statusNeg:
		n.flap = NetFlapDown
	}
	announce := n.flap == NetFlapDown
	n.mu.Unlock()
	if announce && n.host != nil {
		n.host.ConfigChanged()
	}
}
