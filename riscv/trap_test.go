package riscv

import "testing"

const sTrapVec = ramBase + 0x7800 // S-mode halting handler

// trapEnv runs words at ramBase in privilege p with M and S handlers that
// halt; xcause registers start at a sentinel.
func trapEnv(t *testing.T, p Priv, setup func(h *Hart), words ...uint32) *Hart {
	t.Helper()
	e := newEnv(t)
	e.program(cat(words, haltSeq())...)
	e.put(sTrapVec, haltSeq()...)
	e.h.csr.stvec = sTrapVec
	e.h.csr.mcause, e.h.csr.scause = 0xbad, 0xbad
	if setup != nil {
		setup(e.h)
	}
	e.h.SetPriv(p)
	e.run(200)
	return e.h
}

const spin = 0x00000063 // beq zero, zero, . (ends a block, unlike j .)

func TestExceptionCausesAndDelegation(t *testing.T) {
	cases := []struct {
		name    string
		priv    Priv
		medeleg uint64
		words   []uint32
		toS     bool
		cause   uint64
		tval    uint64
		epc     uint64
	}{
		{"ecall from M", PrivM, ^uint64(0), w(ecall), false, excEcallM, 0, ramBase},
		{"ecall from S", PrivS, 0, w(nop, ecall), false, excEcallS, 0, ramBase + 4},
		{"ecall from U", PrivU, 0, w(ecall), false, excEcallU, 0, ramBase},
		{"ecall from U delegated", PrivU, 1 << excEcallU, w(ecall), true, excEcallU, 0, ramBase},
		{"ecall from S delegated", PrivS, 1 << excEcallS, w(ecall), true, excEcallS, 0, ramBase},
		{"M traps are never delegated", PrivM, ^uint64(0), w(0), false, excIllegal, 0, ramBase},
		{"ebreak tval is pc", PrivM, 0, w(nop, ebreak), false, excBreakpoint, ramBase + 4, ramBase + 4},
		{"c.ebreak", PrivM, 0, w(0x00019002), false, excBreakpoint, ramBase, ramBase},
		{"illegal 32-bit tval", PrivS, 0, w(0xffffffff), false, excIllegal, 0xffffffff, ramBase},
		{"illegal compressed tval is 16 bits", PrivS, 0, w(0x00010000), false, excIllegal, 0, ramBase},
		{"illegal C.LWSP rd=0", PrivM, 0, w(0x00014002), false, excIllegal, 0x4002, ramBase},
		{"mret from S", PrivS, 0, w(mret), false, excIllegal, mret, ramBase},
		{"sret from U", PrivU, 0, w(sret), false, excIllegal, sret, ramBase},
		{"wfi from U", PrivU, 0, w(wfi), false, excIllegal, wfi, ramBase},
		{"sfence.vma from U", PrivU, 0, w(sfenceVMA(0, 0)), false, excIllegal, uint64(sfenceVMA(0, 0)), ramBase},
		{"illegal delegated to S", PrivU, 1 << excIllegal, w(0xffffffff), true, excIllegal, 0xffffffff, ramBase},
	}
	for _, c := range cases {
		h := trapEnv(t, c.priv, func(h *Hart) { h.csr.medeleg = c.medeleg & medelegMask }, c.words...)
		cause, tval, epc := h.csr.mcause, h.csr.mtval, h.csr.mepc
		if c.toS {
			cause, tval, epc = h.csr.scause, h.csr.stval, h.csr.sepc
		}
		if cause != c.cause || tval != c.tval || epc != c.epc {
			t.Errorf("%s: cause %#x tval %#x epc %#x, want %#x %#x %#x (toS=%v)", c.name, cause, tval, epc, c.cause, c.tval, c.epc, c.toS)
		}
	}
}

func TestTrapStatusStack(t *testing.T) {
	// U-mode trap into S: SPP=0, SPIE=old SIE, SIE=0.
	h := trapEnv(t, PrivU, func(h *Hart) {
		h.csr.medeleg = 1 << excEcallU
		h.csr.mstatus |= msSIE
	}, ecall)
	// The S handler's halt store leaves the hart in S-mode.
	if h.priv != PrivS || h.csr.mstatus&msSPP != 0 || h.csr.mstatus&msSPIE == 0 || h.csr.mstatus&msSIE != 0 {
		t.Errorf("U->S: priv %d mstatus %#x", h.priv, h.csr.mstatus)
	}
	// S-mode trap into M: MPP=S, MPIE=old MIE, MIE=0.
	h = trapEnv(t, PrivS, func(h *Hart) { h.csr.mstatus |= msMIE }, ecall)
	if h.priv != PrivM || (h.csr.mstatus&msMPP)>>msMPPShift != 1 || h.csr.mstatus&msMPIE == 0 || h.csr.mstatus&msMIE != 0 {
		t.Errorf("S->M: priv %d mstatus %#x", h.priv, h.csr.mstatus)
	}
}

func TestXRET(t *testing.T) {
	const target = ramBase + 0x100
	cases := []struct {
		name     string
		word     uint32
		priv     Priv
		mstatus  uint64
		wantPriv Priv
		wantSet  uint64 // bits that must be set afterwards
		wantClr  uint64 // bits that must be clear afterwards
		illegal  bool
	}{
		{"mret to U clears MPRV", mret, PrivM, msMPIE | msMPRV, PrivU, msMIE | msMPIE, msMPRV | msMPP, false},
		{"mret to S", mret, PrivM, 1 << msMPPShift, PrivS, msMPIE, msMIE | msMPP, false},
		{"mret to M keeps MPRV", mret, PrivM, 3<<msMPPShift | msMPRV, PrivM, msMPRV | msMPIE, msMPP, false},
		{"sret to S", sret, PrivS, msSPP | msSPIE | msMPRV, PrivS, msSIE | msSPIE, msSPP | msMPRV, false},
		{"sret from M to U", sret, PrivM, 0, PrivU, msSPIE, msSIE | msSPP, false},
		{"sret with TSR in S", sret, PrivS, msTSR, PrivM, 0, 0, true},
		{"sret with TSR in M", sret, PrivM, msTSR | msSPP, PrivS, 0, 0, false},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.program(w(c.word)...)
		e.put(target, spin)
		e.h.csr.mepc, e.h.csr.sepc = target, target
		e.h.csr.mstatus |= c.mstatus
		e.h.SetPriv(c.priv)
		e.h.Run(10)
		h := e.h
		if c.illegal {
			if h.csr.mcause != excIllegal {
				t.Errorf("%s: not illegal (mcause %d)", c.name, h.csr.mcause)
			}
			continue
		}
		if h.PC != target || h.priv != c.wantPriv {
			t.Errorf("%s: pc %#x priv %d, want %#x %d", c.name, h.PC, h.priv, target, c.wantPriv)
		}
		if h.csr.mstatus&c.wantSet != c.wantSet || h.csr.mstatus&c.wantClr != 0 {
			t.Errorf("%s: mstatus %#x", c.name, h.csr.mstatus)
		}
	}
}

func TestInterruptPriority(t *testing.T) {
	all := uint64(mipMEIP | mipMSIP | mipMTIP | mipSEIP | mipSSIP | mipSTIP)
	cases := []struct {
		pending uint64
		want    uint64
	}{
		{all, irqMEI},
		{all &^ mipMEIP, irqMSI},
		{mipMTIP | mipSEIP | mipSSIP | mipSTIP, irqMTI},
		{mipSEIP | mipSSIP | mipSTIP, irqSEI},
		{mipSSIP | mipSTIP, irqSSI},
		{mipSTIP, irqSTI},
	}
	for _, c := range cases {
		h := trapEnv(t, PrivM, func(h *Hart) {
			setPending(h, c.pending)
			h.csr.mie = mieWritable
			h.csr.mstatus |= msMIE
		}, spin)
		if h.csr.mcause != 1<<63|c.want || h.csr.mepc != ramBase || h.csr.mtval != 0 {
			t.Errorf("pending %#x: mcause %#x mepc %#x, want interrupt %d", c.pending, h.csr.mcause, h.csr.mepc, c.want)
		}
	}
}

// setPending makes the given mip bits pending through their real sources.
func setPending(h *Hart, p uint64) {
	for _, b := range []uint{irqMSI, irqSEI, irqMEI} {
		if p&(1<<b) != 0 {
			h.SetInterrupt(b, true)
		}
	}
	h.csr.mip = p & (mipSSIP | mipSTIP)
	if p&mipMTIP != 0 {
		h.SetMtimecmp(0)
	}
}

func TestInterruptEnablesAndDelegation(t *testing.T) {
	const never = 0xbad
	cases := []struct {
		name    string
		priv    Priv
		mideleg uint64
		mstatus uint64
		pending uint64
		toS     bool
		cause   uint64 // never = not taken
	}{
		{"S interrupt delegated, SIE=0 in S", PrivS, mipSSIP, 0, mipSSIP, true, never},
		{"S interrupt delegated, SIE=1 in S", PrivS, mipSSIP, msSIE, mipSSIP, true, irqSSI},
		{"delegated, taken in U regardless of SIE", PrivU, mipSSIP, 0, mipSSIP, true, irqSSI},
		{"delegated interrupts never taken in M", PrivM, mipSSIP, msSIE | msMIE, mipSSIP, true, never},
		{"M-level interrupt in S ignores MIE", PrivS, 0, 0, mipSSIP, false, irqSSI},
		{"M-level interrupt in M needs MIE", PrivM, 0, 0, mipMTIP, false, never},
		{"M-level beats delegated", PrivS, mipSSIP, msSIE, mipSSIP | mipMEIP, false, irqMEI},
		{"delegated STI in S", PrivS, mipSTIP, msSIE, mipSTIP, true, irqSTI},
		{"delegated SEI beats delegated STI in U", PrivU, mipSEIP | mipSTIP, 0, mipSEIP | mipSTIP, true, irqSEI},
		{"undelegated STI goes to M before delegated SEI", PrivU, mipSEIP, 0, mipSEIP | mipSTIP, false, irqSTI},
	}
	for _, c := range cases {
		h := trapEnv(t, c.priv, func(h *Hart) {
			setPending(h, c.pending)
			h.csr.mie = mieWritable
			h.csr.mideleg = c.mideleg
			h.csr.mstatus |= c.mstatus
		}, spin)
		got := h.csr.mcause
		if c.toS {
			got = h.csr.scause
		}
		want := c.cause
		if want != never {
			want |= 1 << 63
		}
		if got != want {
			t.Errorf("%s: cause %#x, want %#x", c.name, got, want)
		}
		if c.cause == never && (h.csr.mcause != never || h.csr.scause != never) {
			t.Errorf("%s: unexpected trap m %#x s %#x", c.name, h.csr.mcause, h.csr.scause)
		}
	}
}

func TestVectoredTrap(t *testing.T) {
	const base = ramBase + 0x4000
	e := newEnv(t)
	e.program(spin)
	for i := uint64(0); i < 16; i++ {
		e.put(base+4*i, spin)
	}
	e.h.csr.mtvec = base | 1
	e.h.csr.mie = mieWritable
	e.h.csr.mstatus |= msMIE
	e.h.SetInterrupt(irqMSI, true)
	e.h.Run(20)
	if e.h.PC != base+4*irqMSI {
		t.Errorf("vectored interrupt went to %#x", e.h.PC)
	}
	// Exceptions use the base.
	e = newEnv(t)
	e.program(ecall)
	e.put(base, spin)
	e.h.csr.mtvec = base | 1
	e.h.Run(20)
	if e.h.PC != base {
		t.Errorf("vectored exception went to %#x", e.h.PC)
	}
}

type countingSBI struct{ calls int }

func (s *countingSBI) Ecall(h *Hart) {
	s.calls++
	h.X[a0] = h.X[a7] * 2
	h.X[a1] = 0
}

const a7 = 17

func TestSBIEcall(t *testing.T) {
	e := newEnv(t)
	s := &countingSBI{}
	e.h.sbi = s
	e.program(cat(w(addi(a7, zero, 21), ecall, addi(a2, a0, 0)), haltSeq())...)
	e.h.SetPriv(PrivS)
	e.run(100)
	if s.calls != 1 || e.h.X[a2] != 42 || e.h.stats.Ecalls != 1 || e.h.csr.mcause == excEcallS {
		t.Errorf("SBI ecall: calls %d a2 %d ecalls %d mcause %d", s.calls, e.h.X[a2], e.h.stats.Ecalls, e.h.csr.mcause)
	}
	// U-mode ECALLs still trap.
	e.h.Reset(ramBase)
	e.program(ecall)
	e.h.SetPriv(PrivU)
	e.run(100)
	if s.calls != 1 || e.h.csr.mcause != excEcallU {
		t.Errorf("U ecall with SBI: calls %d mcause %d", s.calls, e.h.csr.mcause)
	}
}

func TestDelegateToSupervisor(t *testing.T) {
	// After DelegateToSupervisor an S-mode kernel gets U-mode page faults
	// and illegal instructions, and U-mode can read time when S allows it.
	e := newEnv(t)
	e.program(cat(w(csrr(a0, csrTime), 0xffffffff))...)
	e.put(sTrapVec, haltSeq()...)
	e.h.DelegateToSupervisor()
	e.h.csr.stvec = sTrapVec
	e.h.csr.scounteren = cntTM
	e.h.SetPriv(PrivU)
	e.run(100)
	if e.h.csr.scause != excIllegal || e.h.csr.sepc != ramBase+4 || e.h.priv != PrivS {
		t.Fatalf("scause %d sepc %#x priv %d (mcause %d)", e.h.csr.scause, e.h.csr.sepc, e.h.priv, e.h.csr.mcause)
	}
}

type redirectSBI struct{ to uint64 }

func (s *redirectSBI) Ecall(h *Hart) {
	st := h.State()
	st.PC, st.X[a0] = s.to, 77
	if err := h.SetState(st); err != nil {
		panic(err)
	}
}

func TestSBIRedirect(t *testing.T) {
	// An SBI handler that moves the hart (HSM-style) is obeyed exactly.
	e := newEnv(t)
	const to = ramBase + 0x100
	e.h.sbi = &redirectSBI{to: to}
	e.program(ecall)
	e.put(to, cat(w(addi(a1, a0, 1)), haltSeq())...)
	e.h.SetPriv(PrivS)
	e.run(100)
	if e.h.X[a1] != 78 {
		t.Fatalf("a1 = %d, pc %#x", e.h.X[a1], e.h.PC)
	}
}
