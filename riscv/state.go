package riscv

import "fmt"

// State is the complete architectural state of a hart, as plain data for
// snapshots and migration. Caches (TLB, decoded blocks) are not part of it:
// they are rebuilt after SetState.
type State struct {
	X    [32]uint64
	F    [32]uint64
	PC   uint64
	Priv uint8

	Mstatus       uint64
	Medeleg       uint64
	Mideleg       uint64
	Mie           uint64
	MipSoftware   uint64 // software-written mip bits (SSIP, STIP, SEIP)
	Mtvec         uint64
	Mcounteren    uint64
	Mcountinhibit uint64
	Menvcfg       uint64
	Mscratch      uint64
	Mepc          uint64
	Mcause        uint64
	Mtval         uint64

	Stvec      uint64
	Scounteren uint64
	Senvcfg    uint64
	Sscratch   uint64
	Sepc       uint64
	Scause     uint64
	Stval      uint64
	Satp       uint64
	Stimecmp   uint64

	Fflags uint64
	Frm    uint64

	PMPCfg  [pmpEntries]uint8
	PMPAddr [pmpEntries]uint64

	// Counters as the guest reads them (mcycle, minstret), and whether
	// mcountinhibit froze them.
	Cycle   uint64
	Instret uint64

	// Total instructions retired by this hart (Stats.Instret), so that the
	// counters stay continuous across a restore.
	Retired uint64

	ResValid bool
	ResAddr  uint64
	ResValue uint64
	ResWord  bool

	Mtimecmp uint64
	SBITimer uint64
	// ExtIRQ holds the external interrupt levels (MSIP, SEIP, MEIP bits).
	ExtIRQ uint64
	// SSIPRequest is an SBI IPI not yet applied (0, 1 set, 2 clear).
	SSIPRequest uint32
	WFI         bool
}

// State returns the hart's complete state. Call it while Run is not
// executing.
func (h *Hart) State() State {
	c := &h.csr
	s := State{
		X: h.X, F: h.F, PC: h.PC, Priv: uint8(h.priv),
		Mstatus: c.mstatus, Medeleg: c.medeleg, Mideleg: c.mideleg, Mie: c.mie,
		MipSoftware: c.mip, Mtvec: c.mtvec, Mcounteren: c.mcounteren,
		Mcountinhibit: c.mcountinhibit, Menvcfg: c.menvcfg, Mscratch: c.mscratch,
		Mepc: c.mepc, Mcause: c.mcause, Mtval: c.mtval,
		Stvec: c.stvec, Scounteren: c.scounteren, Senvcfg: c.senvcfg,
		Sscratch: c.sscratch, Sepc: c.sepc, Scause: c.scause, Stval: c.stval,
		Satp: c.satp, Stimecmp: c.stimecmp,
		Fflags: c.fflags, Frm: c.frm,
		PMPCfg: h.pmp.cfg, PMPAddr: h.pmp.addr,
		Cycle:    h.counters.cycle.read(h.stats.Instret),
		Instret:  h.counters.instret.read(h.stats.Instret),
		Retired:  h.stats.Instret,
		ResValid: h.resValid, ResAddr: h.resAddr, ResValue: h.resVal, ResWord: h.resWord,
		Mtimecmp: h.mtimecmp.Load(), SBITimer: h.sbiTimer.Load(),
		ExtIRQ: h.ext.Load(), SSIPRequest: h.ssipReq.Load(),
		WFI: h.waiting,
	}
	return s
}

// SetState restores a state from State. Invalid values (a privilege mode
// of 2, unsupported satp modes, bits outside the writable masks) are
// rejected rather than loaded. Call it while Run is not executing.
func (h *Hart) SetState(s State) error {
	p := Priv(s.Priv)
	if p != PrivU && p != PrivS && p != PrivM {
		return fmt.Errorf("riscv: state has invalid privilege mode %d", s.Priv)
	}
	if s.Mstatus&^(mstatusWritable|mstatusFixed) != 0 || (s.Mstatus&mstatusFixed) != mstatusFixed ||
		(s.Mstatus&msMPP)>>msMPPShift == 2 {
		return fmt.Errorf("riscv: state has invalid mstatus %#x", s.Mstatus)
	}
	switch s.Satp >> satpModeShift {
	case satpBare, satpSv39, satpSv48, satpSv57:
	default:
		return fmt.Errorf("riscv: state has unsupported satp mode in %#x", s.Satp)
	}
	if s.Mtvec&3 >= 2 || s.Stvec&3 >= 2 {
		return fmt.Errorf("riscv: state has a reserved trap vector mode")
	}
	if s.SSIPRequest > ssipClear {
		return fmt.Errorf("riscv: state has invalid SSIP request %d", s.SSIPRequest)
	}
	for i, c := range s.PMPCfg {
		if c&^(pmpL|pmpAMask|pmpX|pmpW|pmpR) != 0 || (c&pmpR == 0 && c&pmpW != 0) {
			return fmt.Errorf("riscv: state has invalid pmpcfg%d entry %#x", i, c)
		}
	}
	h.X, h.F, h.PC, h.priv = s.X, s.F, s.PC, p
	h.X[0] = 0
	h.csr = csrFile{
		mstatus: s.Mstatus, medeleg: s.Medeleg & medelegMask, mideleg: s.Mideleg & midelegMask,
		mie: s.Mie & mieWritable, mip: s.MipSoftware & mipSWWritable, mtvec: s.Mtvec,
		mcounteren: s.Mcounteren & 0xffffffff, mcountinhibit: s.Mcountinhibit & (cntCY | cntIR),
		menvcfg: s.Menvcfg & menvcfgWritable, mscratch: s.Mscratch, mepc: s.Mepc &^ 1,
		mcause: s.Mcause, mtval: s.Mtval,
		stvec: s.Stvec, scounteren: s.Scounteren & 0xffffffff, senvcfg: s.Senvcfg & senvcfgWritable,
		sscratch: s.Sscratch, sepc: s.Sepc &^ 1, scause: s.Scause, stval: s.Stval,
		satp:     s.Satp & (0xf<<satpModeShift | satpASIDMask<<satpASIDShift | satpPPNMask),
		stimecmp: s.Stimecmp, fflags: s.Fflags & 0x1f, frm: s.Frm & 7,
	}
	h.pmp = pmpUnit{cfg: s.PMPCfg}
	for i := range s.PMPAddr {
		h.pmp.addr[i] = s.PMPAddr[i] & pmpAddrMask
	}
	h.pmp.decode()
	h.stats.Instret = s.Retired
	h.counters = counterFile{}
	h.counters.cycle.write(s.Cycle, s.Retired)
	h.counters.instret.write(s.Instret, s.Retired)
	h.counters.cycle.setInhibit(s.Mcountinhibit&cntCY != 0, s.Retired)
	h.counters.instret.setInhibit(s.Mcountinhibit&cntIR != 0, s.Retired)
	h.resValid, h.resAddr, h.resVal, h.resWord = s.ResValid, s.ResAddr, s.ResValue, s.ResWord
	h.mtimecmp.Store(s.Mtimecmp)
	h.sbiTimer.Store(s.SBITimer)
	h.ext.Store(s.ExtIRQ & extIRQMask)
	h.ssipReq.Store(s.SSIPRequest)
	h.waiting = s.WFI
	h.flushTLB()
	h.blocks.flushAll()
	h.updateContext()
	h.updateTimers()
	h.attn.Or(attnIRQ)
	return nil
}

// SaveState is State under the project-wide snapshot method name.
func (h *Hart) SaveState() State { return h.State() }

// RestoreState is SetState under the project-wide snapshot method name.
func (h *Hart) RestoreState(s State) error { return h.SetState(s) }
