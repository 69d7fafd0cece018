package board

import (
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/popek-vm/popek/devices"
)

// region is one device window on the bus.
type region struct {
	base, size uint64
	dev        devices.Device
	name       string
	exits      *atomic.Uint64 // MMIO accesses: the VMM's "exits" by device
}

// Bus routes non-RAM physical accesses to devices. The table is sorted by
// base and fixed once the machine is built, so lookups need no locking.
type Bus struct {
	regions []region
}

// Map adds a device window. Overlapping windows are a board bug and rejected.
func (b *Bus) Map(base, size uint64, dev devices.Device) error {
	return b.MapNamed(fmt.Sprintf("mmio@%#x", base), base, size, dev)
}

// MapNamed is Map with the name under which the window's accesses are
// counted (see Exits).
func (b *Bus) MapNamed(name string, base, size uint64, dev devices.Device) error {
	if size == 0 || base+size < base {
		return fmt.Errorf("bus: bad window %#x+%#x", base, size)
	}
	i := sort.Search(len(b.regions), func(i int) bool { return b.regions[i].base >= base })
	if i > 0 && b.regions[i-1].base+b.regions[i-1].size > base {
		return fmt.Errorf("bus: window %#x+%#x overlaps %#x", base, size, b.regions[i-1].base)
	}
	if i < len(b.regions) && base+size > b.regions[i].base {
		return fmt.Errorf("bus: window %#x+%#x overlaps %#x", base, size, b.regions[i].base)
	}
	b.regions = append(b.regions, region{})
	copy(b.regions[i+1:], b.regions[i:])
	b.regions[i] = region{base: base, size: size, dev: dev, name: name, exits: new(atomic.Uint64)}
	return nil
}

// find returns the region wholly containing [paddr, paddr+size), or nil.
func (b *Bus) find(paddr uint64, size int) *region {
	r := b.regions
	lo, hi := 0, len(r)
	for lo < hi { // last region with base <= paddr
		mid := int(uint(lo+hi) >> 1)
		if r[mid].base <= paddr {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return nil
	}
	reg := &r[lo-1]
	off := paddr - reg.base
	if off >= reg.size || uint64(size) > reg.size-off {
		return nil
	}
	return reg
}

// Read implements riscv.Bus.
func (b *Bus) Read(paddr uint64, size int) (uint64, bool) {
	reg := b.find(paddr, size)
	if reg == nil {
		return 0, false
	}
	reg.exits.Add(1)
	return reg.dev.Read(paddr-reg.base, size), true
}

// Write implements riscv.Bus.
func (b *Bus) Write(paddr uint64, size int, val uint64) bool {
	reg := b.find(paddr, size)
	if reg == nil {
		return false
	}
	reg.exits.Add(1)
	reg.dev.Write(paddr-reg.base, size, val)
	return true
}

// Exits returns how many guest accesses each mapped window has served,
// by window name (MMIO exits by device, for monitoring).
func (b *Bus) Exits() map[string]uint64 {
	out := make(map[string]uint64, len(b.regions))
	for _, r := range b.regions {
		out[r.name] += r.exits.Load()
	}
	return out
}
