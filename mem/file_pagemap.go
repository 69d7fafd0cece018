package mem

import (
	"encoding/binary"
	"os"
	"unsafe"
)

// pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	pagemapPresent = 1 << 63
	pagemapSwapped = 1 << 62
)

// UntouchedPages returns a bitmap, bit i for page i, of the pages that were
// never populated: neither present nor swapped out in /proc/self/pagemap.
// Such anonymous pages read as zero, so snapshots skip them without
// reading them (a read would fault a zero page in for every one). ok is
// false when this cannot be known: RAM with file-backed pages, whose
// unpopulated pages hold the file's bytes, or no pagemap. Call it while
// nothing writes to the RAM.
func (r *RAM) UntouchedPages() (bits []uint64, ok bool) {
	if r.fileBacked || r.data == nil {
		return nil, false
	}
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	pages := r.size / PageSize
	bits = make([]uint64, (pages+63)/64)
	start := uint64(uintptr(unsafe.Pointer(&r.data[0]))) / PageSize
	buf := make([]byte, 8*4096)
	for p := uint64(0); p < pages; {
		n := min(pages-p, uint64(len(buf)/8))
		chunk := buf[:8*n]
		if _, err := f.ReadAt(chunk, int64((start+p)*8)); err != nil {
			return nil, false
		}
		for i := uint64(0); i < n; i++ {
			if binary.LittleEndian.Uint64(chunk[8*i:])&(pagemapPresent|pagemapSwapped) == 0 {
				bits[(p+i)>>6] |= 1 << ((p + i) & 63)
			}
		}
		p += n
	}
	return bits, true
}
