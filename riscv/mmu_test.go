package riscv

import "testing"

const ptArea = ramBase + 0x400000 // page tables are allocated from here

// pageTable builds radix page tables in guest RAM for tests.
type pageTable struct {
	e      *testEnv
	levels int
	root   uint64
	next   uint64
}

func newPageTable(e *testEnv, mode uint64) *pageTable {
	pt := &pageTable{e: e, levels: int(mode) - satpSv39 + 3, next: ptArea}
	pt.root = pt.alloc()
	e.h.csr.satp = mode<<satpModeShift | pt.root>>pageShift
	e.h.flushTLB()
	return pt
}

func (pt *pageTable) alloc() uint64 {
	p := pt.next
	pt.next += pageSize
	clear(pt.e.ram.Bytes()[p-ramBase : p-ramBase+pageSize])
	return p
}

// slot returns the address of the PTE for va at level, creating the
// intermediate tables.
func (pt *pageTable) slot(va uint64, level int) uint64 {
	a := pt.root
	for i := pt.levels - 1; ; i-- {
		addr := a + (va>>(12+9*uint(i))&0x1ff)*8
		if i == level {
			return addr
		}
		pte := pt.e.get64(addr)
		if pte&pteV == 0 {
			n := pt.alloc()
			pte = n>>12<<10 | pteV
			pt.e.put64(addr, pte)
		}
		a = (pte >> 10) << 12
	}
}

// mapAt writes a leaf PTE for va at level (0 = 4 KiB).
func (pt *pageTable) mapAt(va, pa uint64, level int, flags uint64) uint64 {
	addr := pt.slot(va, level)
	pt.e.put64(addr, pa>>12<<10|flags)
	return addr
}

const rwx = pteV | pteR | pteW | pteX | pteA | pteD

func TestTranslate(t *testing.T) {
	type tc struct {
		name  string
		build func(pt *pageTable) // maps things; va under test is 0x40000000+0x123 unless set
		va    uint64
		acc   access
		priv  Priv
		ms    uint64 // mstatus bits (SUM, MXR)
		pa    uint64 // expected, when fault == 0
		fault uint64 // expected cause, 0 = none
	}
	const va = 0x40201123
	const pa = ramBase + 0x200000
	cases := []tc{
		{"4K load", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx) }, va, accLoad, PrivS, 0, pa + 0x123, 0},
		{"4K store", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx) }, va, accStore, PrivS, 0, pa + 0x123, 0},
		{"4K fetch", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx) }, va, accFetch, PrivS, 0, pa + 0x123, 0},
		{"2M superpage", func(pt *pageTable) { pt.mapAt(va, ramBase+0x400000*0, 1, rwx) }, va, accLoad, PrivS, 0, ramBase + 0x1123, 0},
		{"1G superpage", func(pt *pageTable) { pt.mapAt(va, ramBase, 2, rwx) }, va, accLoad, PrivS, 0, ramBase + 0x201123, 0},
		{"misaligned 2M superpage", func(pt *pageTable) { pt.mapAt(va, ramBase+0x1000, 1, rwx) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"misaligned 1G superpage", func(pt *pageTable) { pt.mapAt(va, ramBase+0x200000, 2, rwx) }, va, accStore, PrivS, 0, 0, excStorePage},
		{"invalid", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx&^pteV) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"unmapped fetch", func(pt *pageTable) {}, va, accFetch, PrivS, 0, 0, excInstPage},
		{"W without R", func(pt *pageTable) { pt.mapAt(va, pa, 0, pteV|pteW|pteA|pteD) }, va, accStore, PrivS, 0, 0, excStorePage},
		{"reserved bit 60", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx|1<<60) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"PBMT bits (Svpbmt absent)", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx|1<<61) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"N bit (Svnapot absent)", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx|1<<63) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"pointer at level 0", func(pt *pageTable) { pt.mapAt(va, pa, 0, pteV) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"non-leaf with A set", func(pt *pageTable) {
			pt.mapAt(va, pa, 0, rwx)
			a := pt.slot(va, 1)
			pt.e.put64(a, pt.e.get64(a)|pteA)
		}, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"store to read-only", func(pt *pageTable) { pt.mapAt(va, pa, 0, pteV|pteR|pteA|pteD) }, va, accStore, PrivS, 0, 0, excStorePage},
		{"fetch from non-executable", func(pt *pageTable) { pt.mapAt(va, pa, 0, pteV|pteR|pteW|pteA|pteD) }, va, accFetch, PrivS, 0, 0, excInstPage},
		{"load from execute-only", func(pt *pageTable) { pt.mapAt(va, pa, 0, pteV|pteX|pteA) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"MXR makes execute-only readable", func(pt *pageTable) { pt.mapAt(va, pa, 0, pteV|pteX|pteA) }, va, accLoad, PrivS, msMXR, pa + 0x123, 0},
		{"S load of U page without SUM", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx|pteU) }, va, accLoad, PrivS, 0, 0, excLoadPage},
		{"S load of U page with SUM", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx|pteU) }, va, accLoad, PrivS, msSUM, pa + 0x123, 0},
		{"S fetch of U page even with SUM", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx|pteU) }, va, accFetch, PrivS, msSUM, 0, excInstPage},
		{"U access to S page", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx) }, va, accLoad, PrivU, msSUM, 0, excLoadPage},
		{"U access to U page", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx|pteU) }, va, accStore, PrivU, 0, pa + 0x123, 0},
		{"non-canonical", func(pt *pageTable) { pt.mapAt(va, pa, 0, rwx) }, va | 1<<62, accLoad, PrivS, 0, 0, excLoadPage},
		{"root outside RAM", func(pt *pageTable) { pt.e.h.csr.satp = pt.e.h.csr.satp&^satpPPNMask | 0x1000 }, va, accStore, PrivS, 0, 0, excStoreAccess},
		{"PTE outside RAM", func(pt *pageTable) {
			a := pt.slot(va, 2)
			pt.e.put64(a, 0x10000>>12<<10|pteV)
		}, va, accFetch, PrivS, 0, 0, excInstAccess},
		{"PMP denies the page table", func(pt *pageTable) {
			pt.mapAt(va, pa, 0, rwx)
			// Entry 0 (higher priority) makes the page-table area no-access.
			h := pt.e.h
			h.pmp.cfg[1], h.pmp.addr[1] = h.pmp.cfg[0], h.pmp.addr[0]
			h.pmp.cfg[0], h.pmp.addr[0] = pmpNAPOT<<3, (ptArea>>2)|(0x100000>>3-1)
			h.pmp.decode()
		}, va, accLoad, PrivS, 0, 0, excLoadAccess},
		{"M-mode ignores satp", func(pt *pageTable) {}, va, accLoad, PrivM, 0, va, 0},
	}
	for _, mode := range []uint64{satpSv39, satpSv48, satpSv57} {
		for _, c := range cases {
			e := newEnv(t)
			e.h.OpenPMP()
			pt := newPageTable(e, mode)
			c.build(pt)
			e.h.csr.mstatus |= c.ms
			got, _, ok := e.h.translate(c.va, c.acc, c.priv)
			name := []string{8: "Sv39", 9: "Sv48", 10: "Sv57"}[mode] + " " + c.name
			if c.fault == 0 {
				if !ok || got != c.pa {
					t.Errorf("%s: pa %#x ok %v (cause %d), want %#x", name, got, ok, e.h.exc.cause, c.pa)
				}
				continue
			}
			if ok || e.h.exc.cause != c.fault || e.h.exc.tval != c.va {
				t.Errorf("%s: ok %v cause %d tval %#x, want cause %d tval %#x", name, ok, e.h.exc.cause, e.h.exc.tval, c.fault, c.va)
			}
		}
	}
}

func TestCanonicalPerMode(t *testing.T) {
	cases := []struct {
		mode uint64
		va   uint64
		ok   bool
	}{
		{satpSv39, 0x0000003fffffffff, true},
		{satpSv39, 0x0000004000000000, false},
		{satpSv39, 0xffffffc000000000, true},
		{satpSv48, 0x00007fffffffffff, true},
		{satpSv48, 0x0000800000000000, false},
		{satpSv48, 0xffff800000000000, true},
		{satpSv57, 0x00ffffffffffffff, true},
		{satpSv57, 0x0100000000000000, false},
		{satpSv57, 0xff00000000000000, true},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.h.OpenPMP()
		pt := newPageTable(e, c.mode)
		pt.mapAt(c.va, ramBase, 0, rwx)
		_, _, ok := e.h.translate(c.va, accLoad, PrivS)
		if ok != c.ok {
			t.Errorf("mode %d va %#x: ok %v, want %v", c.mode, c.va, ok, c.ok)
		}
	}
}

func TestAccessedDirtyUpdate(t *testing.T) {
	e := newEnv(t)
	e.h.OpenPMP()
	pt := newPageTable(e, satpSv39)
	const va = 0x10000
	slot := pt.mapAt(va, ramBase+0x100000, 0, pteV|pteR|pteW)
	if _, _, ok := e.h.translate(va, accLoad, PrivS); !ok {
		t.Fatal("load failed")
	}
	if pte := e.get64(slot); pte&pteA == 0 || pte&pteD != 0 {
		t.Fatalf("after load pte = %#x, want A set and D clear", pte)
	}
	if _, _, ok := e.h.translate(va, accStore, PrivS); !ok {
		t.Fatal("store failed")
	}
	if pte := e.get64(slot); pte&(pteA|pteD) != pteA|pteD {
		t.Fatalf("after store pte = %#x, want A and D", pte)
	}
}

// sModeEnv sets up an Sv39 S-mode environment: code identity-mapped at
// ramBase, the trap handler pages mapped, PMP open.
func sModeEnv(t *testing.T, words ...uint32) (*testEnv, *pageTable) {
	e := newEnv(t)
	e.program(cat(words, haltSeq())...)
	pt := newPageTable(e, satpSv39)
	pt.mapAt(ramBase, ramBase, 1, rwx)                    // 2 MiB of code and data, identity
	pt.mapAt(ptArea, ptArea, 1, pteV|pteR|pteW|pteA|pteD) // the page tables
	e.h.SetPriv(PrivS)
	return e, pt
}

func TestSfenceSemantics(t *testing.T) {
	const va = 0x40000000
	const p1, p2 = ramBase + 0x300000, ramBase + 0x301000
	e, pt := sModeEnv(t, cat(
		li(s0, va),
		w(ld(a0, s0, 0)),                   // through P1, fills the TLB
		w(sd(a3, a2, 0), sfenceVMA(s0, 0)), // remap: a2 = PTE address, a3 = new PTE
		w(ld(a1, s0, 0)),                   // must see P2
	)...)
	slot := pt.mapAt(va, p1, 0, rwx)
	e.h.X[a2], e.h.X[a3] = slot, p2>>12<<10|rwx
	e.put64(p1, 111)
	e.put64(p2, 222)
	e.run(1000)
	if e.h.X[a0] != 111 || e.h.X[a1] != 222 {
		t.Fatalf("loads %d %d, want 111 222 (scause %d mcause %d)", e.h.X[a0], e.h.X[a1], e.h.csr.scause, e.h.csr.mcause)
	}
}

func TestSfenceSuperpageByAddress(t *testing.T) {
	// Two 4 KiB TLB entries come from one 2 MiB superpage. An address
	// fence of the first page must also drop the second.
	const va = 0x40000000
	const p1, p2 = ramBase + 0x200000, ramBase + 0x600000
	e, pt := sModeEnv(t, cat(
		li(s0, va), li(s1, va+0x1000),
		w(ld(a0, s0, 0), ld(a0, s1, 0)),    // fill both entries
		w(sd(a3, a2, 0), sfenceVMA(s0, 0)), // remap the superpage
		w(ld(a1, s1, 0)),
	)...)
	slot := pt.mapAt(va, p1, 1, rwx)
	e.h.X[a2], e.h.X[a3] = slot, p2>>12<<10|rwx
	e.put64(p1+0x1000, 111)
	e.put64(p2+0x1000, 222)
	e.run(1000)
	if e.h.X[a0] != 111 || e.h.X[a1] != 222 {
		t.Fatalf("loads %d %d, want 111 222 (mcause %d mtval %#x)", e.h.X[a0], e.h.X[a1], e.h.csr.mcause, e.h.csr.mtval)
	}
}

func TestSUMToggleInS(t *testing.T) {
	const uva = 0x50000000
	e, pt := sModeEnv(t, cat(
		li(s0, uva),
		w(csrrs(zero, csrSstatus, a4), ld(a0, s0, 0)), // SUM=1: allowed
		w(csrrc(zero, csrSstatus, a4), ld(a1, s0, 0)), // SUM=0: page fault
	)...)
	pt.mapAt(uva, ramBase+0x300000, 0, rwx|pteU)
	e.put64(ramBase+0x300000, 77)
	e.h.X[a4] = msSUM
	e.run(1000)
	if e.h.X[a0] != 77 || e.h.csr.mcause != excLoadPage || e.h.csr.mtval != uva {
		t.Fatalf("a0 %d mcause %d mtval %#x", e.h.X[a0], e.h.csr.mcause, e.h.csr.mtval)
	}
}

func TestMPRV(t *testing.T) {
	// M-mode load with MPRV=1, MPP=S goes through satp.
	const va = 0x40000000
	e := newEnv(t)
	e.program(cat(li(s0, va), w(csrrs(zero, csrMstatus, a4), ld(a0, s0, 0), csrrc(zero, csrMstatus, a4)), haltSeq())...)
	pt := newPageTable(e, satpSv39)
	pt.mapAt(va, ramBase+0x300000, 0, rwx)
	e.put64(ramBase+0x300000, 99)
	e.h.X[a4] = msMPRV | 1<<msMPPShift
	e.run(1000)
	if e.h.X[a0] != 99 {
		t.Fatalf("MPRV load = %d (mcause %d)", e.h.X[a0], e.h.csr.mcause)
	}
}

func TestPageCrossingFaults(t *testing.T) {
	const va = 0x40000000
	// A misaligned load whose second half hits an unmapped page faults with
	// the address of that page.
	e, pt := sModeEnv(t, cat(li(s0, va+0xffc), w(ld(a0, s0, 0)))...)
	pt.mapAt(va, ramBase+0x300000, 0, rwx)
	e.run(1000)
	if e.h.csr.mcause != excLoadPage || e.h.csr.mtval != va+0x1000 {
		t.Errorf("crossing load: mcause %d mtval %#x", e.h.csr.mcause, e.h.csr.mtval)
	}
	// A store crossing into a read-only page changes nothing.
	e, pt = sModeEnv(t, cat(li(s0, va+0xffc), w(sd(a1, s0, 0)))...)
	pt.mapAt(va, ramBase+0x300000, 0, rwx)
	pt.mapAt(va+0x1000, ramBase+0x301000, 0, pteV|pteR|pteA)
	e.h.X[a1] = ^uint64(0)
	e.run(1000)
	if e.h.csr.mcause != excStorePage || e.h.csr.mtval != va+0x1000 || e.get32(ramBase+0x300ffc) != 0 {
		t.Errorf("crossing store: mcause %d mtval %#x mem %#x", e.h.csr.mcause, e.h.csr.mtval, e.get32(ramBase+0x300ffc))
	}
	// A crossing store that succeeds writes both pages.
	e, pt = sModeEnv(t, cat(li(s0, va+0xffe), w(sw(a1, s0, 0), lw(a2, s0, 0)))...)
	pt.mapAt(va, ramBase+0x300000, 0, rwx)
	pt.mapAt(va+0x1000, ramBase+0x305000, 0, rwx)
	e.h.X[a1] = 0x11223344
	e.run(1000)
	if e.h.X[a2] != 0x11223344 || e.get32(ramBase+0x305000)&0xffff != 0x1122 {
		t.Errorf("crossing store: read back %#x, second page %#x", e.h.X[a2], e.get32(ramBase+0x305000))
	}
}

func TestFetchStraddlingPages(t *testing.T) {
	// A 32-bit instruction at the last halfword of a page whose next page
	// is unmapped: instruction page fault with tval = the next page.
	const code = 0x40000000
	e, pt := sModeEnv(t)
	pt.mapAt(code, ramBase+0x300000, 0, rwx)
	e.put16(ramBase+0x300ffe, 0x0513) // low half of addi a0, zero, ...
	e.h.PC = code + 0xffe
	e.run(100)
	if e.h.csr.mcause != excInstPage || e.h.csr.mtval != code+0x1000 || e.h.csr.mepc != code+0xffe {
		t.Errorf("straddling fetch: mcause %d mtval %#x mepc %#x", e.h.csr.mcause, e.h.csr.mtval, e.h.csr.mepc)
	}
	// Mapped: it executes (addi a0, zero, 0x55 spans the pages).
	e, pt = sModeEnv(t)
	pt.mapAt(code, ramBase+0x300000, 0, rwx)
	pt.mapAt(code+0x1000, ramBase+0x302000, 0, rwx)
	word := addi(a0, zero, 0x55)
	e.put16(ramBase+0x300ffe, uint16(word))
	e.put16(ramBase+0x302000, uint16(word>>16))
	e.put(ramBase+0x302002, haltSeq()...)
	e.h.PC = code + 0xffe
	e.run(100)
	if e.h.X[a0] != 0x55 {
		t.Errorf("straddling instruction: a0 = %#x (mcause %d)", e.h.X[a0], e.h.csr.mcause)
	}
}

func TestFetchFaultEPCAfterJump(t *testing.T) {
	// Code jumps into an unmapped page: the instruction page fault must
	// report the jump target as epc and tval, not where the run began.
	const target = 0x40000000
	e, _ := sModeEnv(t, cat(w(addi(a0, zero, 1), addi(a0, a0, 1)), li(t0, target), w(jalr(zero, t0, 0)))...)
	e.run(100)
	if e.h.csr.mcause != excInstPage || e.h.csr.mepc != target || e.h.csr.mtval != target {
		t.Fatalf("mcause %d mepc %#x mtval %#x, want page fault at %#x", e.h.csr.mcause, e.h.csr.mepc, e.h.csr.mtval, uint64(target))
	}
	// The same for an access fault (no memory) in M-mode.
	e = newEnv(t)
	e.program(cat(w(nop, nop), li(t0, 0x30000000), w(jalr(zero, t0, 0)))...)
	e.run(100)
	if e.h.csr.mcause != excInstAccess || e.h.csr.mepc != 0x30000000 {
		t.Fatalf("access fault: mcause %d mepc %#x", e.h.csr.mcause, e.h.csr.mepc)
	}
}

func TestMXRToggleFlushesLoads(t *testing.T) {
	// An execute-only page is readable with MXR; once MXR is cleared a
	// load that hit the TLB before must fault.
	const va = 0x40000000
	e, pt := sModeEnv(t, cat(li(s0, va), w(
		csrrs(zero, csrSstatus, a4), ld(a0, s0, 0),
		csrrc(zero, csrSstatus, a4), ld(a1, s0, 0),
	))...)
	pt.mapAt(va, ramBase+0x300000, 0, pteV|pteX|pteA)
	e.put64(ramBase+0x300000, 5)
	e.h.X[a4] = msMXR
	e.run(100)
	if e.h.X[a0] != 5 || e.h.csr.mcause != excLoadPage || e.h.csr.mtval != va {
		t.Fatalf("a0 %d mcause %d mtval %#x", e.h.X[a0], e.h.csr.mcause, e.h.csr.mtval)
	}
}

func TestSatpSwitch(t *testing.T) {
	// Two page tables map the same address to different pages; switching
	// satp switches what loads see.
	const va = 0x40000000
	e, pt := sModeEnv(t, cat(li(s0, va), w(ld(a0, s0, 0), csrw(csrSatp, a5), ld(a1, s0, 0)))...)
	pt.mapAt(va, ramBase+0x300000, 0, rwx)
	satp1 := e.h.csr.satp
	pt2 := &pageTable{e: e, levels: 3, next: pt.next}
	pt2.root = pt2.alloc()
	pt2.mapAt(ramBase, ramBase, 1, rwx)
	pt2.mapAt(va, ramBase+0x301000, 0, rwx)
	e.h.csr.satp = satp1
	e.h.X[a5] = satpSv39<<satpModeShift | 7<<satpASIDShift | pt2.root>>pageShift
	e.put64(ramBase+0x300000, 1)
	e.put64(ramBase+0x301000, 2)
	e.run(100)
	if e.h.X[a0] != 1 || e.h.X[a1] != 2 {
		t.Fatalf("loads %d %d, want 1 2", e.h.X[a0], e.h.X[a1])
	}
}

func TestSfenceASID(t *testing.T) {
	const va = 0x40000000
	fill := func(asid uint64) *testEnv {
		e, pt := sModeEnv(t)
		pt.mapAt(va, ramBase+0x300000, 0, rwx)
		if !e.h.csrWrite(csrSatp, e.h.csr.satp|asid<<satpASIDShift) {
			t.Fatal("satp write refused")
		}
		if _, ok := e.h.loadData(va, 8); !ok {
			t.Fatal("load failed")
		}
		return e
	}
	slot := func(e *testEnv) *tlbEntry { return &e.h.set(ctxS).load[(va>>pageShift)&tlbMask] }
	cases := []struct {
		name    string
		va      uint64
		hasVA   bool
		asid    uint64
		hasASID bool
		dropped bool
	}{
		{"all", 0, false, 0, false, true},
		{"this address", va, true, 0, false, true},
		{"another address", va + 0x1000, true, 0, false, false},
		{"this ASID", 0, false, 5, true, true},
		{"this ASID and address", va + 8, true, 5, true, true},
		{"another ASID", 0, false, 6, true, false},
	}
	for _, c := range cases {
		e := fill(5)
		if slot(e).tag != va {
			t.Fatalf("%s: TLB not filled", c.name)
		}
		e.h.sfence(c.va, c.hasVA, c.asid, c.hasASID)
		if dropped := slot(e).tag == tlbInvalid; dropped != c.dropped {
			t.Errorf("%s: dropped = %v", c.name, dropped)
		}
	}
}

func TestMPRVToggle(t *testing.T) {
	// The same address read with MPRV (translated) and without (physical).
	const va = ramBase + 0x300000
	e := newEnv(t)
	e.program(cat(la(s0, va), w(
		csrrs(zero, csrMstatus, a4), ld(a0, s0, 0), csrrc(zero, csrMstatus, a4), ld(a1, s0, 0),
	), haltSeq())...)
	pt := newPageTable(e, satpSv39)
	pt.mapAt(va, ramBase+0x301000, 0, rwx)
	e.put64(ramBase+0x300000, 1)
	e.put64(ramBase+0x301000, 2)
	e.h.X[a4] = msMPRV | 1<<msMPPShift
	e.run(100)
	if e.h.X[a0] != 2 || e.h.X[a1] != 1 {
		t.Fatalf("MPRV load %d, physical load %d; want 2 and 1", e.h.X[a0], e.h.X[a1])
	}
}
