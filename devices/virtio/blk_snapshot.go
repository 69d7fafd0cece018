package virtio

import "bytes"

// Snapshots freeze a disk by copying its files while the machine is
// paused; these two calls are what they need from a Block. Both belong to
// the worker's side: call them only while the transport is quiesced
// (MMIO.Quiesce, board.Machine.Pause) or before the machine runs.

// Flush makes every completed write durable and the image files
// self-consistent: an overlay's in-memory allocation bitmap is written out,
// so a copy of the files taken afterwards holds exactly the guest's disk.
func (b *Block) Flush() error { return b.img.Flush() }

// SnapshotConfig describes the files behind the disk as a BlockConfig that
// reopens the same disk: Path is the image (raw or qcow2) or the overlay's
// base, Overlay the overlay file ("" without one). Paths are as they were
// opened.
func (b *Block) SnapshotConfig() BlockConfig {
	c := BlockConfig{ReadOnly: b.readOnly, Serial: string(bytes.TrimRight(b.serial[:], "\x00"))}
	switch img := b.img.(type) {
	case *rawImage:
		c.Path = img.f.Name()
	case *qcow2Image:
		c.Path = img.path
	case *overlayImage:
		c.Path, c.Overlay = img.basePath, img.ovl.Name()
	}
	return c
}
