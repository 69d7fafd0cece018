package riscv

// DelegateToSupervisor sets up the M-mode state that firmware leaves for an
// S-mode kernel when the VMM itself is the firmware (Config.SBI set): PMP
// open (OpenPMP), every delegable exception except ECALL from S (the SBI
// takes those) and the S-level interrupts delegated, all counters visible to
// S-mode, and Sstc enabled (stimecmp is used only if the kernel knows about
// it). The board calls it before SetPriv(PrivS) for a direct kernel boot.
func (h *Hart) DelegateToSupervisor() {
	h.OpenPMP()
	h.csr.medeleg = medelegMask &^ (1 << excEcallS)
	h.csr.mideleg = midelegMask
	h.csr.mcounteren = 0xffffffff
	h.csr.menvcfg |= menvcfgSTCE
	h.checkIRQ()
}

// OpenPMP makes PMP entry 0 a NAPOT region over all of memory with RWX, as
// firmware does before it enters S-mode. The board calls it when it boots a
// kernel directly in S-mode. A locked entry 0 is left alone.
func (h *Hart) OpenPMP() {
	if h.pmp.cfg[0]&pmpL != 0 {
		return
	}
	h.pmp.addr[0] = pmpAddrMask
	h.pmp.cfg[0] = pmpNAPOT<<3 | pmpR | pmpW | pmpX
	h.pmp.decode()
	h.flushTLB()
}
