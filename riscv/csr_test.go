package riscv

import "testing"

// runAt runs words at ramBase in privilege p after setup; traps go to the
// halting M-mode handler.
func runAt(t *testing.T, p Priv, setup func(h *Hart), words ...uint32) *Hart {
	t.Helper()
	e := newEnv(t)
	e.program(cat(words, haltSeq())...)
	if setup != nil {
		setup(e.h)
	}
	e.h.SetPriv(p)
	e.h.csr.mcause = 0xbad
	e.run(1000)
	return e.h
}

func TestCSRAccessRules(t *testing.T) {
	mstatusFS := func(fs uint64) func(*Hart) {
		return func(h *Hart) { h.csr.mstatus = h.csr.mstatus&^msFS | fs<<msFSShift }
	}
	counters := func(m, s uint64) func(*Hart) {
		return func(h *Hart) { h.csr.mcounteren, h.csr.scounteren = m, s }
	}
	cases := []struct {
		name    string
		priv    Priv
		setup   func(*Hart)
		word    uint32
		illegal bool
	}{
		{"M reads mstatus", PrivM, nil, csrr(a0, csrMstatus), false},
		{"M writes read-only mvendorid", PrivM, nil, csrw(csrMvendorid, a1), true},
		{"csrrw x0 to read-only still writes", PrivM, nil, csrrw(zero, csrMhartid, zero), true},
		{"csrrwi to read-only", PrivM, nil, csrrwi(a0, csrMarchid, 0), true},
		{"csrrs rs1=x0 on read-only does not write", PrivM, nil, csrrs(a0, csrMimpid, zero), false},
		{"csrrc rs1=x0 on read-only does not write", PrivM, nil, csrrc(a0, csrMhartid, zero), false},
		{"csrrsi uimm=0 on read-only", PrivM, nil, csrrsi(a0, csrCycle, 0), false},
		{"csrrci uimm=0 on read-only", PrivM, nil, csrrci(a0, csrTime, 0), false},
		{"csrrsi uimm!=0 on read-only", PrivM, nil, csrrsi(a0, csrCycle, 1), true},
		{"S reads mstatus", PrivS, nil, csrr(a0, csrMstatus), true},
		{"S reads sstatus", PrivS, nil, csrr(a0, csrSstatus), false},
		{"U reads sstatus", PrivU, nil, csrr(a0, csrSstatus), true},
		{"S reads satp", PrivS, nil, csrr(a0, csrSatp), false},
		{"S reads satp with TVM", PrivS, func(h *Hart) { h.csr.mstatus |= msTVM }, csrr(a0, csrSatp), true},
		{"M reads satp with TVM", PrivM, func(h *Hart) { h.csr.mstatus |= msTVM }, csrr(a0, csrSatp), false},
		{"U cycle without mcounteren", PrivU, counters(0, 7), csrr(a0, csrCycle), true},
		{"U cycle without scounteren", PrivU, counters(7, 0), csrr(a0, csrCycle), true},
		{"U cycle with both", PrivU, counters(1, 1), csrr(a0, csrCycle), false},
		{"U time needs TM", PrivU, counters(1, 1), csrr(a0, csrTime), true},
		{"S time with mcounteren.TM", PrivS, counters(2, 0), csrr(a0, csrTime), false},
		{"S instret without IR", PrivS, counters(3, 0), csrr(a0, csrInstret), true},
		{"S hpmcounter5 with bit 5", PrivS, counters(1<<5, 0), csrr(a0, csrHpmcounter+2), false},
		{"M hpmcounter3", PrivM, counters(0, 0), csrr(a0, csrHpmcounter), false},
		{"cycleh does not exist on RV64", PrivM, nil, csrr(a0, 0xC80), true},
		{"S stimecmp without STCE", PrivS, counters(2, 0), csrr(a0, csrStimecmp), true},
		{"S stimecmp without TM", PrivS, func(h *Hart) { h.csr.menvcfg = menvcfgSTCE }, csrr(a0, csrStimecmp), true},
		{"S stimecmp with STCE and TM", PrivS, func(h *Hart) { h.csr.menvcfg, h.csr.mcounteren = menvcfgSTCE, cntTM }, csrw(csrStimecmp, a1), false},
		{"M stimecmp", PrivM, nil, csrr(a0, csrStimecmp), false},
		{"odd pmpcfg", PrivM, nil, csrr(a0, csrPmpcfg0+1), true},
		{"pmpcfg14", PrivM, nil, csrr(a0, csrPmpcfg0+14), false},
		{"pmpaddr63", PrivM, nil, csrw(csrPmpaddr0+63, a1), false},
		{"S pmpcfg0", PrivS, nil, csrr(a0, csrPmpcfg0), true},
		{"M writes tselect", PrivM, nil, csrw(csrTselect, a1), false},
		{"M reads tinfo", PrivM, nil, csrr(a0, csrTinfo), false},
		{"S reads tselect", PrivS, nil, csrr(a0, csrTselect), true},
		{"tcontrol not implemented", PrivM, nil, csrr(a0, 0x7a5), true},
		{"mtinst needs H", PrivM, nil, csrr(a0, 0x34a), true},
		{"unknown user CSR", PrivU, nil, csrr(a0, 0x5c0), true},
		{"hypervisor CSR", PrivM, nil, csrr(a0, 0x600), true},
		{"fcsr with FS off", PrivM, mstatusFS(0), csrr(a0, csrFcsr), true},
		{"fflags with FS initial", PrivU, mstatusFS(1), csrr(a0, csrFflags), false},
		{"mconfigptr", PrivM, nil, csrr(a0, csrMconfigptr), false},
		{"mseccfg", PrivM, nil, csrw(csrMseccfg, a1), false},
		{"mhpmevent31", PrivM, nil, csrw(csrMhpmevent+28, a1), false},
		{"mcountinhibit", PrivM, nil, csrw(csrMcountinhibit, a1), false},
		{"S writes sip", PrivS, nil, csrw(csrSip, a1), false},
		{"U writes sscratch", PrivU, nil, csrw(csrSscratch, a1), true},
	}
	for _, c := range cases {
		h := runAt(t, c.priv, c.setup, c.word)
		trapped := h.csr.mcause == excIllegal
		if trapped != c.illegal {
			t.Errorf("%s: illegal = %v (mcause %#x), want %v", c.name, trapped, h.csr.mcause, c.illegal)
			continue
		}
		if trapped && h.csr.mtval != uint64(c.word) {
			t.Errorf("%s: mtval %#x, want the instruction %#x", c.name, h.csr.mtval, c.word)
		}
	}
}

func TestCSRWARL(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*Hart)
		csr   uint32
		write uint64
		want  uint64
	}{
		{"medeleg bit 11 read-only zero", nil, csrMedeleg, ^uint64(0), medelegMask},
		{"mideleg only S interrupts", nil, csrMideleg, ^uint64(0), 0x222},
		{"mie writable bits", nil, csrMie, ^uint64(0), 0xaaa},
		{"mip software bits", nil, csrMip, ^uint64(0), 0x222},
		{"mip STIP read-only under Sstc", func(h *Hart) { h.csr.menvcfg = menvcfgSTCE }, csrMip, ^uint64(0), 0x202},
		{"mtvec vectored kept", nil, csrMtvec, 0x80001001, 0x80001001},
		{"mtvec reserved mode ignored", func(h *Hart) { h.csr.mtvec = 0x80000100 }, csrMtvec, 0x80002002, 0x80000100},
		{"stvec reserved mode ignored", func(h *Hart) { h.csr.stvec = 0x80000100 }, csrStvec, 0x80002003, 0x80000100},
		{"mepc bit 0", nil, csrMepc, 0x80000003, 0x80000002},
		{"sepc bit 0", nil, csrSepc, 0x81, 0x80},
		{"satp Sv48", nil, csrSatp, 9<<60 | 0xabcd<<44 | 0x12345, 9<<60 | 0xabcd<<44 | 0x12345},
		{"satp Sv57", nil, csrSatp, 10 << 60, 10 << 60},
		{"satp unsupported mode ignored", func(h *Hart) { h.csr.satp = 8<<60 | 5 }, csrSatp, 1<<60 | 7, 8<<60 | 5},
		{"satp Sv64 ignored", nil, csrSatp, 11<<60 | 7, 0},
		{"menvcfg", nil, csrMenvcfg, ^uint64(0), menvcfgSTCE | envcfgFIOM},
		{"senvcfg", nil, csrSenvcfg, ^uint64(0), envcfgFIOM},
		{"mcounteren 32 bits", nil, csrMcounteren, ^uint64(0), 0xffffffff},
		{"mcountinhibit CY and IR only", nil, csrMcountinhibit, ^uint64(0), 5},
		{"mhpmcounter hardwired", nil, csrMhpmcounter + 4, 123, 0},
		{"mhpmevent hardwired", nil, csrMhpmevent, 123, 0},
		{"misa read-only", nil, csrMisa, 0, misaValue},
		{"tselect: no trigger 1", nil, csrTselect, 1, 0},
		{"tdata1 type 0: no trigger", nil, csrTdata1, 2<<60 | 1<<6 | 1<<2, 0},
		{"tdata2 without a trigger", nil, csrTdata2, 0x80001000, 0},
		{"tinfo read-only: type 0 only", nil, csrTinfo, ^uint64(0), 1},
		{"pmpaddr 54 bits", nil, csrPmpaddr0 + 3, ^uint64(0), pmpAddrMask},
		{"pmpaddr beyond 16 entries", nil, csrPmpaddr0 + 20, 0x1234, 0},
		{"pmpcfg R=0 W=1 cleared", nil, csrPmpcfg0, 0x0a02 << 8, 0x0800 << 8},
		{"pmpcfg reserved bits", nil, csrPmpcfg0 + 2, 0x60, 0},
		{"locked pmpcfg ignores writes", func(h *Hart) { h.pmp.cfg[1] = pmpL | pmpR }, csrPmpcfg0, 0x1f1f, 0x811f},
		{"locked entry's pmpaddr", func(h *Hart) { h.pmp.cfg[2] = pmpL }, csrPmpaddr0 + 2, 5, 0},
		{"TOR-locked lower pmpaddr", func(h *Hart) { h.pmp.cfg[3] = pmpL | pmpTOR<<3 }, csrPmpaddr0 + 2, 5, 0},
		{"fcsr", nil, csrFcsr, 0x1ff, 0xff},
		{"frm", nil, csrFrm, 0xf, 7},
		{"fflags", nil, csrFflags, 0xff, 0x1f},
		{"mstatus fixed UXL/SXL", nil, csrMstatus, 0, mstatusFixed},
		{"mstatus MPP=2 keeps the old value", func(h *Hart) { h.csr.mstatus |= 1 << msMPPShift }, csrMstatus, 2 << msMPPShift, mstatusFixed | 1<<msMPPShift},
		{"mstatus SD from FS", nil, csrMstatus, msFS, mstatusFixed | msFS | msSD},
		{"mstatus writable set", nil, csrMstatus, ^uint64(0) &^ msMPP, mstatusFixed | (mstatusWritable &^ msMPP) | msSD},
		{"sstatus view", func(h *Hart) { h.csr.mstatus |= msMIE | msMPP | msTVM }, csrSstatus, ^uint64(0), mstatusFixed&msUXL | sstatusWritable | msSD},
		{"sie masked by mideleg", func(h *Hart) { h.csr.mideleg = mipSTIP }, csrSie, ^uint64(0), mipSTIP},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.program(cat(la(a1, 0), li(a1, 0), w(csrw(c.csr, a2), csrr(a0, c.csr)), haltSeq())...)
		if c.setup != nil {
			c.setup(e.h)
		}
		e.h.X[a2] = c.write
		// la/li above only pad; a2 carries the value.
		e.run(1000)
		if e.h.csr.mcause == excIllegal {
			t.Errorf("%s: trapped", c.name)
			continue
		}
		if e.h.X[a0] != c.want {
			t.Errorf("%s: read %#x, want %#x", c.name, e.h.X[a0], c.want)
		}
	}
}

func TestCSRModifyForms(t *testing.T) {
	e := newEnv(t)
	e.program(cat(
		w(csrw(csrMscratch, a1)),       // 0xf0
		w(csrrs(a0, csrMscratch, a2)),  // a0 = 0xf0, now 0xff
		w(csrrc(a3, csrMscratch, a1)),  // a3 = 0xff, now 0x0f
		w(csrrsi(a4, csrMscratch, 16)), // a4 = 0x0f, now 0x1f
		w(csrrci(a5, csrMscratch, 1)),  // a5 = 0x1f, now 0x1e
		w(csrrwi(t0, csrMscratch, 3)),  // t0 = 0x1e, now 3
		w(csrr(t1, csrMscratch)),
		haltSeq(),
	)...)
	e.h.X[a1], e.h.X[a2] = 0xf0, 0x0f
	e.run(1000)
	h := e.h
	got := []uint64{h.X[a0], h.X[a3], h.X[a4], h.X[a5], h.X[t0], h.X[t1]}
	want := []uint64{0xf0, 0xff, 0x0f, 0x1f, 0x1e, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: %#x, want %#x", i, got[i], want[i])
		}
	}
}

func TestMipRMWUsesSoftwareBits(t *testing.T) {
	// SEIP driven by the PLIC is visible in mip but a CSRRS must not latch it.
	e := newEnv(t)
	e.program(cat(w(csrr(a0, csrMip), csrrsi(a1, csrMip, 2), csrr(a2, csrMip)), haltSeq())...)
	e.h.SetInterrupt(irqSEI, true)
	e.run(1000)
	e.h.SetInterrupt(irqSEI, false)
	if e.h.X[a0]&mipSEIP == 0 || e.h.X[a1]&mipSEIP == 0 {
		t.Fatalf("SEIP not visible: %#x %#x", e.h.X[a0], e.h.X[a1])
	}
	if e.h.csr.mip != mipSSIP {
		t.Fatalf("software mip = %#x, want only SSIP", e.h.csr.mip)
	}
}

func TestCounters(t *testing.T) {
	e := newEnv(t)
	e.program(cat(
		w(csrr(a0, csrInstret), csrr(a1, csrInstret)),   // consecutive reads differ by 1
		w(csrw(csrMinstret, a5), csrr(a2, csrMinstret)), // the write wins over its own increment
		w(csrrwi(zero, csrMcountinhibit, 4), nop, nop, csrr(a3, csrMinstret), csrr(a4, csrMinstret)),
		w(csrrwi(zero, csrMcountinhibit, 0), csrr(t0, csrMinstret)),
		haltSeq(),
	)...)
	e.h.X[a5] = 1000
	e.run(1000)
	h := e.h
	if h.X[a1] != h.X[a0]+1 {
		t.Errorf("instret reads %d then %d", h.X[a0], h.X[a1])
	}
	if h.X[a2] != 1000 {
		t.Errorf("minstret after write = %d, want 1000", h.X[a2])
	}
	if h.X[a3] != h.X[a4] {
		t.Errorf("inhibited minstret moved: %d %d", h.X[a3], h.X[a4])
	}
	if h.X[t0] != h.X[a4]+1 {
		t.Errorf("minstret after un-inhibit = %d, want %d", h.X[t0], h.X[a4]+1)
	}
}
