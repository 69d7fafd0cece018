package virtio

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/popek-vm/popek/mem"
)

// Ring indices are 16-bit fields shared with driver code running on other
// goroutines. Go has no 16-bit atomics, so these helpers use the aligned
// 32-bit word that holds the field. Callers guarantee the field is 2-byte
// aligned and inside RAM; RAM ends on a page boundary, so the enclosing word
// is inside RAM too. The host is little-endian like the guest (amd64, arm64).

// casRetries bounds the compare-and-swap loop against a driver that keeps
// rewriting the other half of the word.
const casRetries = 64

func wordOf(ram *mem.RAM, addr uint64) (*uint32, uint, bool) {
	w := addr &^ 3
	if addr&1 != 0 || !ram.Contains(w, 4) {
		return nil, 0, false
	}
	return (*uint32)(ram.Ptr(w)), uint(addr&3) * 8, true
}

// load16 reads a ring index with acquire ordering: loads of ring entries
// issued after it see what the driver wrote before publishing the index.
func load16(ram *mem.RAM, addr uint64) uint16 {
	p, shift, ok := wordOf(ram, addr)
	if !ok {
		b, ok := ram.Slice(addr, 2)
		if !ok {
			return 0
		}
		return binary.LittleEndian.Uint16(b)
	}
	return uint16(atomic.LoadUint32(p) >> shift)
}

// store16 publishes a ring index with release ordering (entries written
// before it are visible first) and acts as a full barrier, so a following
// load16 of the driver's event index cannot be satisfied early.
func store16(ram *mem.RAM, addr uint64, v uint16) {
	p, shift, ok := wordOf(ram, addr)
	if ok {
		for range casRetries {
			old := atomic.LoadUint32(p)
			nw := old&^(0xffff<<shift) | uint32(v)<<shift
			if atomic.CompareAndSwapUint32(p, old, nw) {
				return
			}
		}
	}
	if b, ok := ram.Slice(addr, 2); ok {
		binary.LittleEndian.PutUint16(b, v)
	}
	if ok {
		atomic.AddUint32(p, 0) // full barrier after the plain store
	}
}
