package board

import (
	"github.com/popek-vm/popek/sbi"
)

// hartSlot is the board's view of one hart: its HSM state and a pending
// start or resume, applied by the hart's own goroutine.
type hartSlot struct {
	state      sbi.HartState
	entry, arg uint64 // for START_PENDING / RESUME_PENDING: pc and a1
}

// sbiPlatform is the Machine as the SBI sees it; a separate type keeps the
// SBI's methods out of Machine's API.
type sbiPlatform Machine

func (p *sbiPlatform) m() *Machine { return (*Machine)(p) }

func (p *sbiPlatform) NumHarts() int { return len(p.harts) }

func (p *sbiPlatform) Hart(id uint64) sbi.Target { return p.harts[id] }

func (p *sbiPlatform) HartStart(id, addr, opaque uint64) sbi.Error {
	m := p.m()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.slots[id]
	if s.state != sbi.HartStopped {
		return sbi.ErrAlreadyAvail
	}
	s.state, s.entry, s.arg = sbi.HartStartPending, addr, opaque
	m.cond.Broadcast()
	return sbi.Success
}

func (p *sbiPlatform) HartStop(caller uint64) sbi.Error {
	m := p.m()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slots[caller].state = sbi.HartStopped
	m.harts[caller].Stop()
	return sbi.Success
}

func (p *sbiPlatform) HartStatus(id uint64) sbi.HartState {
	m := p.m()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.slots[id].state
}

// HartSuspend: the wake-up condition is "an interrupt is pending", which a
// WFI-like wait may report spuriously, so a retentive suspend returns at
// once, exactly like a WFI that wakes immediately. A non-retentive one
// resumes at resumeAddr through RESUME_PENDING with fresh hart state.
func (p *sbiPlatform) HartSuspend(caller uint64, nonRetentive bool, resumeAddr, opaque uint64) sbi.Error {
	if !nonRetentive {
		return sbi.Success
	}
	m := p.m()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.slots[caller]
	s.state, s.entry, s.arg = sbi.HartResumePending, resumeAddr, opaque
	m.harts[caller].Stop()
	return sbi.Success
}

func (p *sbiPlatform) SystemReset(kind sbi.ResetType, reason uint32) {
	st := ExitStatus{Kind: ExitReset}
	if kind == sbi.ResetShutdown {
		st.Kind = ExitPoweroff
	}
	p.m().requestExit(st, nil)
}

func (p *sbiPlatform) ConsoleWrite(b []byte) int {
	n, _ := p.out.Write(b)
	return n
}

// UART registers the SBI console reads input through, as firmware does.
const (
	uartRBR     = 0
	uartLCR     = 3
	uartLSR     = 5
	uartLCRDLAB = 0x80
	uartLSRDR   = 0x01
)

func (p *sbiPlatform) ConsoleRead(b []byte) int {
	u := p.uart
	if u.Read(uartLCR, 1)&uartLCRDLAB != 0 {
		return 0 // the divisor latch hides RBR; the guest is configuring the port
	}
	n := 0
	for n < len(b) && u.Read(uartLSR, 1)&uartLSRDR != 0 {
		b[n] = byte(u.Read(uartRBR, 1))
		n++
	}
	return n
}

func (p *sbiPlatform) LoadUlong(caller, vaddr uint64) (uint64, bool) {
	return p.m().loadVirtual(caller, vaddr)
}
