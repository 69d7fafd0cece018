package riscv

import (
	"testing"
	"time"
)

// hangGuard stops h if a test would otherwise block forever; it is a
// safety net, not a timing assertion.
func hangGuard(t *testing.T, h *Hart) {
	timer := time.AfterFunc(30*time.Second, func() {
		t.Error("hart did not return: stopping it")
		h.Stop()
	})
	t.Cleanup(func() { timer.Stop() })
}

func TestSelfModifyingCodeSameBlock(t *testing.T) {
	// The store rewrites the instruction two slots later in the same block,
	// without FENCE.I; the new instruction must execute.
	e := newEnv(t)
	prog := cat(la(s0, ramBase), li(a1, int32(addi(a0, zero, 2))), w(sw(a1, s0, 4*8), nop, addi(a0, zero, 1)), haltSeq())
	// la (4) + li (2) + sw at index 6, nop 7, target at index 8.
	e.program(prog...)
	e.run(100)
	if e.h.X[a0] != 2 {
		t.Fatalf("a0 = %d, want 2 (stale decoded instruction ran)", e.h.X[a0])
	}
}

func TestSelfModifyingCodeAfterDecode(t *testing.T) {
	// A subroutine runs once (decoded and cached), is rewritten, and runs
	// again: the second call must see the new code.
	e := newEnv(t)
	const sub = ramBase + 0x800
	e.put(sub, addi(a0, zero, 1), jalr(zero, ra, 0))
	e.program(cat(
		la(s0, sub), li(a1, int32(addi(a0, zero, 7))),
		w(jalr(ra, s0, 0), addi(a2, a0, 0), sw(a1, s0, 0), jalr(ra, s0, 0)),
		haltSeq())...)
	e.run(200)
	if e.h.X[a2] != 1 || e.h.X[a0] != 7 {
		t.Fatalf("first call %d, second %d; want 1 and 7", e.h.X[a2], e.h.X[a0])
	}
}

func TestRequestFenceI(t *testing.T) {
	// Another agent (a DMA or another hart) rewrites code; after
	// RequestFenceI the hart runs the new code.
	e := newEnv(t)
	e.program(cat(w(addi(a0, zero, 1)), haltSeq())...)
	e.run(100)
	e.put(ramBase, addi(a0, zero, 5))
	e.h.RequestFenceI()
	e.h.PC = ramBase
	e.run(100)
	if e.h.X[a0] != 5 {
		t.Fatalf("a0 = %d after RequestFenceI", e.h.X[a0])
	}
}

func TestRequestFlushTLB(t *testing.T) {
	const va = 0x40000000
	e, pt := sModeEnv(t, cat(li(s0, va), w(ld(a0, s0, 0)))...)
	slot := pt.mapAt(va, ramBase+0x300000, 0, rwx)
	e.put64(ramBase+0x300000, 1)
	e.put64(ramBase+0x301000, 2)
	e.run(100)
	e.put64(slot, (ramBase+0x301000)>>12<<10|rwx)
	e.h.RequestFlushTLB()
	e.h.SetPriv(PrivS)
	e.h.PC = ramBase
	e.run(100)
	if e.h.X[a0] != 2 {
		t.Fatalf("a0 = %d after remote flush", e.h.X[a0])
	}
}

func TestWFIWakesOnInterruptEvenWhenDisabled(t *testing.T) {
	e := newEnv(t)
	e.program(cat(w(wfi, addi(a0, zero, 9)), haltSeq())...)
	e.h.csr.mie = mipMEIP // enabled in mie, but mstatus.MIE = 0
	hangGuard(t, e.h)
	done := make(chan uint64)
	go func() { done <- e.h.Run(0) }()
	// Nothing is pending: the hart sleeps. Wake it from this goroutine.
	e.h.SetInterrupt(irqMEI, true)
	n := <-done
	if e.h.X[a0] != 9 || e.h.csr.mcause == 1<<63|irqMEI || n != 5 {
		t.Fatalf("a0 %d mcause %#x retired %d", e.h.X[a0], e.h.csr.mcause, n)
	}
}

// A pending software interrupt ends a WFI even when mie does not enable it
// (riscv-tests rv64si-p-wfi sets SSIP with sie=0 and waits); pending but
// disabled timer or external interrupts keep the hart asleep.
func TestWFIPendingButNotEnabled(t *testing.T) {
	cases := []struct {
		name  string
		mip   uint64
		wakes bool
	}{
		{"SSIP", mipSSIP, true},
		{"MSIP", mipMSIP, true},
		{"SEIP", mipSEIP, false},
		{"STIP", mipSTIP, false},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.program(cat(w(wfi, addi(a0, zero, 9)), haltSeq())...)
		e.h.csr.mie = 0
		e.h.csr.mip = c.mip
		hangGuard(t, e.h)
		done := make(chan uint64)
		go func() { done <- e.h.Run(0) }()
		if !c.wakes {
			for !e.h.asleep.Load() {
				time.Sleep(time.Millisecond)
			}
			e.h.Stop()
		}
		<-done
		if woke := e.h.X[a0] == 9; woke != c.wakes {
			t.Errorf("%s pending, mie=0: WFI resumed %v, want %v", c.name, woke, c.wakes)
		}
	}
}

func TestWFITakesEnabledInterrupt(t *testing.T) {
	e := newEnv(t)
	e.program(cat(w(wfi, addi(a0, zero, 9)), haltSeq())...)
	e.h.csr.mie = mipMSIP
	e.h.csr.mstatus |= msMIE
	hangGuard(t, e.h)
	done := make(chan uint64)
	go func() { done <- e.h.Run(0) }()
	for !e.h.asleep.Load() {
		time.Sleep(time.Millisecond)
	}
	e.h.SetInterrupt(irqMSI, true)
	<-done
	if e.h.X[a0] != 0 || e.h.csr.mcause != 1<<63|irqMSI || e.h.csr.mepc != ramBase+4 {
		t.Fatalf("a0 %d mcause %#x mepc %#x", e.h.X[a0], e.h.csr.mcause, e.h.csr.mepc)
	}
}

func TestWFITimerWakeup(t *testing.T) {
	e := newEnv(t)
	e.program(cat(w(wfi, addi(a0, zero, 9)), haltSeq())...)
	e.h.csr.mie = mipMTIP
	e.h.SetMtimecmp(e.clock.Now() + 1000) // 100 µs of guest time
	hangGuard(t, e.h)
	e.run(0)
	if e.h.X[a0] != 9 || e.clock.Now() < e.h.Mtimecmp() {
		t.Fatalf("a0 %d now %d mtimecmp %d", e.h.X[a0], e.clock.Now(), e.h.Mtimecmp())
	}
	// The SBI timer wakes a WFI through STIP the same way.
	e = newEnv(t)
	e.program(cat(w(wfi, addi(a0, zero, 9)), haltSeq())...)
	e.h.csr.mie = mipSTIP
	e.h.SetSupervisorTimer(e.clock.Now() + 1000)
	hangGuard(t, e.h)
	e.run(0)
	if e.h.X[a0] != 9 || e.h.mipValue()&mipSTIP == 0 {
		t.Fatalf("SBI timer: a0 %d mip %#x", e.h.X[a0], e.h.mipValue())
	}
}

func TestStopDuringWFI(t *testing.T) {
	e := newEnv(t)
	e.program(cat(w(addi(a1, zero, 1), wfi, addi(a0, zero, 9)), haltSeq())...)
	hangGuard(t, e.h)
	done := make(chan uint64)
	go func() { done <- e.h.Run(0) }()
	// Poll until the hart sleeps, then stop it.
	for !e.h.asleep.Load() {
		time.Sleep(time.Millisecond)
	}
	e.h.Stop()
	n := <-done
	e.h.ClearStop()
	if n != 2 || !e.h.State().WFI {
		t.Fatalf("retired %d, WFI %v", n, e.h.State().WFI)
	}
	// Still waiting: an interrupt resumes it.
	e.h.csr.mie = mipSSIP
	e.h.SetInterrupt(irqSSI, true)
	e.run(0)
	if e.h.X[a0] != 9 {
		t.Fatalf("after wake a0 = %d", e.h.X[a0])
	}
}

func TestInterruptFromAnotherGoroutine(t *testing.T) {
	e := newEnv(t)
	e.program(spin)
	e.h.csr.mie = mipMEIP
	e.h.csr.mstatus |= msMIE
	hangGuard(t, e.h)
	done := make(chan struct{})
	go func() { e.h.Run(0); close(done) }()
	e.h.SetInterrupt(irqMEI, true)
	<-done
	if e.h.csr.mcause != 1<<63|irqMEI {
		t.Fatalf("mcause %#x", e.h.csr.mcause)
	}
}

func TestSSIPFromSBI(t *testing.T) {
	e := newEnv(t)
	e.program(spin)
	e.h.csr.mie = mipSSIP
	e.h.csr.mideleg = mipSSIP
	e.h.csr.stvec = sTrapVec
	e.put(sTrapVec, cat(w(csrr(a0, csrSip), csrrci(zero, csrSip, 2), csrr(a1, csrSip)), haltSeq())...)
	e.h.SetPriv(PrivS)
	e.h.csr.mstatus |= msSIE
	e.h.SetInterrupt(irqSSI, true)
	hangGuard(t, e.h)
	e.run(0)
	if e.h.csr.scause != 1<<63|irqSSI || e.h.X[a0]&mipSSIP == 0 || e.h.X[a1]&mipSSIP != 0 {
		t.Fatalf("scause %#x sip %#x then %#x", e.h.csr.scause, e.h.X[a0], e.h.X[a1])
	}
}

func TestSupervisorTimerClearsWhenInFuture(t *testing.T) {
	e := newEnv(t)
	e.h.SetSupervisorTimer(0)
	e.h.service()
	if e.h.mipValue()&mipSTIP == 0 {
		t.Fatal("STIP not pending for a past deadline")
	}
	e.h.SetSupervisorTimer(^uint64(0) - 1)
	e.h.service()
	if e.h.mipValue()&mipSTIP != 0 {
		t.Fatal("STIP still pending for a future deadline")
	}
}

func TestSstc(t *testing.T) {
	// With menvcfg.STCE, stimecmp drives STIP; a past value interrupts S.
	e := newEnv(t)
	e.program(cat(w(csrw(csrStimecmp, zero)), w(spin))...)
	e.put(sTrapVec, haltSeq()...)
	e.h.csr.stvec = sTrapVec
	e.h.csr.menvcfg = menvcfgSTCE
	e.h.csr.mcounteren = cntTM
	e.h.csr.mie = mipSTIP
	e.h.csr.mideleg = mipSTIP
	e.h.csr.mstatus |= msSIE
	e.h.SetPriv(PrivS)
	hangGuard(t, e.h)
	e.run(0)
	if e.h.csr.scause != 1<<63|irqSTI || e.h.csr.sepc != ramBase+4 {
		t.Fatalf("scause %#x sepc %#x", e.h.csr.scause, e.h.csr.sepc)
	}
}

func TestFetchFromROM(t *testing.T) {
	e := newEnv(t)
	// ROM: li a0, 3; lui t0, 0x80000 (sign-extends; RAM is at 0x80000000
	// on a 32-bit bus view, so zero-extend); jr t0.
	rom := cat(w(addi(a0, zero, 3)), la(t0, ramBase), w(jalr(zero, t0, 0)))
	for i, word := range rom {
		for j := 0; j < 4; j++ {
			e.bus.rom[4*i+j] = byte(word >> (8 * j))
		}
	}
	e.program(cat(w(addi(a1, a0, 1)), haltSeq())...)
	e.h.Reset(romBase)
	e.h.OpenPMP()
	e.h.csr.mtvec = trapVec
	e.run(100)
	if e.h.X[a1] != 4 {
		t.Fatalf("a1 = %d (mcause %d mepc %#x)", e.h.X[a1], e.h.csr.mcause, e.h.csr.mepc)
	}
}

func TestWildPC(t *testing.T) {
	cases := []uint64{0, 0xdead0000, 0xffffffff_fffffffe, ramBase + ramSize, ramBase + ramSize - 2, romBase + romSize - 2}
	for _, pc := range cases {
		e := newEnv(t)
		e.program()
		// The last halfwords of RAM and ROM start a 32-bit instruction
		// whose second half is beyond the end.
		e.put16(ramBase+ramSize-2, 0x13)
		e.bus.rom[romSize-2] = 0x13
		e.h.PC = pc
		e.run(10)
		if e.h.csr.mcause != excInstAccess {
			t.Errorf("pc %#x: mcause %d", pc, e.h.csr.mcause)
			continue
		}
		// The faulting address is the pc, or the part beyond the end.
		if e.h.csr.mtval != pc && e.h.csr.mtval != pc+2 {
			t.Errorf("pc %#x: mtval %#x", pc, e.h.csr.mtval)
		}
	}
}

func TestBudgetCountsTraps(t *testing.T) {
	// mtvec points at unmapped memory: every trap faults again. Run with a
	// budget must still return.
	e := newEnv(t)
	e.program(ecall)
	e.h.csr.mtvec = 0x30000000
	hangGuard(t, e.h)
	if n := e.h.Run(1000); n != 0 {
		t.Fatalf("retired %d", n)
	}
	if e.h.stats.Exceptions[excInstAccess] == 0 {
		t.Fatal("no fetch faults")
	}
}

func TestBudgetIsExact(t *testing.T) {
	e := newEnv(t)
	e.program(addi(a0, a0, 1), addi(a0, a0, 1), addi(a0, a0, 1), jal(zero, -12))
	for _, n := range []uint64{1, 2, 5, 100, 12345} {
		if got := e.h.Run(n); got != n {
			t.Errorf("Run(%d) retired %d", n, got)
		}
	}
	if e.h.stats.Instret != 1+2+5+100+12345 {
		t.Errorf("Instret = %d", e.h.stats.Instret)
	}
}

func TestStoreTLBEntryDroppedWhenPageBecomesCode(t *testing.T) {
	// A page is written through the store TLB, then executed, then written
	// again through the same virtual address: the second write must see
	// the page as code and invalidate it.
	const page = ramBase + 0x20000
	e := newEnv(t)
	e.program(cat(
		la(s0, page),
		li(a1, int32(addi(a0, zero, 1))), li(a2, int32(jalr(zero, ra, 0))), li(a3, int32(addi(a0, zero, 2))),
		w(sw(a1, s0, 0), sw(a2, s0, 4)),     // write the subroutine (store TLB filled)
		w(jalr(ra, s0, 0), addi(a4, a0, 0)), // run it: a4 = 1
		w(sw(a3, s0, 0), jalr(ra, s0, 0)),   // rewrite and run again: a0 = 2
		haltSeq(),
	)...)
	e.run(200)
	if e.h.X[a4] != 1 || e.h.X[a0] != 2 {
		t.Fatalf("first run %d, second %d; want 1 and 2", e.h.X[a4], e.h.X[a0])
	}
}

func TestFenceIRevalidatesUnchangedBlocks(t *testing.T) {
	// After FENCE.I a loop keeps running correctly; a block changed behind
	// the hart's back is re-decoded.
	e := newEnv(t)
	const sub = ramBase + 0x3000
	e.put(sub, addi(a0, a0, 1), jalr(zero, ra, 0))
	e.program(cat(la(s0, sub), li(t0, 50), w(jalr(ra, s0, 0), fencei, addi(t0, t0, -1), bne(t0, zero, -12)), haltSeq())...)
	e.run(10000)
	if e.h.X[a0] != 50 {
		t.Fatalf("a0 = %d after 50 calls", e.h.X[a0])
	}
	e.put(sub, addi(a0, a0, 3))
	e.h.RequestFenceI()
	e.h.PC = ramBase
	e.h.X[t0] = 0
	e.run(10000)
	if e.h.X[a0] != 50+150 {
		t.Fatalf("a0 = %d, want %d after rewriting the subroutine", e.h.X[a0], 200)
	}
}

func TestMipReadSeesFreshTimer(t *testing.T) {
	// mtimecmp is set in the past from "the CLINT" just before the hart
	// reads mip in the same block: MTIP must be visible.
	e := newEnv(t)
	e.program(cat(w(sw(zero, t1, 0), csrr(a0, csrMip)), haltSeq())...)
	e.h.X[t1] = mmioBase + 0x40
	e.bus.onWrite = func(pa uint64) {
		if pa == mmioBase+0x40 {
			e.h.SetMtimecmp(0)
		}
	}
	e.run(100)
	if e.h.X[a0]&mipMTIP == 0 {
		t.Fatalf("mip = %#x", e.h.X[a0])
	}
}

func TestJALInlinedInBlock(t *testing.T) {
	// Calls and jumps within a page continue the block; the link, AUIPC
	// after the jump and a fault after it must see the right pc.
	e := newEnv(t)
	e.program(cat(
		w(jal(ra, 16)),                      // 0x00 -> 0x10
		w(addi(a2, zero, 7), jal(zero, 16)), // 0x04 (after return) -> 0x18
		w(nop),                              // 0x0c
		w(auipc(a0, 0), jalr(zero, ra, 0)),  // 0x10: a0 = pc, return to 0x04
		w(jal(zero, -0x18+0x20)),            // 0x18 -> 0x20
		w(nop),                              // 0x1c
		w(jal(a1, 8)),                       // 0x20 -> 0x28, a1 = 0x24
		w(nop),                              // 0x24
		w(0xffffffff),                       // 0x28: illegal, mepc must be 0x28
	)...)
	e.run(100)
	h := e.h
	if h.X[a0] != ramBase+0x10 || h.X[ra] != ramBase+4 || h.X[a1] != ramBase+0x24 || h.X[a2] != 7 {
		t.Errorf("a0 %#x ra %#x a1 %#x a2 %d", h.X[a0], h.X[ra], h.X[a1], h.X[a2])
	}
	if h.csr.mcause != excIllegal || h.csr.mepc != ramBase+0x28 {
		t.Errorf("mcause %d mepc %#x", h.csr.mcause, h.csr.mepc)
	}
}

func TestBackwardJALLoopRetiresExactly(t *testing.T) {
	// j . unrolls within one block; the budget is still exact.
	e := newEnv(t)
	e.program(jal(zero, 0))
	for _, n := range []uint64{1, 7, 64, 65, 1000} {
		if got := e.h.Run(n); got != n {
			t.Errorf("Run(%d) = %d", n, got)
		}
		if e.h.PC != ramBase {
			t.Errorf("pc %#x", e.h.PC)
		}
	}
}
