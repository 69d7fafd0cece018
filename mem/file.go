package mem

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NewFromFile maps the first size bytes of f as guest RAM at guest-physical
// base, copy-on-write (MAP_PRIVATE): pages are read from the file lazily on
// first touch, guest writes go to private copies and the file is never
// modified. Several RAMs mapping one file share its unmodified pages through
// the page cache. f may be closed afterwards.
//
// The file must stay at least size bytes long for the life of the RAM: a
// mapped page past the end of a truncated file faults (SIGBUS). Snapshot
// files are read-only for that reason.
func NewFromFile(base uint64, f *os.File, size uint64) (*RAM, error) {
	if size == 0 || size%PageSize != 0 {
		return nil, fmt.Errorf("mem: RAM size %d is not a positive multiple of %d", size, PageSize)
	}
	if base%PageSize != 0 {
		return nil, fmt.Errorf("mem: RAM base %#x is not page aligned", base)
	}
	if err := checkMappable(f, 0, size); err != nil {
		return nil, err
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mem: mmap %s: %w", f.Name(), err)
	}
	pages := size / PageSize
	r := &RAM{base: base, size: size, data: data, dirty: make([]atomic.Uint64, (pages+63)/64), fileBacked: true}
	r.SetMergeable(true) // the pages guests write become anonymous copies KSM can merge
	return r, nil
}

// MapFile replaces the guest pages [paddr, paddr+n) with a private mapping
// of f's bytes [off, off+n): the way an incremental snapshot's changed pages
// are laid over its parent's memory without copying them. paddr, off and n
// must be page aligned. Only call it while nothing runs on the RAM: the
// old contents of the range are dropped.
func (r *RAM) MapFile(paddr uint64, f *os.File, off int64, n uint64) error {
	if n == 0 || paddr%PageSize != 0 || off < 0 || off%PageSize != 0 || n%PageSize != 0 || !r.Contains(paddr, n) {
		return fmt.Errorf("mem: MapFile %#x+%#x from offset %#x: not page aligned or outside RAM", paddr, n, off)
	}
	if err := checkMappable(f, off, n); err != nil {
		return err
	}
	at := unsafe.Pointer(&r.data[paddr-r.base])
	_, err := unix.MmapPtr(int(f.Fd()), off, at, uintptr(n), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_NORESERVE|unix.MAP_FIXED)
	if err != nil {
		return fmt.Errorf("mem: mmap %s at %#x: %w", f.Name(), paddr, err)
	}
	r.fileBacked = true
	if r.mergeable {
		r.advise(r.data[paddr-r.base:][:n], true)
	}
	return nil
}

// FileBacked reports whether some pages may be mapped from a file.
func (r *RAM) FileBacked() bool { return r.fileBacked }

// mapAnonymous replaces [off, off+n) of the mapping (offsets from Base)
// with fresh zero pages, releasing private copies and file pages alike.
func (r *RAM) mapAnonymous(off, n uint64) error {
	at := unsafe.Pointer(&r.data[off])
	_, err := unix.MmapPtr(-1, 0, at, uintptr(n), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED)
	if err != nil {
		return fmt.Errorf("mem: remap %#x+%#x: %w", r.base+off, n, err)
	}
	if r.mergeable {
		r.advise(r.data[off:][:n], true)
	}
	return nil
}

// checkMappable refuses what would fault later: non-regular files and files
// shorter than the range.
func checkMappable(f *os.File, off int64, n uint64) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("mem: stat %s: %w", f.Name(), err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("mem: %s is not a regular file", f.Name())
	}
	if st.Size() < off || uint64(st.Size()-off) < n {
		return fmt.Errorf("mem: %s has %d bytes, need %d from offset %d", f.Name(), st.Size(), n, off)
	}
	return nil
}
