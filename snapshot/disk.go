package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/popek-vm/popek/devices/virtio"
)

// Disks are frozen by copying, while the machine is paused and after the
// device flushed: a writable raw image is copied whole (sparse), an
// overlay is copied and its base referenced. The copies are read-only
// parts of the snapshot; the running VM keeps writing its own files, so it
// can never change the snapshot's disks, and memory and disk agree because
// both are taken in the same pause. With a reflinking filesystem (btrfs,
// XFS) the copies share extents and cost almost nothing; elsewhere they
// cost a copy of the data (holes are skipped).

// snapshotDisk is what a block device (or a wrapper embedding
// *virtio.Block) offers for freezing.
type snapshotDisk interface {
	SnapshotConfig() virtio.BlockConfig
	Flush() error
}

// netIdentity and vsockIdentity read a device's identity for the manifest.
type netIdentity interface{ SaveState() virtio.NetState }

type vsockIdentity interface{ CID() uint64 }

// shareIdentity is a shared directory's tag and mode, for the manifest.
type shareIdentity interface {
	Tag() string
	ReadOnly() bool
}

// identityBytes is how much of a base image identifies it, as overlays do.
const identityBytes = 1 << 20

// describeDevices fills the manifest's device list, freezing disks into
// tmp. The machine must be paused.
func describeDevices(tmp string, devs []virtio.Device) ([]DeviceSpec, []string, error) {
	var specs []DeviceSpec
	var files []string
	for i, d := range devs {
		spec := DeviceSpec{Slot: i, Type: d.Type(), Kind: kindName(d.Type())}
		switch dev := d.(type) {
		case snapshotDisk:
			b, made, err := freezeDisk(tmp, i, dev)
			if err != nil {
				return nil, nil, fmt.Errorf("slot %d disk: %w", i, err)
			}
			spec.Block = b
			files = append(files, made...)
		case netIdentity:
			mac := dev.SaveState().MAC
			spec.Net = &NetSpec{MAC: macString(mac[:])}
		case vsockIdentity:
			spec.Vsock = &VsockSpec{CID: dev.CID()}
		case shareIdentity:
			spec.P9 = &P9Spec{Tag: dev.Tag(), ReadOnly: dev.ReadOnly()}
		}
		specs = append(specs, spec)
	}
	return specs, files, nil
}

func freezeDisk(tmp string, slot int, d snapshotDisk) (*BlockSpec, []string, error) {
	if err := d.Flush(); err != nil {
		return nil, nil, fmt.Errorf("flush: %w", err)
	}
	c := d.SnapshotConfig()
	if c.Path == "" {
		return nil, nil, errors.New("the device does not say which files hold it")
	}
	spec := &BlockSpec{Serial: c.Serial, ReadOnly: c.ReadOnly}
	if c.Overlay == "" && !c.ReadOnly {
		spec.Image = fmt.Sprintf("%s/%d.img", disksDir, slot)
		if err := copySparse(c.Path, filepath.Join(tmp, filepath.FromSlash(spec.Image)), 0o444); err != nil {
			return nil, nil, err
		}
		return spec, []string{spec.Image}, nil
	}
	base, err := filepath.Abs(c.Path)
	if err != nil {
		return nil, nil, err
	}
	spec.Base = base
	if spec.BaseSize, spec.BaseIdentity, err = identify(base); err != nil {
		return nil, nil, err
	}
	if c.Overlay == "" {
		return spec, nil, nil // read-only disk (raw or qcow2): nothing changes it
	}
	spec.Overlay = fmt.Sprintf("%s/%d.ovl", disksDir, slot)
	if err := copySparse(c.Overlay, filepath.Join(tmp, filepath.FromSlash(spec.Overlay)), 0o444); err != nil {
		return nil, nil, err
	}
	return spec, []string{spec.Overlay}, nil
}

// identify returns a base image's size and the SHA-256 of its first MiB.
func identify(name string) (int64, string, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, identityBytes)); err != nil {
		return 0, "", fmt.Errorf("read %s: %w", name, err)
	}
	return st.Size(), hex.EncodeToString(h.Sum(nil)), nil
}

// checkBase makes sure an external base is still the one snapshotted.
func checkBase(b *BlockSpec, full bool) error {
	st, err := os.Stat(b.Base)
	if err != nil {
		return fmt.Errorf("base image: %w", err)
	}
	if !st.Mode().IsRegular() {
		// Opening a FIFO or device to hash it could block forever.
		return fmt.Errorf("base image %s is not a regular file", b.Base)
	}
	if st.Size() != b.BaseSize {
		return fmt.Errorf("base image %s has %d bytes, the snapshot was taken with %d", b.Base, st.Size(), b.BaseSize)
	}
	if !full {
		return nil
	}
	_, id, err := identify(b.Base)
	if err != nil {
		return err
	}
	if id != b.BaseIdentity {
		return fmt.Errorf("base image %s is not the one the snapshot was taken with", b.Base)
	}
	return nil
}

// restoreDisk opens slot's disk for a restored VM: frozen files are only
// read; anything the VM writes goes to a file of its own in diskDir.
func (s *Snapshot) restoreDisk(slot int, b *BlockSpec, diskDir string) (*virtio.Block, error) {
	c := virtio.BlockConfig{Serial: b.Serial, ReadOnly: b.ReadOnly}
	own := func() (string, error) {
		if diskDir == "" {
			return "", errors.New("the disk is writable: RestoreOptions.DiskDir must say where its overlay goes")
		}
		if err := os.MkdirAll(diskDir, 0o755); err != nil {
			return "", err
		}
		name := filepath.Join(diskDir, fmt.Sprintf("disk%d.ovl", slot))
		if _, err := os.Lstat(name); err == nil {
			return "", fmt.Errorf("%s already exists: restore into a fresh directory", name)
		}
		return name, nil
	}
	switch {
	case b.Image != "":
		c.Path = filepath.Join(s.Dir, filepath.FromSlash(b.Image))
		if !b.ReadOnly {
			ovl, err := own()
			if err != nil {
				return nil, err
			}
			c.Overlay = ovl
		}
	case b.Overlay != "":
		c.Path = b.Base
		frozen := filepath.Join(s.Dir, filepath.FromSlash(b.Overlay))
		if b.ReadOnly {
			c.Overlay = frozen
			break
		}
		ovl, err := own()
		if err != nil {
			return nil, err
		}
		if err := copySparse(frozen, ovl, 0o644); err != nil {
			return nil, err
		}
		c.Overlay = ovl
	default:
		c.Path = b.Base
	}
	return virtio.NewBlock(c)
}

// undoDiskFiles returns what a failed restore calls to leave diskDir as it
// found it: the restore's overlays (diskN.ovl, for every disk slot whose
// file did not exist yet) removed, and diskDir too if it made it, so the
// same directory can be used again.
func (s *Snapshot) undoDiskFiles(diskDir string) func() {
	if diskDir == "" {
		return func() {}
	}
	_, err := os.Lstat(diskDir)
	madeDir := errors.Is(err, os.ErrNotExist)
	var fresh []string
	for _, d := range s.Manifest.VM.Devices {
		if d.Block == nil {
			continue
		}
		name := filepath.Join(diskDir, fmt.Sprintf("disk%d.ovl", d.Slot))
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			fresh = append(fresh, name)
		}
	}
	return func() {
		for _, name := range fresh {
			os.Remove(name)
		}
		if madeDir {
			os.Remove(diskDir) // only if empty
		}
	}
}

func kindName(t uint32) string {
	switch t {
	case virtio.DeviceNet:
		return "net"
	case virtio.DeviceBlock:
		return "block"
	case virtio.DeviceConsole:
		return "console"
	case virtio.DeviceEntropy:
		return "entropy"
	case virtio.DeviceBalloon:
		return "balloon"
	case virtio.DeviceVsock:
		return "vsock"
	case 9:
		return "9p"
	}
	return fmt.Sprintf("type-%d", t)
}

func macString(b []byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 17)
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hexd[x>>4], hexd[x&15])
	}
	return string(out)
}
