package riscv

import "github.com/popek-vm/popek/devices"

var _ devices.Hart = (*Hart)(nil)

// SetInterrupt drives an external interrupt line: MSIP, SEIP or MEIP (the
// level is held until changed), or SSIP (true sets mip.SSIP, false clears
// it: the VMM's SBI IPI; the guest clears it through sip as usual). Safe
// from any goroutine; it wakes a hart sleeping in WFI.
func (h *Hart) SetInterrupt(bit uint, level bool) {
	switch bit {
	case devices.MSIP, devices.SEIP, devices.MEIP:
		m := uint64(1) << bit
		if level {
			h.ext.Or(m)
		} else {
			h.ext.And(^m)
		}
	case irqSSI:
		if level {
			h.ssipReq.Store(ssipSet)
		} else {
			h.ssipReq.Store(ssipClear)
		}
	default:
		return
	}
	h.kick(attnIRQ)
}

// SetMtimecmp sets the machine timer compare register. Safe from any
// goroutine.
func (h *Hart) SetMtimecmp(v uint64) {
	h.mtimecmp.Store(v)
	h.kick(attnTimer)
}

// Mtimecmp returns the machine timer compare register.
func (h *Hart) Mtimecmp() uint64 { return h.mtimecmp.Load() }

// SetSupervisorTimer is SBI set_timer: STIP is pending while the clock
// reads at least v. Safe from any goroutine.
func (h *Hart) SetSupervisorTimer(v uint64) {
	h.sbiTimer.Store(v)
	// Evaluate now when called from this hart's SBI handler, so that a
	// timer set in the future clears STIP before the guest looks at sip.
	h.kick(attnTimer)
}

// mipValue is mip as the guest reads it: software-written bits, external
// lines and the timer comparators.
func (h *Hart) mipValue() uint64 {
	sw := h.csr.mip
	if h.csr.menvcfg&menvcfgSTCE != 0 {
		sw &^= mipSTIP // STIP reflects stimecmp and is read-only
	}
	return sw | h.ext.Load() | h.timerBits
}

// updateTimers re-evaluates MTIP and the timer-driven STIP against the clock.
func (h *Hart) updateTimers() {
	now := h.clock.Now()
	var bits uint64
	if now >= h.mtimecmp.Load() {
		bits |= mipMTIP
	}
	if now >= h.sbiTimer.Load() || (h.csr.menvcfg&menvcfgSTCE != 0 && now >= h.csr.stimecmp) {
		bits |= mipSTIP
	}
	h.timerBits = bits
}

// pendingInterrupt returns the interrupt to take now, if any: pending and
// enabled in mie, and globally enabled for the mode that handles it.
func (h *Hart) pendingInterrupt() (uint64, bool) {
	p := h.mipValue() & h.csr.mie
	if p == 0 {
		return 0, false
	}
	ms := h.csr.mstatus
	var take uint64
	if m := p &^ h.csr.mideleg; m != 0 && (h.priv < PrivM || ms&msMIE != 0) {
		take = m
	} else if s := p & h.csr.mideleg; s != 0 && (h.priv < PrivS || (h.priv == PrivS && ms&msSIE != 0)) {
		take = s
	} else {
		return 0, false
	}
	for _, irq := range [...]uint64{irqMEI, irqMSI, irqMTI, irqSEI, irqSSI, irqSTI} {
		if take>>irq&1 != 0 {
			return irq, true
		}
	}
	return 0, false
}

// refreshTimers re-evaluates the timer bits for a mip/sip read, which must
// see a comparator that passed (or an mtimecmp just written) even between
// the run loop's periodic checks.
func (h *Hart) refreshTimers() {
	old := h.timerBits
	h.updateTimers()
	if h.timerBits != old {
		h.checkIRQ()
	}
}

// checkIRQ raises attention when an interrupt can be taken now. State
// changes that may enable one (CSR writes, xRET, privilege changes) call it
// instead of raising attention unconditionally: Linux toggles SIE around
// every spinlock, and each needless exit from the run loop costs a clock
// read and a block lookup.
func (h *Hart) checkIRQ() {
	if _, ok := h.pendingInterrupt(); ok {
		h.attn.Or(attnIRQ)
	}
}

// wfiWakeAlways are the pending bits that end a WFI even when mie does not
// enable them. WFI may resume for any reason (privileged spec, "Wait for
// Interrupt"); software interrupts are only ever raised on purpose, so
// waking on them costs an idle guest nothing, and code that sets SSIP/MSIP
// and then waits with the interrupt masked (riscv-tests' rv64si-p-wfi) does
// not hang. Timer and external bits stay gated by mie: they can remain
// pending while disabled, and waking on them would spin an idle Linux.
const wfiWakeAlways = mipSSIP | mipMSIP

// service handles everything the attention flag may signal: cross-hart
// requests, SSIP, timers and interrupts. It runs between blocks.
func (h *Hart) service() {
	a := h.attn.Swap(0)
	if a&attnFlushTLB != 0 {
		h.flushTLB()
	}
	if a&attnFenceI != 0 {
		h.blocks.flushAll()
	}
	switch h.ssipReq.Swap(0) {
	case ssipSet:
		h.csr.mip |= mipSSIP
	case ssipClear:
		h.csr.mip &^= mipSSIP
	}
	h.updateTimers()
	if h.waiting && h.mipValue()&(h.csr.mie|wfiWakeAlways) != 0 {
		h.waiting = false // WFI wakes even when interrupts are disabled
	}
	if cause, ok := h.pendingInterrupt(); ok {
		h.trap(cause, 0, true)
	}
}
