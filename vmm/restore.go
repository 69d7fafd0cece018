package vmm

import (
	"fmt"
	"net"
	"path/filepath"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/snapshot"
)

// Machines restored from snapshots (revert) or cloned from templates get
// their devices from the VM's config, as a boot would: disks on the VM's
// own drive files (with their rate limits), NICs and shares through the
// manager's Backends, vsock and the virtio console on the config's
// sockets. Only the identity
// comes from the DeviceSpec: the snapshot's MAC and CID on a revert, the
// clone's new ones on a clone.

// slotTypes is the virtio device type of each slot a config produces, in
// the order bootSpec.devices builds them.
func slotTypes(c *Config) []uint32 {
	var t []uint32
	for range c.Drives {
		t = append(t, virtio.DeviceBlock)
	}
	for range c.Nets {
		t = append(t, virtio.DeviceNet)
	}
	for range c.Shares {
		t = append(t, virtio.Device9P)
	}
	if c.Vsock != nil {
		t = append(t, virtio.DeviceVsock)
	}
	if c.RNG == nil || *c.RNG {
		t = append(t, virtio.DeviceEntropy)
	}
	if c.Balloon != nil {
		t = append(t, virtio.DeviceBalloon)
	}
	if c.VirtioConsole != nil {
		t = append(t, virtio.DeviceConsole)
	}
	return t
}

func typeName(t uint32) string {
	switch t {
	case virtio.DeviceBlock:
		return "disk"
	case virtio.DeviceNet:
		return "network"
	case virtio.Device9P:
		return "9p share"
	case virtio.DeviceVsock:
		return "vsock"
	case virtio.DeviceEntropy:
		return "entropy"
	case virtio.DeviceBalloon:
		return "balloon"
	case virtio.DeviceConsole:
		return "console"
	}
	return fmt.Sprintf("type-%d", t)
}

// checkShape makes sure a snapshot's machine is the one c describes:
// harts, memory and the device in every slot.
func checkShape(c *Config, s *snapshot.Snapshot) error {
	v := s.Manifest.VM
	mem, err := c.MemoryBytes()
	if err != nil {
		return err
	}
	if v.Harts != c.VCPUs || v.MemSize != mem {
		return fmt.Errorf("it holds a %d-vCPU %s machine, the VM is %d vCPU, %s", v.Harts, formatSize(v.MemSize), c.VCPUs, formatSize(mem))
	}
	want := slotTypes(c)
	if len(v.Devices) != len(want) {
		return fmt.Errorf("it has %d virtio devices, the VM %d", len(v.Devices), len(want))
	}
	for i, d := range v.Devices {
		if d.Type != want[i] {
			return fmt.Errorf("virtio slot %d holds a %s device, the VM's is %s", i, typeName(d.Type), typeName(want[i]))
		}
		if d.Type == virtio.DeviceBlock && d.Block == nil {
			return fmt.Errorf("virtio slot %d: the disk is not described", i)
		}
	}
	return nil
}

// deviceBuilder builds a restored machine's devices (RestoreOptions.Device)
// and keeps its disks for statistics.
type deviceBuilder struct {
	spec  *bootSpec
	disks []disk
	// takeover lets the vsock and console devices replace a socket
	// another process's device still listens on: the same VM, migrating
	// on one host.
	takeover bool
}

func (b *deviceBuilder) device(spec snapshot.DeviceSpec) (virtio.Device, error) {
	c := b.spec.cfg
	slot := spec.Slot
	nd, nn, ns := len(c.Drives), len(c.Nets), len(c.Shares)
	switch {
	case slot < nd:
		d := c.Drives[slot]
		blk, err := virtio.NewBlock(virtio.BlockConfig{Path: d.File, ReadOnly: d.ReadOnly, Serial: d.Serial, Overlay: d.Overlay})
		if err != nil {
			return nil, fmt.Errorf("drives[%d]: %v", slot, err)
		}
		var dev virtio.Device = blk
		lim := b.spec.diskLims[slot]
		if lim != nil {
			dev = newLimitedBlock(blk, lim)
		}
		b.disks = append(b.disks, disk{block: blk, lim: lim})
		return dev, nil
	case slot < nd+nn:
		k := slot - nd
		n := c.Nets[k]
		if spec.Net != nil {
			n.MAC = spec.Net.MAC
		}
		dev, err := b.spec.backends.NewNet(c.Name, k, n)
		if err != nil {
			return nil, fmt.Errorf("nets[%d]: %v", k, err)
		}
		return dev, nil
	case slot < nd+nn+ns:
		k := slot - nd - nn
		dev, err := b.spec.backends.NewShare(c.Shares[k])
		if err != nil {
			return nil, fmt.Errorf("shares[%d]: %v", k, err)
		}
		return dev, nil
	case c.Vsock != nil && slot == nd+nn+ns:
		cid := c.Vsock.CID
		if spec.Vsock != nil {
			cid = spec.Vsock.CID
		}
		newVsock := virtio.NewVsock
		if b.takeover {
			newVsock = virtio.NewVsockTakeover
		}
		dev, err := newVsock(cid, c.Vsock.UDS)
		if err != nil {
			return nil, fmt.Errorf("vsock: %v", err)
		}
		return dev, nil
	case c.VirtioConsole != nil && spec.Type == virtio.DeviceConsole:
		// The snapshot package's default would write to the serial log.
		return newConsoleDevice(c, b.takeover)
	}
	return nil, nil // entropy and balloon: the snapshot package's defaults
}

// newConsoleDevice is c's virtio console on its socket.
func newConsoleDevice(c *Config, takeover bool) (virtio.Device, error) {
	newConsole := virtio.NewSocketConsole
	if takeover {
		newConsole = virtio.NewSocketConsoleTakeover
	}
	dev, err := newConsole(c.VirtioConsole.Socket)
	if err != nil {
		if c.Template != "" {
			// Two VMs cannot listen on one path, and a clone's is its
			// template's unless its document gave another.
			return nil, fmt.Errorf("virtio_console: %v (a VM created from a template listens on the template's virtio_console.socket unless its document gives one)", err)
		}
		return nil, fmt.Errorf("virtio_console: %v", err)
	}
	return dev, nil
}

// restoreBuilder makes a run's first machine from a snapshot: the same
// guest continued (revert), or with clone set a new identity (a template's
// clone: the MACs and CID of the VM's config).
func restoreBuilder(s *snapshot.Snapshot, clone bool) machineBuilder {
	return func(r *vmRun) (*board.Machine, []*hartProbe, []disk, error) {
		probes, hook := r.newProbes()
		b := &deviceBuilder{spec: r.spec}
		ro := snapshot.RestoreOptions{Console: r.vm.console, Throttle: hook, Device: b.device, NoMemMerge: r.spec.board.NoMemMerge}
		var m *board.Machine
		var err error
		if clone {
			c := r.spec.cfg
			m, err = s.Clone(snapshot.CloneOptions{RestoreOptions: ro,
				MAC: func(slot int) net.HardwareAddr { return nicMAC(c, slot-len(c.Drives)) },
				CID: func(int) uint64 { return c.Vsock.CID },
			})
		} else {
			m, err = s.Restore(ro)
		}
		if err != nil {
			return nil, nil, nil, errorf(KindInternal, "%v", err)
		}
		for i, h := range m.Harts() {
			probes[i].hart = h
		}
		return m, probes, b.disks, nil
	}
}

// nicMAC is the address NIC k of c has: the config's, else the one
// NewBackends derives from the VM's name.
func nicMAC(c *Config, k int) net.HardwareAddr {
	if k >= 0 && k < len(c.Nets) && c.Nets[k].MAC != "" {
		if hw, err := net.ParseMAC(c.Nets[k].MAC); err == nil {
			return hw
		}
	}
	return virtio.DeriveMAC(fmt.Sprintf("%s/%d", c.Name, k))
}

// snapshotFile is a file of a snapshot by its manifest name.
func snapshotFile(s *snapshot.Snapshot, name string) string {
	return filepath.Join(s.Dir, filepath.FromSlash(name))
}
