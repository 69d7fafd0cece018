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

	// numAS is how many address spaces each hart keeps translations for:
	// enough for a shell and a pipeline's two ends or a client and its
	// server. Each costs 146 KiB per hart; with four the idle-VM overhead
	// measured 9.5-9.9 MiB (the target is 10), with three 7.9-9.4.
	numAS = 3
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
	// log lists the slots filled since the last clear (kind<<tlbBits |
	// index), so that clearing a set costs what was used of it: a fresh
	// process touches a few hundred pages, not the 3072 slots. Past
	// tlbLogSize fills nlog stays at tlbLogSize+1 and clear sweeps all.
	log  [tlbLogSize]uint16
	nlog int
}

// tlbLogSize bounds a set's fill log (512 bytes).
const tlbLogSize = 256

// Kinds of tlbSet arrays, as recorded in the fill log.
const (
	kindFetch = iota
	kindLoad
	kindStore
)

func (s *tlbSet) array(kind int) *tlbArray {
	switch kind {
	case kindFetch:
		return &s.fetch
	case kindLoad:
		return &s.load
	}
	return &s.store
}

// put enters e at index i of the array of kind and logs the slot.
func (s *tlbSet) put(kind int, i uint64, e tlbEntry) {
	s.array(kind)[i] = e
	if s.nlog < tlbLogSize {
		s.log[s.nlog] = uint16(kind<<tlbBits | int(i))
	}
	if s.nlog <= tlbLogSize {
		s.nlog++
	}
}

// addrSpace holds the translated contexts (S, S with SUM, U) of one satp
// value. Tagging by the whole satp (mode, ASID, root PPN) rather than the
// ASID alone means a satp write never reuses entries of another page table,
// whatever software does with ASIDs; global mappings are not shared between
// address spaces, so an ASID-specific fence may simply drop a whole space.
type addrSpace struct {
	satp  uint64
	valid bool
	used  uint64 // Hart.asClock at the last switch to it (LRU)
	sets  [numTLBCtx - ctxS]tlbSet
}

func (a *tlbArray) clear() {
	for i := range a {
		a[i] = tlbEntry{tag: tlbInvalid}
	}
}

func (s *tlbSet) clear() {
	if s.nlog > tlbLogSize {
		s.fetch.clear()
		s.load.clear()
		s.store.clear()
	} else {
		for _, k := range s.log[:s.nlog] {
			s.array(int(k >> tlbBits))[k&tlbMask].tag = tlbInvalid
		}
	}
	s.nlog = 0
	s.superLo, s.superHi = tlbInvalid, 0
}

// forget marks the contents unknown, so that the next clear sweeps every
// slot (zeroed memory holds valid-looking entries for page 0).
func (s *tlbSet) forget() { s.nlog = tlbLogSize + 1 }

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

func (as *addrSpace) clear() {
	for i := range as.sets {
		as.sets[i].clear()
	}
}

func (as *addrSpace) asid() uint64 { return as.satp >> satpASIDShift & satpASIDMask }

// set returns the TLB set of translation context c in the current address
// space (or the M set).
func (h *Hart) set(c int) *tlbSet {
	if c == ctxM {
		return &h.tlbM
	}
	return &h.cur.sets[c-ctxS]
}

// flushTLB empties every TLB of the hart. The current address space is
// re-tagged with satp as it is now, so callers that set satp directly
// (reset, restore) stay consistent.
func (h *Hart) flushTLB() {
	h.tlbM.clear()
	for i := range h.spaces {
		as := &h.spaces[i]
		as.clear()
		as.valid, as.used = false, 0
	}
	h.cur.satp, h.cur.valid = h.csr.satp, true
	clear(h.stPages)
}

// switchSpace makes the address space of satp current after a satp
// write: a cached one if it matches, else the least recently used one,
// emptied. Its entries stay valid across switches because SFENCE.VMA
// (below) reaches every cached space, not only the current one.
func (h *Hart) switchSpace(satp uint64) {
	h.asClock++
	if h.cur.satp == satp {
		h.cur.used = h.asClock
		return
	}
	var victim *addrSpace
	for i := range h.spaces {
		as := &h.spaces[i]
		if as.valid && as.satp == satp {
			h.cur = as
			victim = nil
			break
		}
		if as != h.cur && (victim == nil || as.used < victim.used) {
			victim = as // invalid spaces have used 0, so they go first
		}
	}
	if victim != nil {
		victim.clear()
		victim.satp, victim.valid = satp, true
		h.cur = victim
	}
	h.cur.used = h.asClock
	h.updateContext()
}

// flushLoads empties the load TLBs (MXR changed).
func (h *Hart) flushLoads() {
	h.tlbM.load.clear()
	for i := range h.spaces {
		for j := range h.spaces[i].sets {
			h.spaces[i].sets[j].load.clear()
		}
	}
}

// sfence implements SFENCE.VMA: va is used when hasVA, asid when hasASID.
// Every cached address space is a candidate, not just the current one:
// rs2=x0 reaches all of them, rs2=ASID those tagged with that ASID. A fence
// for one ASID drops that space's global entries too: flushing more than
// the spec requires is always allowed.
func (h *Hart) sfence(va uint64, hasVA bool, asid uint64, hasASID bool) {
	asid &= satpASIDMask // bits above ASIDLEN are ignored
	for i := range h.spaces {
		as := &h.spaces[i]
		if !as.valid || (hasASID && as.asid() != asid) {
			continue
		}
		for j := range as.sets {
			if hasVA {
				as.sets[j].flushPage(va)
			} else {
				as.sets[j].clear()
			}
		}
	}
	if !hasVA && !hasASID {
		// No translated store entry is left; dropping the M context's too
		// lets the stPages bitmap start over.
		h.tlbM.store.clear()
		clear(h.stPages)
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
	h.tlbM.store.dropOffset(off)
	for i := range h.spaces {
		// Invalid spaces are emptied before reuse, but may still hold
		// entries; dropping those too keeps the rule simple.
		for j := range h.spaces[i].sets {
			h.spaces[i].sets[j].store.dropOffset(off)
		}
	}
}

func (a *tlbArray) dropOffset(off uint64) {
	for i := range a {
		if a[i].tag != tlbInvalid && a[i].tag+a[i].add == off {
			a[i].tag = tlbInvalid
		}
	}
}

// updateContext selects the TLB sets for the current privilege, MPRV, SUM
// and address space. Call it after anything that changes them.
func (h *Hart) updateContext() {
	h.fetchCtx = privCtx(h.priv, false)
	h.dataCtx = privCtx(h.dataPriv(), h.csr.mstatus&msSUM != 0)
	h.fe = &h.set(h.fetchCtx).fetch
	d := h.set(h.dataCtx)
	h.ld = &d.load
	h.st = &d.store
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
