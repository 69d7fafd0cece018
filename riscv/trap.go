package riscv

// raise takes the exception recorded in h.exc for the instruction at h.PC.
func (h *Hart) raise() { h.trap(h.exc.cause, h.exc.tval, false) }

// exception takes an exception for the instruction at h.PC and returns
// false, for use as a failing instruction's result.
func (h *Hart) exception(cause, tval uint64) bool {
	h.trap(cause, tval, false)
	return false
}

// illegal raises an illegal-instruction exception with the instruction
// bits (16 bits for compressed instructions) in tval.
func (h *Hart) illegal(in *inst) bool { return h.exception(excIllegal, uint64(in.raw)) }

// trap enters the trap handler for cause, with h.PC as the faulting (or
// interrupted) instruction, delegating to S-mode per medeleg/mideleg.
func (h *Hart) trap(cause, tval uint64, interrupt bool) {
	h.traps++
	var deleg uint64
	if interrupt {
		h.stats.Interrupts[cause%uint64(len(h.stats.Interrupts))]++
		deleg = h.csr.mideleg
	} else {
		h.stats.Exceptions[cause%uint64(len(h.stats.Exceptions))]++
		deleg = h.csr.medeleg
	}
	xcause := cause
	if interrupt {
		xcause |= 1 << 63
	}
	ms := h.csr.mstatus
	if h.priv <= PrivS && deleg>>cause&1 != 0 {
		h.csr.scause = xcause
		h.csr.sepc = h.PC
		h.csr.stval = tval
		ms &^= msSPIE | msSPP
		if ms&msSIE != 0 {
			ms |= msSPIE
		}
		if h.priv == PrivS {
			ms |= msSPP
		}
		ms &^= msSIE
		h.priv = PrivS
		h.PC = trapVector(h.csr.stvec, cause, interrupt)
	} else {
		h.csr.mcause = xcause
		h.csr.mepc = h.PC
		h.csr.mtval = tval
		ms &^= msMPIE | msMPP
		if ms&msMIE != 0 {
			ms |= msMPIE
		}
		ms |= uint64(h.priv) << msMPPShift
		ms &^= msMIE
		h.priv = PrivM
		h.PC = trapVector(h.csr.mtvec, cause, interrupt)
	}
	h.csr.mstatus = ms
	h.waiting = false
	h.updateContext()
}

// trapVector computes the handler address from xtvec.
func trapVector(tvec, cause uint64, interrupt bool) uint64 {
	base := tvec &^ 3
	if interrupt && tvec&3 == 1 {
		return base + 4*cause
	}
	return base
}

// mret returns from an M-mode trap.
func (h *Hart) mret() {
	ms := h.csr.mstatus
	mpp := Priv((ms & msMPP) >> msMPPShift)
	ms &^= msMIE
	if ms&msMPIE != 0 {
		ms |= msMIE
	}
	ms |= msMPIE
	ms &^= msMPP
	if mpp != PrivM {
		ms &^= msMPRV
	}
	h.csr.mstatus = ms
	h.priv = mpp
	h.PC = h.csr.mepc
	h.updateContext()
	h.checkIRQ()
}

// sret returns from an S-mode trap.
func (h *Hart) sret() {
	ms := h.csr.mstatus
	spp := PrivU
	if ms&msSPP != 0 {
		spp = PrivS
	}
	ms &^= msSIE
	if ms&msSPIE != 0 {
		ms |= msSIE
	}
	ms |= msSPIE
	ms &^= msSPP | msMPRV
	h.csr.mstatus = ms
	h.priv = spp
	h.PC = h.csr.sepc
	h.updateContext()
	h.checkIRQ()
}
