package riscv

import "unsafe"

const (
	maxBlockInsts = 64
	// maxBlocks bounds the decoded-block cache; beyond it everything is
	// dropped and decoding starts over.
	maxBlocks = 1 << 15
	// staleAge is how many FENCE.I generations a stale block is kept for
	// revalidation. Linux issues a FENCE.I for every exec and module load,
	// so a block no lookup has wanted for that long is mostly dead code
	// (init sections, exited programs); keeping it costs memory in every
	// idle VM.
	staleAge = 16
	jcBits   = 12
	jcMask   = 1<<jcBits - 1
)

// block is a run of pre-decoded instructions from one guest-physical page,
// ending at a control transfer, a system instruction, the page end or
// maxBlockInsts. A JAL whose target lies in the same page does not end it:
// decoding continues at the target (calls and jumps cost no block exit).
type block struct {
	pa    uint64
	gen   uint64 // equals blockCache.gen while valid; 0 = invalid or uncached
	nmem  uint64 // number of loads/stores/AMOs among insts
	insts []inst
	// Successors within the same page, found by earlier executions: the
	// fall-through and the taken edge of the final branch or JAL.
	fall, taken *block
	// nextInPage links the valid blocks of one page (blockCache.pages);
	// meaningless once the block is stale.
	nextInPage *block
}

// blockCache holds a hart's decoded blocks. A block is valid while its gen
// equals the cache's. FENCE.I only advances gen: the stale blocks stay in
// m and are revalidated on their next lookup if RAM still holds the same
// instruction bits (Linux issues FENCE.I often; re-decoding everything each
// time would dominate). Blocks known to be overwritten are deleted, and
// every staleAge generations those stale for longer are dropped.
type blockCache struct {
	gen   uint64
	m     map[uint64]*block   // by guest-physical address, valid or stale
	pages map[uint64]*block   // valid blocks by RAM offset of their page (a list)
	code  []uint64            // bitmap: RAM pages holding valid blocks
	jc    [1 << jcBits]*block // direct-mapped front of m (valid blocks)
	// sweptGen is gen at the last sweep; peak is the largest len(m) since m
	// was last allocated, to tell when rebuilding it would free memory.
	sweptGen uint64
	peak     int

	// scratch holds the single instruction decoded when a block cannot be
	// cached (fetch from ROM/MMIO, a page with non-uniform PMP, an
	// instruction straddling two pages).
	scratch      block
	scratchInsts [1]inst
	// buf collects a block while it is decoded.
	buf [maxBlockInsts]inst
}

func (c *blockCache) init(ramSize uint64) {
	c.code = make([]uint64, (ramSize>>pageShift+63)/64)
	c.m = make(map[uint64]*block)
	c.pages = make(map[uint64]*block)
	c.gen = 1
	c.sweptGen = 1
}

func (c *blockCache) isCode(off uint64) bool {
	p := off >> pageShift
	return p>>6 < uint64(len(c.code)) && c.code[p>>6]&(1<<(p&63)) != 0
}

// invalidatePage deletes the blocks decoded from the RAM page at off.
func (c *blockCache) invalidatePage(off uint64) {
	off &^= pageMask
	for b := c.pages[off]; b != nil; {
		b.gen = 0
		delete(c.m, b.pa)
		if j := &c.jc[(b.pa>>1)&jcMask]; *j == b {
			*j = nil
		}
		next := b.nextInPage
		b.nextInPage = nil
		b = next
	}
	delete(c.pages, off)
	p := off >> pageShift
	if p>>6 < uint64(len(c.code)) {
		c.code[p>>6] &^= 1 << (p & 63)
	}
}

// flushAll makes every block stale (FENCE.I), dropping those stale for
// more than staleAge generations every staleAge generations. Beyond
// maxBlocks all are dropped, which bounds the cache.
func (c *blockCache) flushAll() {
	c.gen++
	clear(c.pages)
	clear(c.code)
	c.jc = [1 << jcBits]*block{}
	switch {
	case len(c.m) >= maxBlocks:
		c.m = make(map[uint64]*block)
		c.peak, c.sweptGen = 0, c.gen
	case c.gen-c.sweptGen >= staleAge:
		c.sweep()
	}
}

// sweep drops the blocks stale for more than staleAge generations. It runs
// right after a flush, when no block is valid and every page list is gone.
// Links to dropped blocks are cut so that the collector frees them, and m
// is rebuilt when that frees most of its table (a Go map never shrinks).
func (c *blockCache) sweep() {
	c.sweptGen = c.gen
	dead := func(b *block) bool { return b != nil && c.gen-b.gen > staleAge }
	for pa, b := range c.m {
		if dead(b) {
			delete(c.m, pa)
			continue
		}
		if dead(b.fall) {
			b.fall = nil
		}
		if dead(b.taken) {
			b.taken = nil
		}
		b.nextInPage = nil
	}
	if len(c.m) < c.peak/4 {
		m := make(map[uint64]*block, len(c.m))
		for pa, b := range c.m {
			m[pa] = b
		}
		c.m, c.peak = m, len(m)
	}
}

// lookup returns the block for virtual pc, decoding it if needed. On a
// fetch fault it takes the trap and returns nil; h.PC must equal pc on
// entry (it is the trap's epc) and is the handler afterwards.
func (h *Hart) lookup(pc uint64) *block {
	if e := &h.fe[(pc>>pageShift)&tlbMask]; e.tag == pc&^pageMask {
		h.fetchHits++
		pa := pc + e.add
		c := &h.blocks
		if b := c.jc[(pa>>1)&jcMask]; b != nil && b.pa == pa && b.gen == c.gen {
			return b
		}
		return h.blockAt(pc, pa)
	}
	return h.fetchMiss(pc)
}

// fetchMiss translates pc after a fetch TLB miss.
func (h *Hart) fetchMiss(pc uint64) *block {
	h.stats.TLBMisses++
	h.fetchMisses++
	pa, psize, ok := h.translate(pc, accFetch, h.priv)
	if !ok {
		h.raise()
		return nil
	}
	if !h.pmp.check(pa, 2, h.priv, accFetch) {
		h.fail(excInstAccess, pc)
		h.raise()
		return nil
	}
	ppage := pa &^ pageMask
	if !h.inRAM(ppage, pageSize) || !h.pmp.pageOK(ppage, h.priv, accFetch) {
		return h.scratchBlock(pc, pa)
	}
	vpage := pc &^ pageMask
	set := h.set(h.fetchCtx) // its fetch array is h.fe
	set.put(kindFetch, (pc>>pageShift)&tlbMask, tlbEntry{tag: vpage, add: ppage - vpage})
	if psize > pageSize {
		set.noteSuper(pc, psize)
	}
	return h.blockAt(pc, pa)
}

// blockAt finds or decodes the cached block at pa (a RAM address whose page
// passed the fetch checks).
func (h *Hart) blockAt(pc, pa uint64) *block {
	c := &h.blocks
	b := c.m[pa]
	switch {
	case b != nil && b.gen == c.gen:
		c.jc[(pa>>1)&jcMask] = b
		return b
	case b != nil && h.sameBits(b):
		// Stale after a FENCE.I but unchanged: valid again.
	default:
		if b = h.decodeBlock(pa); b == nil {
			return h.scratchBlock(pc, pa)
		}
		if len(c.m) >= maxBlocks {
			c.flushAll()
		}
		c.m[pa] = b
		c.peak = max(c.peak, len(c.m))
	}
	b.gen = c.gen
	off := (pa - h.ramBase) &^ pageMask
	if !c.isCode(off) {
		p := off >> pageShift
		c.code[p>>6] |= 1 << (p & 63)
		h.dropStoreEntriesFor(off)
	}
	b.nextInPage = c.pages[off]
	c.pages[off] = b
	c.jc[(pa>>1)&jcMask] = b
	return b
}

// sameBits reports whether RAM still holds the instructions b was decoded
// from.
func (h *Hart) sameBits(b *block) bool {
	off := b.pa - h.ramBase
	for i := range b.insts {
		in := &b.insts[i]
		w := uint32(h.ram16(off + uint64(in.off)))
		if in.len == 4 {
			w |= uint32(h.ram16(off+uint64(in.off)+2)) << 16
		}
		if w != in.raw {
			return false
		}
	}
	return true
}

// decodeBlock decodes the instructions from RAM at pa up to the end of the
// block. It returns nil when the first instruction straddles the page end.
func (h *Hart) decodeBlock(pa uint64) *block {
	c := &h.blocks
	start := pa - h.ramBase
	pageStart := start &^ pageMask
	pageEnd := pageStart + pageSize
	off := start
	n := 0
	var nmem uint64
	for n < maxBlockInsts {
		w := uint32(h.ram16(off))
		if w&3 == 3 {
			if off+4 > pageEnd {
				break
			}
			w |= uint32(h.ram16(off+2)) << 16
		}
		in := decode(w)
		in.off = int16(off - start)
		if in.op.isMem() {
			nmem++
		}
		next := off + uint64(in.len)
		if in.op == opJAL {
			if t := off + uint64(int64(in.imm)); t >= pageStart && t < pageEnd {
				in.op = opJALI
				next = t
			}
		}
		c.buf[n] = in
		n++
		off = next
		if in.op.endsBlock() || off >= pageEnd {
			break
		}
	}
	if n == 0 {
		return nil
	}
	insts := make([]inst, n)
	copy(insts, c.buf[:n])
	return &block{pa: pa, nmem: nmem, insts: insts}
}

// nextPC is the address that follows the first n instructions of a block
// at bpc, when they ran without a taken branch.
func nextPC(insts []inst, n int, bpc uint64) uint64 {
	last := &insts[n-1]
	if last.op == opJALI {
		return bpc + uint64(last.off) + uint64(last.imm)
	}
	return bpc + uint64(last.off) + uint64(last.len)
}

func (h *Hart) ram16(off uint64) uint16 {
	return *(*uint16)(unsafe.Add(h.ramPtr, off))
}

// scratchBlock decodes the one instruction at pc (pa) into the uncached
// scratch block, fetching each half separately: the second half may be on
// another page, in ROM, or under a different PMP entry.
func (h *Hart) scratchBlock(pc, pa uint64) *block {
	lo, ok := h.fetchHalf(pa, pc)
	if !ok {
		h.raise()
		return nil
	}
	w := lo
	if lo&3 == 3 {
		pa2 := pa + 2
		if (pc+2)&pageMask == 0 {
			if pa2, _, ok = h.translate(pc+2, accFetch, h.priv); !ok {
				h.raise()
				return nil
			}
		}
		if !h.pmp.check(pa2, 2, h.priv, accFetch) {
			h.fail(excInstAccess, pc+2)
			h.raise()
			return nil
		}
		hi, ok := h.fetchHalf(pa2, pc+2)
		if !ok {
			h.raise()
			return nil
		}
		w |= hi << 16
	}
	c := &h.blocks
	b := &c.scratch
	c.scratchInsts[0] = decode(w)
	b.insts = c.scratchInsts[:]
	b.pa, b.gen = pa, 0
	b.nmem = 0
	if b.insts[0].op.isMem() {
		b.nmem = 1
	}
	return b
}

// fetchHalf reads the 16-bit parcel at pa (RAM or bus) for fetch address va.
func (h *Hart) fetchHalf(pa, va uint64) (uint32, bool) {
	if h.inRAM(pa, 2) {
		return uint32(h.ram16(pa - h.ramBase)), true
	}
	if h.bus != nil && validPA(pa, 2) {
		if v, ok := h.bus.Read(pa, 2); ok {
			return uint32(v & 0xffff), true
		}
	}
	return 0, h.fail(excInstAccess, va)
}
