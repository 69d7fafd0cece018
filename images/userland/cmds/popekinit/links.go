package main

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// linkInfo is what the agent reads from an RTM_NEWLINK message.
type linkInfo struct {
	index   int32
	name    string
	flags   uint32 // ifi_flags: IFF_UP, ...
	carrier bool   // IFLA_CARRIER
	// downCount is IFLA_CARRIER_DOWN_COUNT, how often the carrier went
	// down since the interface was created.
	downCount uint32
}

func (l linkInfo) up() bool { return l.flags&unix.IFF_UP != 0 }

// parseLink decodes an RTM_NEWLINK or RTM_DELLINK message.
func parseLink(m syscall.NetlinkMessage) (linkInfo, error) {
	if m.Header.Type != unix.RTM_NEWLINK && m.Header.Type != unix.RTM_DELLINK {
		return linkInfo{}, fmt.Errorf("netlink message type %d is not a link", m.Header.Type)
	}
	if len(m.Data) < unix.SizeofIfInfomsg {
		return linkInfo{}, fmt.Errorf("link message of %d bytes", len(m.Data))
	}
	l := linkInfo{index: int32(ne.Uint32(m.Data[4:])), flags: ne.Uint32(m.Data[8:])}
	a, err := attrs(m)
	if err != nil {
		return linkInfo{}, fmt.Errorf("link %d: %w", l.index, err)
	}
	l.name = cString(a[unix.IFLA_IFNAME])
	if v := a[unix.IFLA_CARRIER]; len(v) == 1 {
		l.carrier = v[0] != 0
	}
	if v := a[unix.IFLA_CARRIER_DOWN_COUNT]; len(v) == 4 {
		l.downCount = ne.Uint32(v)
	}
	return l, nil
}

// cString is a NUL-terminated attribute as a string.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// linkTracker spots carrier flaps: an interface whose carrier went down
// and is up again since the agent last looked. It compares the kernel's
// carrier-down counter rather than single messages, because linkwatch
// coalesces a quick down-up into one message that already shows up.
type linkTracker struct {
	downCount map[int32]uint32
}

func newLinkTracker() *linkTracker { return &linkTracker{downCount: map[int32]uint32{}} }

// observe records l and reports whether it completes a down→up flap. The
// first sight of an interface only sets its baseline, so a new interface
// (one the agent just rebound, too) is not taken for a flapped one.
func (t *linkTracker) observe(l linkInfo) bool {
	prev, known := t.downCount[l.index]
	if !known {
		t.downCount[l.index] = l.downCount
		return false
	}
	if !l.carrier || !l.up() || int32(l.downCount-prev) <= 0 {
		return false // no flap, or one not over yet
	}
	t.downCount[l.index] = l.downCount
	return true
}

// reset sets the baseline of an interface the agent just created.
func (t *linkTracker) reset(l linkInfo) { t.downCount[l.index] = l.downCount }

func (t *linkTracker) forget(index int32) { delete(t.downCount, index) }
