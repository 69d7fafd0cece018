package riscv

const (
	pageShift = 12
	pageSize  = 1 << pageShift
	pageMask  = pageSize - 1

	tlbBits = 10
	tlbSize = 1 << tlbBits
	tlbMask = tlbSize - 1

	// tlbInvalid never equals a page-aligned address masked for a lookup.
	tlbInvalid = ^uint64(0)
)

// Translation contexts. Each has its own TLB set so that a trap or SUM
// toggle (Linux flips SUM around every user copy) needs no flush.
const (
	ctxM    = iota // M-mode, or MPRV with MPP=M: physical
	ctxS           // S-mode, SUM=0
	ctxSSUM        // S-mode data with SUM=1
	ctxU           // U-mode
	numTLBCtx
)

// tlbEntry maps one virtual page. For loads and stores add turns a virtual
// address into an offset into guest RAM (off = va + add); for fetches it
// turns it into a guest-physical address (pa = va + add). Only RAM pages
// whose PMP result is uniform over the page are ever entered, so a hit needs
// no further checks.
type tlbEntry struct {
	tag uint64
	add uint64
}

type tlbArray [tlbSize]tlbEntry

type tlbSet struct {
	fetch, load, store tlbArray
	// Virtual range covered by entries that came from superpages: an
	// SFENCE.VMA of an address inside it must flush the whole set, since
	// those entries sit at the indices of other 4 KiB pages.
	superLo, superHi uint64
}

func (a *tlbArray) clear() {
	for i := range a {
		a[i] = tlbEntry{tag: tlbInvalid}
	}
}

func (s *tlbSet) clear() {
	s.fetch.clear()
	s.load.clear()
	s.store.clear()
	s.superLo, s.superHi = tlbInvalid, 0
}

// flushPage drops the entries for the page holding va.
func (s *tlbSet) flushPage(va uint64) {
	if va >= s.superLo && va < s.superHi {
		s.clear()
		return
	}
	tag := va &^ pageMask
	i := (va >> pageShift) & tlbMask
	for _, a := range []*tlbArray{&s.fetch, &s.load, &s.store} {
		if a[i].tag == tag {
			a[i].tag = tlbInvalid
		}
	}
}

// noteSuper records that an entry for va came from a leaf of size bytes.
func (s *tlbSet) noteSuper(va, size uint64) {
	lo := va &^ (size - 1)
	hi := lo + size
	if lo < s.superLo {
		s.superLo = lo
	}
	if hi > s.superHi || hi == 0 {
		s.superHi = hi
		if hi == 0 { // wrapped at the top of the address space
			s.superHi = tlbInvalid
		}
	}
}

// flushTLB empties every TLB of the hart.
func (h *Hart) flushTLB() {
	for i := range h.tlb {
		h.tlb[i].clear()
	}
	clear(h.stPages)
}

// flushTranslated empties the TLBs of the contexts that use satp. The M
// context's store entries go too, so that no store entry is left and the
// stPages bitmap can start over.
func (h *Hart) flushTranslated() {
	for i := ctxS; i < numTLBCtx; i++ {
		h.tlb[i].clear()
	}
	h.tlb[ctxM].store.clear()
	clear(h.stPages)
}

// flushLoads empties the load TLBs (MXR changed).
func (h *Hart) flushLoads() {
	for i := range h.tlb {
		h.tlb[i].load.clear()
	}
}

// sfence implements SFENCE.VMA: va is used when hasVA, asid when hasASID.
// Entries are not tagged with an ASID; the TLB only ever holds entries for
// the current satp (a satp write flushes), so a fence for another ASID has
// nothing to drop.
func (h *Hart) sfence(va uint64, hasVA bool, asid uint64, hasASID bool) {
	if hasASID && asid&satpASIDMask != (h.csr.satp>>satpASIDShift)&satpASIDMask {
		return
	}
	if !hasVA {
		h.flushTranslated()
		return
	}
	for i := ctxS; i < numTLBCtx; i++ {
		h.tlb[i].flushPage(va)
	}
}

// dropStoreEntriesFor invalidates store entries that map RAM offset off
// (page aligned), so stores to a page that now holds decoded code take the
// slow path and invalidate it.
func (h *Hart) dropStoreEntriesFor(off uint64) {
	p := off >> pageShift
	if p>>6 >= uint64(len(h.stPages)) || h.stPages[p>>6]&(1<<(p&63)) == 0 {
		return // never entered in a store TLB since the last full flush
	}
	h.stPages[p>>6] &^= 1 << (p & 63)
	for c := range h.tlb {
		a := &h.tlb[c].store
		for i := range a {
			if a[i].tag != tlbInvalid && a[i].tag+a[i].add == off {
				a[i].tag = tlbInvalid
			}
		}
	}
}

// updateContext selects the TLB sets for the current privilege, MPRV and
// SUM. Call it after anything that changes them.
func (h *Hart) updateContext() {
	h.fetchCtx = privCtx(h.priv, false)
	h.dataCtx = privCtx(h.dataPriv(), h.csr.mstatus&msSUM != 0)
	h.fe = &h.tlb[h.fetchCtx].fetch
	h.ld = &h.tlb[h.dataCtx].load
	h.st = &h.tlb[h.dataCtx].store
}

func privCtx(p Priv, sum bool) int {
	switch p {
	case PrivM:
		return ctxM
	case PrivS:
		if sum {
			return ctxSSUM
		}
		return ctxS
	}
	return ctxU
}

// dataPriv is the effective privilege of loads and stores (MPRV).
func (h *Hart) dataPriv() Priv {
	if h.priv == PrivM && h.csr.mstatus&msMPRV != 0 {
		return Priv((h.csr.mstatus & msMPP) >> msMPPShift)
	}
	return h.priv
}
