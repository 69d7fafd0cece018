package snapshot

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
)

// RestoreOptions say how to rebuild the machine around the snapshot.
type RestoreOptions struct {
	// Console receives the guest's serial output (and a virtio console's).
	Console io.Writer
	// Throttle is the machine's slice hook.
	Throttle board.SliceHook
	// DiskDir receives the restored VM's own disk files (one overlay per
	// writable drive, diskN.ovl), which must not exist yet. Required when
	// the snapshot has writable drives; the snapshot's files are never
	// written.
	DiskDir string
	// Device, when set, builds the device model for a slot; returning nil,
	// nil falls back to the default. Network, vsock and shared-directory
	// devices need it (their backends live outside the snapshot); disks,
	// entropy, balloon and console have defaults.
	Device func(spec DeviceSpec) (virtio.Device, error)
	// MaxLayerMappings caps how many runs of pages from incremental layers
	// are mapped from their files; beyond it they are copied into private
	// memory. 0 means 1024, a negative value copies always.
	MaxLayerMappings int
	// BootImages loads the snapshot's kernel, initrd and firmware into the
	// machine's Config, so the guest can be rebooted from them.
	BootImages bool
	// NoMemMerge keeps the guest's RAM out of the host's same-page
	// merging (board.Config.NoMemMerge).
	NoMemMerge bool
}

// Restore builds a machine from the snapshot, ready to Run: the guest
// continues where it was, with the same identity (MAC addresses, vsock
// CID). Memory is mapped lazily and copy-on-write from the snapshot's
// memory file; disks get fresh overlays in DiskDir over the frozen ones.
// On error nothing is left running or open, and the disk files it made in
// DiskDir are removed (so the same DiskDir can be used again).
func (s *Snapshot) Restore(o RestoreOptions) (*board.Machine, error) {
	return s.restore(o, nil)
}

func (s *Snapshot) restore(o RestoreOptions, id *identity) (_ *board.Machine, err error) {
	undo := s.undoDiskFiles(o.DiskDir)
	defer func() {
		if err != nil {
			undo()
		}
	}()
	devs, err := s.buildDevices(o, id)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", s.Dir, err)
	}
	st := s.state
	if id != nil {
		if st, err = id.patchState(st, devs); err != nil {
			closeAll(devs)
			return nil, fmt.Errorf("clone %s: %w", s.Dir, err)
		}
	}
	cfg := board.Config{Devices: devs, Console: o.Console, Throttle: o.Throttle, NoMemMerge: o.NoMemMerge}
	if o.BootImages {
		bc, err := s.BootConfig()
		if err != nil {
			closeAll(devs)
			return nil, fmt.Errorf("restore %s: %w", s.Dir, err)
		}
		cfg.Kernel, cfg.Initrd, cfg.Firmware = bc.Kernel, bc.Initrd, bc.Firmware
	}
	m, err := board.Restore(cfg, st, s.ramSource(o.MaxLayerMappings))
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", s.Dir, err)
	}
	return m, nil
}

// buildDevices makes the slot devices; on error those made are closed.
func (s *Snapshot) buildDevices(o RestoreOptions, id *identity) (devs []virtio.Device, err error) {
	defer func() {
		if err != nil {
			closeAll(devs)
			devs = nil
		}
	}()
	for _, spec := range s.Manifest.VM.Devices {
		if id != nil {
			spec = id.assign(spec)
		}
		var d virtio.Device
		if o.Device != nil {
			if d, err = o.Device(spec); err != nil {
				return devs, fmt.Errorf("slot %d (%s): %w", spec.Slot, spec.Kind, err)
			}
		}
		if d == nil {
			if d, err = s.defaultDevice(spec, o); err != nil {
				return devs, fmt.Errorf("slot %d (%s): %w", spec.Slot, spec.Kind, err)
			}
		}
		if d.Type() != spec.Type {
			d.Close()
			return devs, fmt.Errorf("slot %d: built a device of type %d for a %s device", spec.Slot, d.Type(), spec.Kind)
		}
		devs = append(devs, d)
	}
	return devs, nil
}

func (s *Snapshot) defaultDevice(spec DeviceSpec, o RestoreOptions) (virtio.Device, error) {
	switch spec.Type {
	case virtio.DeviceBlock:
		if spec.Block == nil {
			return nil, fmt.Errorf("the manifest does not describe the disk")
		}
		return s.restoreDisk(spec.Slot, spec.Block, o.DiskDir)
	case virtio.DeviceEntropy:
		return virtio.NewRNG(), nil
	case virtio.DeviceBalloon:
		return virtio.NewBalloon(nil), nil
	case virtio.DeviceConsole:
		out := o.Console
		if out == nil {
			out = io.Discard
		}
		return virtio.NewConsole(out), nil
	}
	return nil, fmt.Errorf("needs a backend: RestoreOptions.Device must build it")
}

func closeAll(devs []virtio.Device) {
	for _, d := range devs {
		d.Close()
	}
}

// BootConfig returns the machine configuration the snapshot was taken
// from, with its boot images (checked against their checksums), for
// booting the guest afresh (a reboot after restore). Devices are not set.
func (s *Snapshot) BootConfig() (board.Config, error) {
	v := s.Manifest.VM
	c := board.Config{Harts: v.Harts, MemSize: v.MemSize, Boot: s.state.Config.Boot, Cmdline: v.Cmdline, MMU: v.MMU,
		RNGSeed: s.state.Config.RNGSeed}
	for _, img := range []struct {
		name string
		dst  *[]byte
	}{{v.Kernel, &c.Kernel}, {v.Initrd, &c.Initrd}, {v.Firmware, &c.Firmware}} {
		if img.name == "" {
			continue
		}
		e, _ := s.Manifest.file(img.name)
		b, err := readVerified(filepath.Join(s.Dir, filepath.FromSlash(img.name)), e)
		if err != nil {
			return board.Config{}, err
		}
		*img.dst = b
	}
	return c, nil
}
