package board

import (
	"github.com/popek-vm/popek/riscv"
	"github.com/popek-vm/popek/sbi"
)

// hartSlot is the board's view of one hart: its HSM state and a pending
// start or resume, applied by the hart's own goroutine.
type hartSlot struct {
	state      sbi.HartState
	entry, arg uint64 // for START_PENDING / RESUME_PENDING: pc and a1
	// suspend asks for a retentive HSM suspend once the ECALL has returned.
	suspend bool

	// Where the hart's goroutine is, for remote fences: inRun while it is in
	// h.Run, inSBI while it serves an ECALL there (not executing guest
	// code), runs counts returns from h.Run. Not part of the saved state.
	inRun, inSBI bool
	runs         uint64
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

// HartSuspend stops the caller's Run once the ECALL completes; the hart
// loop then puts the hart into a WFI sleep (retentive: the ECALL returns
// SUCCESS on wake-up) or a sleep that wakes at resumeAddr (non-retentive).
func (p *sbiPlatform) HartSuspend(caller uint64, nonRetentive bool, resumeAddr, opaque uint64) sbi.Error {
	m := p.m()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.slots[caller]
	if nonRetentive {
		s.state, s.entry, s.arg = sbi.HartResumePending, resumeAddr, opaque
	} else {
		s.suspend = true
	}
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

// AwaitFences waits until each hart in mask is between instructions: not in
// h.Run, or inside an SBI call of its own (then it applies the fence before
// its next guest instruction). A hart still running guest code is stopped,
// which makes its Run return at the next block boundary; its loop restarts
// it at once.
func (p *sbiPlatform) AwaitFences(caller, mask uint64) {
	m := p.m()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.slots {
		if mask&(1<<id) == 0 || uint64(id) == caller {
			continue
		}
		s := &m.slots[id]
		if !s.inRun || s.inSBI {
			continue
		}
		runs := s.runs
		m.harts[id].Stop()
		for s.inRun && !s.inSBI && s.runs == runs && m.exit == nil {
			m.cond.Wait()
		}
	}
}

// enterSBI and leaveSBI bracket an ECALL the VMM serves. Entering wakes
// harts waiting in AwaitFences: a hart in the SBI runs no guest code.
func (m *Machine) enterSBI(id int) {
	m.mu.Lock()
	m.slots[id].inSBI = true
	m.cond.Broadcast()
	m.mu.Unlock()
}

func (m *Machine) leaveSBI(id int) {
	m.mu.Lock()
	m.slots[id].inSBI = false
	m.mu.Unlock()
}

// hartSBI is the riscv.SBI of one hart: the machine's SBI, bracketed so
// that remote fences know the hart is not executing guest code.
type hartSBI struct {
	m     *Machine
	id    int
	inner riscv.SBI
}

func (c *hartSBI) Ecall(h *riscv.Hart) {
	c.m.enterSBI(c.id)
	defer c.m.leaveSBI(c.id)
	c.inner.Ecall(h)
}

// leftRun records that hart i's h.Run returned.
func (m *Machine) leftRun(i int) {
	m.mu.Lock()
	s := &m.slots[i]
	s.inRun = false
	s.runs++
	m.cond.Broadcast()
	m.mu.Unlock()
}
