// Package snapshot writes, verifies, restores and clones snapshots of a
// board.Machine: directories holding the machine state, guest memory and
// frozen disks, taken at one instant while the guest may keep running.
//
//	Write(dir, m, WriteOptions)     pause, capture, resume; then write atomically
//	Open(dir) / OpenWith            verify manifest, version, checksums, parent chain
//	(*Snapshot).Restore(opts)       the same VM, continued where it was
//	(*Snapshot).Clone(opts)         a new VM: fresh MAC/CID, own disk overlays
//	MarkTemplate(dir)               mark a snapshot as a template for clones
//	Flatten(snap, dir)              a full copy of a chain's end, without ancestors
//
// A snapshot directory (format version 1):
//
//	manifest.json  format version, id, popek version, creation time, VM
//	               config and devices, parent reference, memory info, size
//	               and checksum of every other file, self-checksum
//	state.bin      board.MachineState, gob-encoded behind a versioned header
//	memory.raw     guest RAM as a sparse file the size of RAM (zero pages
//	               are holes), mapped copy-on-write by restore
//	memory.zst     instead of memory.raw with Compress: zstd page runs
//	memory.idx     xxh3-64 hash of every page of the (flattened) memory
//	disks/N.img    slot N's writable raw disk, frozen
//	disks/N.ovl    slot N's copy-on-write overlay, frozen (base referenced)
//	boot/kernel, boot/initrd, boot/firmware   for rebooting a restored guest
//
// Checksums ("xxh3-128-pages:") are xxh3-128 over the file size and the
// (index, xxh3-64) of every non-zero 4 KiB page, so sparse files verify in
// time proportional to their data and a copy that fills holes with zeroes
// still verifies. See README.md for the design and measured costs.
package snapshot
