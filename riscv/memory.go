package riscv

import "unsafe"

// Data accesses that the TLB fast path cannot serve: TLB misses, MMIO,
// misaligned and page-crossing accesses. Misaligned accesses are split and
// never raise misaligned exceptions.

// Result of a slow store.
const (
	storeOK   = iota
	storeFail // exception recorded in h.exc
	storeExit // done, but it modified decoded code: leave the block
)

// loadSlow loads size (1, 2, 4 or 8) bytes at va, zero-extended.
func (h *Hart) loadSlow(va, size uint64) (uint64, bool) {
	h.stats.TLBMisses++
	if n1 := pageSize - va&pageMask; n1 < size {
		return h.loadSplit(va, size, n1)
	}
	pa, ok := h.dataPA(va, size, accLoad)
	if !ok {
		return 0, false
	}
	return h.readPhys(pa, size, va)
}

// loadSplit loads an access that crosses into the next page: both halves
// are translated before either is read.
func (h *Hart) loadSplit(va, size, n1 uint64) (uint64, bool) {
	pa1, ok := h.dataPA(va, n1, accLoad)
	if !ok {
		return 0, false
	}
	pa2, ok := h.dataPA(va+n1, size-n1, accLoad)
	if !ok {
		return 0, false
	}
	var v uint64
	for i := uint64(0); i < size; i++ {
		pa, a := pa1+i, va+i
		if i >= n1 {
			pa = pa2 + i - n1
		}
		b, ok := h.readPhys(pa, 1, a)
		if !ok {
			return 0, false
		}
		v |= b << (8 * i)
	}
	return v, true
}

// storeSlow stores the low size bytes of val at va.
func (h *Hart) storeSlow(va, size, val uint64) int {
	h.stats.TLBMisses++
	if n1 := pageSize - va&pageMask; n1 < size {
		return h.storeSplit(va, size, val, n1)
	}
	pa, ok := h.dataPA(va, size, accStore)
	if !ok {
		return storeFail
	}
	return h.writePhys(pa, size, val, va)
}

func (h *Hart) storeSplit(va, size, val, n1 uint64) int {
	pa1, ok := h.dataPA(va, n1, accStore)
	if !ok {
		return storeFail
	}
	pa2, ok := h.dataPA(va+n1, size-n1, accStore)
	if !ok {
		return storeFail
	}
	res := storeOK
	for i := uint64(0); i < size; i++ {
		pa, a := pa1+i, va+i
		if i >= n1 {
			pa = pa2 + i - n1
		}
		switch h.writePhys(pa, 1, val>>(8*i), a) {
		case storeFail:
			return storeFail
		case storeExit:
			res = storeExit
		}
	}
	return res
}

// dataPA translates a data access that lies within one page, checks PMP
// and, when the page can be cached, fills the TLB for it.
func (h *Hart) dataPA(va, size uint64, acc access) (uint64, bool) {
	priv := h.dataPriv()
	pa, psize, ok := h.translate(va, acc, priv)
	if !ok {
		return 0, false
	}
	if !h.pmp.check(pa, size, priv, acc) {
		return 0, h.fail(accessFaultCause(acc), va)
	}
	h.fillData(va, pa, psize, priv, acc)
	return pa, true
}

// fillData enters the page of va into the load or store TLB when it is RAM
// with a page-uniform PMP result. Store entries are never made for pages
// holding decoded code, and the page is marked dirty when entered, since
// stores through the entry are not tracked individually.
func (h *Hart) fillData(va, pa, psize uint64, priv Priv, acc access) {
	ppage := pa &^ pageMask
	if !h.inRAM(ppage, pageSize) || !h.pmp.pageOK(ppage, priv, acc) {
		return
	}
	off := ppage - h.ramBase
	set := h.set(h.dataCtx)
	kind := kindLoad
	if acc == accStore {
		if h.blocks.isCode(off) {
			return
		}
		h.ram.MarkDirty(ppage)
		p := off >> pageShift
		h.stPages[p>>6] |= 1 << (p & 63)
		kind = kindStore
	}
	vpage := va &^ pageMask
	set.put(kind, (va>>pageShift)&tlbMask, tlbEntry{tag: vpage, add: off - vpage})
	if psize > pageSize {
		set.noteSuper(va, psize)
	}
}

// readPhys reads size bytes at guest-physical pa (already translated and
// PMP-checked); va is only for the fault address.
func (h *Hart) readPhys(pa, size, va uint64) (uint64, bool) {
	if h.inRAM(pa, size) {
		return h.ramRead(pa-h.ramBase, size), true
	}
	if h.bus == nil || !validPA(pa, size) {
		return 0, h.fail(excLoadAccess, va)
	}
	if pa&(size-1) != 0 {
		var v uint64
		for i := uint64(0); i < size; i++ {
			b, ok := h.bus.Read(pa+i, 1)
			if !ok {
				return 0, h.fail(excLoadAccess, va)
			}
			v |= (b & 0xff) << (8 * i)
		}
		return v, true
	}
	v, ok := h.bus.Read(pa, int(size))
	if !ok {
		return 0, h.fail(excLoadAccess, va)
	}
	if size < 8 {
		v &= 1<<(8*size) - 1
	}
	return v, true
}

// writePhys writes size bytes at guest-physical pa.
func (h *Hart) writePhys(pa, size, val, va uint64) int {
	if h.inRAM(pa, size) {
		res := storeOK
		if h.noteRAMWrite(pa, size) {
			res = storeExit
		}
		h.ramWrite(pa-h.ramBase, size, val)
		return res
	}
	if h.bus == nil || !validPA(pa, size) {
		h.fail(excStoreAccess, va)
		return storeFail
	}
	if pa&(size-1) != 0 {
		for i := uint64(0); i < size; i++ {
			if !h.bus.Write(pa+i, 1, val>>(8*i)&0xff) {
				h.fail(excStoreAccess, va)
				return storeFail
			}
		}
		return storeOK
	}
	if size < 8 {
		val &= 1<<(8*size) - 1
	}
	if !h.bus.Write(pa, int(size), val) {
		h.fail(excStoreAccess, va)
		return storeFail
	}
	return storeOK
}

// noteRAMWrite records a write by this hart to RAM at [pa, pa+n) that
// bypasses the store TLB: the pages become dirty, and decoded code in them
// is dropped. It reports whether code was dropped.
func (h *Hart) noteRAMWrite(pa, n uint64) bool {
	h.ram.MarkDirtyRange(pa, n)
	hit := false
	for p := pa &^ pageMask; p < pa+n; p += pageSize {
		if off := p - h.ramBase; h.blocks.isCode(off) {
			h.blocks.invalidatePage(off)
			hit = true
		}
	}
	return hit
}

// Physical addresses have 56 bits; nothing beyond is handed to the bus.
const paLimit = 1 << 56

func validPA(pa, size uint64) bool { return pa < paLimit && size <= paLimit-pa }

// ramRead reads size bytes at RAM offset off, little-endian.
func (h *Hart) ramRead(off, size uint64) uint64 {
	p := unsafe.Add(h.ramPtr, off)
	switch size {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

func (h *Hart) ramWrite(off, size, val uint64) {
	p := unsafe.Add(h.ramPtr, off)
	switch size {
	case 1:
		*(*uint8)(p) = uint8(val)
	case 2:
		*(*uint16)(p) = uint16(val)
	case 4:
		*(*uint32)(p) = uint32(val)
	default:
		*(*uint64)(p) = val
	}
}
