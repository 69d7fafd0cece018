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
// reopens the same disk: Path is the raw image or the overlay's base,
// Overlay the overlay file ("" for a raw image). Paths are as they were
// opened.
func (b *Block) SnapshotConfig() BlockConfig {
	c := BlockConfig{ReadOnly: b.readOnly, Serial: string(bytes.TrimRight(b.serial[:], "\x00"))}
	switch img := b.img.(type) {
	case *rawImage:
		c.Path = img.f.Name()
	case *overlayImage:
		c.Path, c.Overlay = img.base.Name(), img.ovl.Name()
	}
	return c
}
