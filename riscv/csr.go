package riscv

// csrRead returns the value of CSR num, or ok=false when it does not exist
// or the current mode may not access it (beyond the generic privilege and
// read-only checks done by the caller).
func (h *Hart) csrRead(num uint16) (uint64, bool) {
	c := &h.csr
	switch {
	case num >= csrCycle && num <= csrHpmcounter+28:
		if !h.counterAllowed(uint(num - csrCycle)) {
			return 0, false
		}
		switch num {
		case csrCycle:
			return h.counters.cycle.read(h.stats.Instret), true
		case csrTime:
			return h.clock.Now(), true
		case csrInstret:
			return h.counters.instret.read(h.stats.Instret), true
		}
		return 0, true
	case num >= csrMhpmcounter && num <= csrMhpmcounter+28,
		num >= csrMhpmevent && num <= csrMhpmevent+28:
		return 0, true
	case num >= csrPmpcfg0 && num < csrPmpcfg0+16:
		if num&1 != 0 {
			return 0, false // odd pmpcfg registers do not exist on RV64
		}
		return h.pmp.readCfg(int(num - csrPmpcfg0)), true
	case num >= csrPmpaddr0 && num < csrPmpaddr0+64:
		return h.pmp.readAddr(int(num - csrPmpaddr0)), true
	}
	switch num {
	case csrFflags, csrFrm, csrFcsr:
		if c.mstatus&msFS == 0 {
			return 0, false
		}
		switch num {
		case csrFflags:
			return c.fflags, true
		case csrFrm:
			return c.frm, true
		}
		return c.frm<<5 | c.fflags, true

	case csrSstatus:
		return h.mstatusValue() & sstatusVisible, true
	case csrSie:
		return c.mie & c.mideleg, true
	case csrStvec:
		return c.stvec, true
	case csrScounteren:
		return c.scounteren, true
	case csrSenvcfg:
		return c.senvcfg, true
	case csrSscratch:
		return c.sscratch, true
	case csrSepc:
		return c.sepc, true
	case csrScause:
		return c.scause, true
	case csrStval:
		return c.stval, true
	case csrSip:
		h.refreshTimers()
		return h.mipValue() & c.mideleg, true
	case csrStimecmp:
		if !h.stimecmpAllowed() {
			return 0, false
		}
		return c.stimecmp, true
	case csrSatp:
		if h.priv == PrivS && c.mstatus&msTVM != 0 {
			return 0, false
		}
		return c.satp, true

	case csrMvendorid, csrMarchid, csrMimpid, csrMconfigptr, csrMseccfg:
		return 0, true
	case csrTselect, csrTdata1, csrTdata2, csrTdata3:
		// A trigger module with no triggers: tselect stays 0 and
		// tdata1.type=0 says "no trigger at this tselect" (Sdtrig), so
		// software that probes by writing tselect/tdata1 and reading
		// back (OpenSBI, debuggers, riscv-tests' breakpoint) finds none
		// instead of taking an illegal-instruction trap.
		return 0, true
	case csrTinfo:
		return 1, true // only type 0 (no trigger) is supported
	case csrMhartid:
		return h.hartID, true
	case csrMstatus:
		return h.mstatusValue(), true
	case csrMisa:
		return misaValue, true
	case csrMedeleg:
		return c.medeleg, true
	case csrMideleg:
		return c.mideleg, true
	case csrMie:
		return c.mie, true
	case csrMtvec:
		return c.mtvec, true
	case csrMcounteren:
		return c.mcounteren, true
	case csrMenvcfg:
		return c.menvcfg, true
	case csrMcountinhibit:
		return c.mcountinhibit, true
	case csrMscratch:
		return c.mscratch, true
	case csrMepc:
		return c.mepc, true
	case csrMcause:
		return c.mcause, true
	case csrMtval:
		return c.mtval, true
	case csrMip:
		h.refreshTimers()
		return h.mipValue(), true
	case csrMcycle:
		return h.counters.cycle.read(h.stats.Instret), true
	case csrMinstret:
		return h.counters.instret.read(h.stats.Instret), true
	}
	return 0, false
}

// csrWrite writes v to CSR num (WARL fields legalised). It returns false
// when the write must raise an illegal-instruction exception.
func (h *Hart) csrWrite(num uint16, v uint64) bool {
	c := &h.csr
	switch {
	case num >= csrMhpmcounter && num <= csrMhpmcounter+28,
		num >= csrMhpmevent && num <= csrMhpmevent+28:
		return true // hardwired to zero
	case num >= csrPmpcfg0 && num < csrPmpcfg0+16:
		if num&1 != 0 {
			return false
		}
		h.pmp.writeCfg(int(num-csrPmpcfg0), v)
		h.flushTLB()
		return true
	case num >= csrPmpaddr0 && num < csrPmpaddr0+64:
		h.pmp.writeAddr(int(num-csrPmpaddr0), v)
		h.flushTLB()
		return true
	}
	switch num {
	case csrFflags, csrFrm, csrFcsr:
		if c.mstatus&msFS == 0 {
			return false
		}
		switch num {
		case csrFflags:
			c.fflags = v & 0x1f
		case csrFrm:
			c.frm = v & 7
		default:
			c.fflags, c.frm = v&0x1f, v>>5&7
		}
		c.mstatus |= msFSDirty

	case csrSstatus:
		h.setMstatus(c.mstatus&^sstatusWritable | v&sstatusWritable)
	case csrSie:
		m := c.mideleg & sInterrupts
		c.mie = c.mie&^m | v&m
		h.checkIRQ()
	case csrStvec:
		writeTvec(&c.stvec, v)
	case csrScounteren:
		c.scounteren = v & 0xffffffff
	case csrSenvcfg:
		c.senvcfg = v & senvcfgWritable
	case csrSscratch:
		c.sscratch = v
	case csrSepc:
		c.sepc = v &^ 1
	case csrScause:
		c.scause = v
	case csrStval:
		c.stval = v
	case csrSip:
		m := c.mideleg & mipSSIP
		c.mip = c.mip&^m | v&m
		h.checkIRQ()
	case csrStimecmp:
		if !h.stimecmpAllowed() {
			return false
		}
		c.stimecmp = v
		h.attn.Or(attnTimer)
	case csrSatp:
		if h.priv == PrivS && c.mstatus&msTVM != 0 {
			return false
		}
		switch v >> satpModeShift {
		case satpBare, satpSv39, satpSv48, satpSv57:
			// All 16 ASID bits are writable (ASIDLEN=16, as on QEMU), so
			// Linux uses ASIDs instead of flushing at every switch.
			c.satp = v & (0xf<<satpModeShift | satpASIDMask<<satpASIDShift | satpPPNMask)
			h.switchSpace(c.satp)
		}

	case csrMseccfg, csrMisa:
		// No Smepmp; misa is read-only.
	case csrTselect, csrTdata1, csrTdata2, csrTdata3, csrTinfo:
		// No triggers: every field is read-only zero (tinfo is
		// read-only), so writes are ignored.
	case csrMstatus:
		h.setMstatus(v)
	case csrMedeleg:
		c.medeleg = v & medelegMask
	case csrMideleg:
		c.mideleg = v & midelegMask
		h.checkIRQ()
	case csrMie:
		c.mie = v & mieWritable
		h.checkIRQ()
	case csrMtvec:
		writeTvec(&c.mtvec, v)
	case csrMcounteren:
		c.mcounteren = v & 0xffffffff
	case csrMenvcfg:
		c.menvcfg = v & menvcfgWritable
		h.attn.Or(attnTimer)
	case csrMcountinhibit:
		// As on Spike, the instruction counts when counting is enabled
		// after it: inhibiting excludes it, un-inhibiting includes it.
		c.mcountinhibit = v & (cntCY | cntIR)
		h.counters.cycle.setInhibit(v&cntCY != 0, h.stats.Instret)
		h.counters.instret.setInhibit(v&cntIR != 0, h.stats.Instret)
	case csrMscratch:
		c.mscratch = v
	case csrMepc:
		c.mepc = v &^ 1
	case csrMcause:
		c.mcause = v
	case csrMtval:
		c.mtval = v
	case csrMip:
		m := uint64(mipSWWritable)
		if c.menvcfg&menvcfgSTCE != 0 {
			m &^= mipSTIP
		}
		c.mip = c.mip&^m | v&m
		h.checkIRQ()
	case csrMcycle:
		h.counters.cycle.write(v, h.stats.Instret+1)
	case csrMinstret:
		h.counters.instret.write(v, h.stats.Instret+1)
	default:
		return false
	}
	return true
}

// mstatusValue is mstatus with the SD summary bit.
func (h *Hart) mstatusValue() uint64 {
	v := h.csr.mstatus
	if v&msFS == msFS {
		v |= msSD
	}
	return v
}

// setMstatus writes the writable mstatus fields, keeping MPP when the new
// value is the unsupported mode 2, and reacts to fields that affect
// translation or interrupts.
func (h *Hart) setMstatus(v uint64) {
	old := h.csr.mstatus
	n := old&^mstatusWritable | v&mstatusWritable
	if (n&msMPP)>>msMPPShift == 2 {
		n = n&^msMPP | old&msMPP
	}
	h.csr.mstatus = n
	if (old^n)&msMXR != 0 {
		h.flushLoads()
	}
	if (old^n)&(msMPRV|msMPP|msSUM) != 0 {
		h.updateContext()
	}
	h.checkIRQ()
}

// writeTvec writes mtvec/stvec; modes 2 and 3 are reserved, so such a
// write is ignored.
func writeTvec(p *uint64, v uint64) {
	if v&3 < 2 {
		*p = v
	}
}

// counterAllowed applies mcounteren/scounteren to the user counter CSR with
// index i (0 cycle, 1 time, 2 instret, 3.. hpm).
func (h *Hart) counterAllowed(i uint) bool {
	if h.priv < PrivM && h.csr.mcounteren>>i&1 == 0 {
		return false
	}
	if h.priv == PrivU && h.csr.scounteren>>i&1 == 0 {
		return false
	}
	return true
}

// stimecmpAllowed: below M-mode stimecmp needs menvcfg.STCE and
// mcounteren.TM.
func (h *Hart) stimecmpAllowed() bool {
	if h.priv == PrivM {
		return true
	}
	return h.csr.menvcfg&menvcfgSTCE != 0 && h.csr.mcounteren&cntTM != 0
}
