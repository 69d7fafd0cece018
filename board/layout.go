package board

import (
	"fmt"
	"sort"

	"github.com/popek-vm/popek/mem"
)

const pageSize = 4096

// area is a named range of guest-physical memory the boot uses.
type area struct {
	name       string
	start, end uint64
}

// layout is where everything goes in RAM before the first instruction.
type layout struct {
	firmware, kernel       *program
	initrd                 []byte
	initrdStart, initrdEnd uint64
	fdt                    []byte
	fdtAddr                uint64
}

func alignDown(v, a uint64) uint64 { return v &^ (a - 1) }

// placeHigh puts size bytes as high as possible below limit, page aligned.
func placeHigh(limit, size, floor uint64) (uint64, bool) {
	return placeHighAligned(limit, size, floor, pageSize)
}

// placeHighAligned puts size bytes as high as possible below limit, at a
// multiple of align.
func placeHighAligned(limit, size, floor, align uint64) (uint64, bool) {
	if floor > limit || size > limit-floor {
		return 0, false
	}
	start := alignDown(limit-size, align)
	return start, start >= floor
}

// fdtAlign is where the device tree goes, as on QEMU's virt: at a 2 MiB
// boundary below the end of RAM. Firmware edits the tree in place and
// grows it (OpenSBI's fw_dynamic adds reserved-memory nodes): a tree in the
// last page of RAM would grow past it.
const fdtAlign = 2 << 20

// fdtSlack is the least room left above the tree when RAM is too small for
// the 2 MiB placement.
const fdtSlack = 64 << 10

// planLayout places the initrd and device tree above the programs, top-down
// from the end of RAM, then checks that nothing overlaps or leaves RAM.
// tree renders the device tree for a given initrd range; its size must not
// depend on the values.
func planLayout(ramBase, ramSize uint64, firmware, kernel *program, initrd []byte, tree func(initrdStart, initrdEnd uint64) ([]byte, error)) (*layout, error) {
	l := &layout{firmware: firmware, kernel: kernel, initrd: initrd}
	ramEnd := ramBase + ramSize
	var areas []area
	floor := ramBase
	for _, p := range []struct {
		name string
		prog *program
	}{{"firmware", firmware}, {"kernel", kernel}} {
		if p.prog == nil {
			continue
		}
		for _, s := range p.prog.segments {
			if !containsRange(ramBase, ramSize, s.addr, s.memSize) {
				return nil, fmt.Errorf("%s (%s) needs %#x-%#x but RAM is %#x-%#x: too big for %d MiB of memory, or not built for this board",
					p.name, p.prog.kind, s.addr, s.addr+s.memSize, ramBase, ramEnd, ramSize>>20)
			}
			areas = append(areas, area{p.name, s.addr, s.addr + s.memSize})
			floor = max(floor, s.addr+s.memSize)
		}
	}

	probe, err := tree(0, uint64(len(initrd)))
	if err != nil {
		return nil, err
	}
	fdtReserve := (uint64(len(probe)) + pageSize - 1) &^ (pageSize - 1)
	fdtAddr, ok := placeHighAligned(ramEnd, fdtReserve, floor, fdtAlign)
	if !ok {
		fdtAddr, ok = placeHigh(ramEnd, fdtReserve+fdtSlack, floor)
	}
	if !ok {
		return nil, fmt.Errorf("no room for the device tree: %d MiB of memory is too small", ramSize>>20)
	}
	l.fdtAddr = fdtAddr
	if len(initrd) > 0 {
		start, ok := placeHigh(fdtAddr, uint64(len(initrd)), floor)
		if !ok {
			return nil, fmt.Errorf("initrd (%d KiB) does not fit in %d MiB of memory above the kernel", len(initrd)>>10, ramSize>>20)
		}
		l.initrdStart, l.initrdEnd = start, start+uint64(len(initrd))
		areas = append(areas, area{"initrd", l.initrdStart, l.initrdEnd})
	}
	if l.fdt, err = tree(l.initrdStart, l.initrdEnd); err != nil {
		return nil, err
	}
	if uint64(len(l.fdt)) != uint64(len(probe)) {
		return nil, fmt.Errorf("device tree size changed between passes (%d != %d)", len(l.fdt), len(probe))
	}
	areas = append(areas, area{"device tree", fdtAddr, fdtAddr + uint64(len(l.fdt))})
	if err := checkOverlaps(areas); err != nil {
		return nil, err
	}
	return l, nil
}

func containsRange(base, size, addr, n uint64) bool {
	off := addr - base
	return addr >= base && off <= size && n <= size-off
}

// checkOverlaps reports the first pair of areas sharing a byte.
func checkOverlaps(areas []area) error {
	sorted := append([]area(nil), areas...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].start < sorted[j].start })
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if b.start < a.end {
			return fmt.Errorf("%s (%#x-%#x) overlaps %s (%#x-%#x)", a.name, a.start, a.end, b.name, b.start, b.end)
		}
	}
	return nil
}

// load copies every piece of the layout into RAM, then drops the layout's
// references to the images: a loaded machine keeps no host copy of its
// kernel, firmware or initrd (the caller's Config may still hold them).
func (l *layout) load(ram *mem.RAM) error {
	defer l.release()
	put := func(addr uint64, data, gz []byte, memSize uint64) error {
		dst, ok := ram.Slice(addr, memSize)
		if !ok {
			return fmt.Errorf("load: %#x+%#x is outside RAM", addr, memSize)
		}
		n := copy(dst, data)
		if gz != nil {
			var err error
			if n, err = gunzipInto(dst, gz); err != nil {
				return err
			}
		}
		clear(dst[n:])
		ram.MarkDirtyRange(addr, memSize)
		return nil
	}
	for _, p := range []struct {
		name string
		prog *program
	}{{"firmware", l.firmware}, {"kernel", l.kernel}} {
		if p.prog == nil {
			continue
		}
		for _, s := range p.prog.segments {
			if err := put(s.addr, s.data, s.gz, s.memSize); err != nil {
				return fmt.Errorf("%s: %v", p.name, err)
			}
		}
	}
	if len(l.initrd) > 0 {
		if err := put(l.initrdStart, l.initrd, nil, uint64(len(l.initrd))); err != nil {
			return err
		}
	}
	return put(l.fdtAddr, l.fdt, nil, uint64(len(l.fdt)))
}

// release forgets the loaded images; entries, tohost and the device tree
// stay for resets and snapshots.
func (l *layout) release() {
	for _, p := range []*program{l.firmware, l.kernel} {
		if p != nil {
			p.segments = nil
		}
	}
	l.initrd = nil
}
