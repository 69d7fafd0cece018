package snapshot

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
)

// CloneOptions are RestoreOptions plus the new identity. Anything left nil
// is generated at random.
type CloneOptions struct {
	RestoreOptions
	// MAC returns the address for the network device in slot.
	MAC func(slot int) net.HardwareAddr
	// CID returns the vsock context ID for the device in slot (>= 3).
	CID func(slot int) uint64
}

// Clone restores a new VM from the snapshot with a fresh identity: each
// network device gets a new MAC address and each vsock device a new CID
// (RestoreOptions.Device receives the DeviceSpec with the new values, and
// builds the device with them), frames queued for the old identity are
// dropped, and the disks get the clone's own overlays in DiskDir. Many
// clones of one snapshot share its unmodified memory pages.
//
// How the running guest learns its new identity:
//
//   - vsock: the device sends a TRANSPORT_RESET event (as on every
//     restore) once the driver has an event buffer; Linux's driver then
//     re-reads guest_cid and resets its connected sockets, so new
//     connections use the new CID. No guest software is involved.
//   - MAC: Linux's virtio_net reads the MAC only at probe, and virtio has
//     no way to announce a new one, so each NIC flaps its link
//     (virtio.Net.FlapLink): down with a config interrupt, up again once
//     the driver has read the down status. A guest agent must react to
//     that carrier down→up by rebinding the driver (popek's default guest
//     does, see images/userland/cmds/popekinit); without one the guest
//     keeps sending from the snapshot's MAC until it reboots.
//   - entropy: the CRNG state is the snapshot's until the guest reseeds
//     (within a minute on Linux 6.1, from virtio-rng, which reads the
//     host's crypto/rand and so differs in every clone). The default
//     guest's agent reseeds at once on the link flap.
func (s *Snapshot) Clone(o CloneOptions) (*board.Machine, error) {
	m, err := s.restore(o.RestoreOptions, &identity{mac: o.MAC, cid: o.CID})
	if err != nil {
		return nil, err
	}
	for _, d := range m.VirtioDevices() {
		if f, ok := d.(interface{ FlapLink() }); ok {
			f.FlapLink()
		}
	}
	return m, nil
}

// identity hands out a clone's new identity and applies it to the state.
type identity struct {
	mac func(slot int) net.HardwareAddr
	cid func(slot int) uint64
}

func (id *identity) assign(spec DeviceSpec) DeviceSpec {
	if spec.Net != nil {
		mac := randomMAC()
		if id.mac != nil {
			mac = id.mac(spec.Slot)
		}
		spec.Net = &NetSpec{MAC: mac.String()}
	}
	if spec.Vsock != nil {
		cid := randomCID()
		if id.cid != nil {
			cid = id.cid(spec.Slot)
		}
		spec.Vsock = &VsockSpec{CID: cid}
	}
	return spec
}

// identityFields are the device-state fields that carry an identity: the
// clone takes them from its fresh device instead of the snapshot.
// dropFields hold data meant for the old identity.
var (
	identityFields = map[uint32][]string{
		virtio.DeviceNet:   {"MAC"},
		virtio.DeviceVsock: {"CID", "GuestCID"},
	}
	dropFields = map[uint32][]string{
		virtio.DeviceNet: {"Pending"},
	}
)

// patchState returns a copy of st whose identity-carrying device states
// are rewritten to the identity of the clone's devices.
func (id *identity) patchState(st *board.MachineState, devs []virtio.Device) (*board.MachineState, error) {
	out := *st
	out.Virtio = append([]virtio.MMIOState(nil), st.Virtio...)
	for i, d := range devs {
		t := d.Type()
		if identityFields[t] == nil {
			continue
		}
		fresh, err := d.MarshalState()
		if err != nil {
			return nil, fmt.Errorf("slot %d: %w", i, err)
		}
		patched, err := patchFields(out.Virtio[i].Device, fresh, identityFields[t], dropFields[t])
		if err != nil {
			return nil, fmt.Errorf("slot %d: %w", i, err)
		}
		out.Virtio[i].Device = patched
	}
	return &out, nil
}

// patchFields copies keys from fresh into saved (both JSON objects) and
// removes drop keys from saved.
func patchFields(saved, fresh []byte, keys, drop []string) ([]byte, error) {
	var s, f map[string]json.RawMessage
	if err := json.Unmarshal(saved, &s); err != nil {
		return nil, fmt.Errorf("device state: %v", err)
	}
	if err := json.Unmarshal(fresh, &f); err != nil {
		return nil, fmt.Errorf("fresh device state: %v", err)
	}
	for _, k := range keys {
		if v, ok := f[k]; ok {
			s[k] = v
		}
	}
	for _, k := range drop {
		delete(s, k)
	}
	return json.Marshal(s)
}

// randomMAC is a locally administered unicast address.
func randomMAC() net.HardwareAddr {
	var b [6]byte
	rand.Read(b[:])
	b[0] = b[0]&^1 | 2
	return net.HardwareAddr(b[:])
}

// randomCID avoids the reserved CIDs 0-2 and the 32-bit -1.
func randomCID() uint64 {
	var b [4]byte
	rand.Read(b[:])
	return 3 + uint64(binary.LittleEndian.Uint32(b[:]))%(1<<31)
}
