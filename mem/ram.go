// Package mem holds guest RAM: one anonymous mmap outside the Go heap,
// addressed by guest-physical address, with per-page dirty tracking for
// snapshots and migration.
package mem

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PageShift and PageSize are the granularity of tracking and sharing.
const (
	PageShift = 12
	PageSize  = 1 << PageShift
)

// RAM is a contiguous block of guest-physical memory starting at Base.
// Data is mmapped, so pointers into it never move and the GC never scans it.
type RAM struct {
	base uint64
	size uint64
	data []byte
	// dirty has one bit per page, set by Dirty; snapshots read and clear it.
	dirty []atomic.Uint64
	// fileBacked is set when pages may come from a private file mapping
	// (NewFromFile, MapFile), where MADV_DONTNEED would bring back the
	// file's bytes instead of zeroes.
	fileBacked bool
	// mergeable says the pages are offered to the kernel's same-page
	// merging (KSM); remapped ranges are offered again.
	mergeable bool
}

// New maps size bytes of zeroed guest RAM at guest-physical base.
// size must be a positive multiple of PageSize.
func New(base, size uint64) (*RAM, error) {
	if size == 0 || size%PageSize != 0 {
		return nil, fmt.Errorf("mem: RAM size %d is not a positive multiple of %d", size, PageSize)
	}
	if base%PageSize != 0 {
		return nil, fmt.Errorf("mem: RAM base %#x is not page aligned", base)
	}
	data, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mem: mmap %d bytes of guest RAM: %w", size, err)
	}
	pages := size / PageSize
	r := &RAM{base: base, size: size, data: data, dirty: make([]atomic.Uint64, (pages+63)/64)}
	r.SetMergeable(true)
	return r, nil
}

// SetMergeable offers the RAM's pages to the kernel's same-page merging
// (KSM), or withdraws them: with KSM running (/sys/kernel/mm/ksm/run = 1),
// identical pages of all the VMs on the host (zeroed pages, the same
// kernel and libraries) are kept once, copy-on-write, which is how QEMU's
// default mem-merge=on overcommits memory. New RAM is mergeable. It fails
// only where the host kernel has no KSM; the RAM works the same either way.
func (r *RAM) SetMergeable(on bool) error {
	r.mergeable = on
	return r.advise(r.data, on)
}

func (r *RAM) advise(b []byte, on bool) error {
	advice := unix.MADV_UNMERGEABLE
	if on {
		advice = unix.MADV_MERGEABLE
	}
	if err := unix.Madvise(b, advice); err != nil {
		return fmt.Errorf("mem: same-page merging: %w", err)
	}
	return nil
}

// Mergeable reports whether the pages are offered to same-page merging.
func (r *RAM) Mergeable() bool { return r.mergeable }

// Close unmaps the RAM. The RAM must not be used afterwards.
func (r *RAM) Close() error {
	if r.data == nil {
		return nil
	}
	err := unix.Munmap(r.data)
	r.data = nil
	return err
}

// Base is the guest-physical address of the first byte.
func (r *RAM) Base() uint64 { return r.base }

// Size is the RAM size in bytes.
func (r *RAM) Size() uint64 { return r.size }

// End is one past the last guest-physical address.
func (r *RAM) End() uint64 { return r.base + r.size }

// Bytes exposes the whole RAM; index 0 is guest-physical Base.
func (r *RAM) Bytes() []byte { return r.data }

// Contains reports whether [paddr, paddr+n) lies entirely inside RAM.
// It is overflow-safe, so hostile guest addresses and lengths are fine.
func (r *RAM) Contains(paddr, n uint64) bool {
	off := paddr - r.base
	return paddr >= r.base && off < r.size && n <= r.size-off
}

// Slice returns the host bytes backing [paddr, paddr+n), or false when any
// part falls outside RAM. Devices use it for DMA.
func (r *RAM) Slice(paddr, n uint64) ([]byte, bool) {
	if !r.Contains(paddr, n) {
		return nil, false
	}
	off := paddr - r.base
	return r.data[off : off+n : off+n], true
}

// Ptr returns a host pointer to the byte at guest-physical paddr, which must
// be inside RAM (callers check with Contains).
func (r *RAM) Ptr(paddr uint64) unsafe.Pointer {
	return unsafe.Pointer(&r.data[paddr-r.base])
}

// MarkDirty records a write to the page holding paddr.
func (r *RAM) MarkDirty(paddr uint64) {
	p := (paddr - r.base) >> PageShift
	w := &r.dirty[p>>6]
	bit := uint64(1) << (p & 63)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

// MarkDirtyRange records writes to every page overlapping [paddr, paddr+n).
func (r *RAM) MarkDirtyRange(paddr, n uint64) {
	if n == 0 || !r.Contains(paddr, n) {
		return
	}
	for p := paddr &^ (PageSize - 1); p < paddr+n; p += PageSize {
		r.MarkDirty(p)
	}
}

// TakeDirty returns the indices of the pages written since the last call and
// clears their marks.
func (r *RAM) TakeDirty() []uint64 {
	var pages []uint64
	for i := range r.dirty {
		w := r.dirty[i].Swap(0)
		for w != 0 {
			b := uint64(bitsTrailingZeros(w))
			pages = append(pages, uint64(i)*64+b)
			w &= w - 1
		}
	}
	return pages
}

// Discard releases the host memory behind whole pages in [paddr, paddr+n):
// they read as zero afterwards. The balloon and free page reporting use it.
func (r *RAM) Discard(paddr, n uint64) error {
	start := (paddr + PageSize - 1) &^ (PageSize - 1)
	end := (paddr + n) &^ (PageSize - 1)
	if end <= start || !r.Contains(start, end-start) {
		return nil
	}
	off := start - r.base
	if r.fileBacked {
		return r.mapAnonymous(off, end-start)
	}
	return unix.Madvise(r.data[off:off+(end-start)], unix.MADV_DONTNEED)
}
