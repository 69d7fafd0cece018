package riscv

import "time"

// timerSlice is how many instructions run between two looks at the clock
// for timer interrupts (about 30 µs of guest time at full speed).
const timerSlice = 8192

// Run executes up to budget instructions (0: until Stop) and returns how
// many retired in this call. It returns early once Stop is requested. A WFI
// with nothing pending sleeps inside Run until an interrupt is pending
// (even if globally disabled), a timer deadline passes, or Stop is called.
func (h *Hart) Run(budget uint64) uint64 {
	// The budget also counts traps, so that a guest looping on faults
	// (say, an unmapped trap vector) still returns.
	var done uint64
	traps0 := h.traps
	h.PC &^= 1 // IALIGN is 16: bit 0 of the pc is always zero
	for !h.stop.Load() {
		used := done + (h.traps - traps0)
		if budget != 0 && used >= budget {
			break
		}
		h.service()
		if h.waiting {
			h.sleep()
			continue
		}
		n := uint64(timerSlice)
		if budget != 0 && budget-used < n {
			n = budget - used
		}
		done += h.execute(n)
	}
	return done
}

// sleep blocks while the hart waits in WFI: until service clears waiting
// (an interrupt became pending), Stop, or an event arrives.
func (h *Hart) sleep() {
	for !h.stop.Load() {
		h.service()
		if !h.waiting {
			return
		}
		d, ok := h.wakeDelay()
		if !ok {
			h.asleep.Store(true)
			<-h.wake
			h.asleep.Store(false)
			continue
		}
		if d <= 0 {
			continue
		}
		h.asleep.Store(true)
		h.sleepT.Reset(d)
		select {
		case <-h.wake:
		case <-h.sleepT.C:
		}
		h.sleepT.Stop()
		h.asleep.Store(false)
	}
}

// wakeDelay is the host time until the next enabled timer interrupt that
// is not yet pending becomes pending; ok=false when there is none.
func (h *Hart) wakeDelay() (time.Duration, bool) {
	var best time.Duration
	found := false
	consider := func(deadline uint64) {
		if deadline == ^uint64(0) {
			return
		}
		d := h.clock.Until(deadline)
		if !found || d < best {
			best, found = d, true
		}
	}
	if h.csr.mie&mipMTIP != 0 && h.timerBits&mipMTIP == 0 {
		consider(h.mtimecmp.Load())
	}
	if h.csr.mie&mipSTIP != 0 && h.timerBits&mipSTIP == 0 {
		consider(h.sbiTimer.Load())
		if h.csr.menvcfg&menvcfgSTCE != 0 {
			consider(h.csr.stimecmp)
		}
	}
	return best, found
}
