package board

import (
	"fmt"

	"github.com/popek-vm/popek/riscv"
)

// What OpenSBI leaves behind before it enters S-mode, for the VMM-as-SBI
// boot. Every exception S-mode can handle is delegated (popek has no M-mode
// software to take it) except ECALL from S, which the VMM serves, and ECALL
// from M, which cannot happen.
const (
	directMedeleg = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 |
		1<<8 | 1<<12 | 1<<13 | 1<<15
	directMideleg    = 1<<1 | 1<<5 | 1<<9 // SSIP, STIP, SEIP
	directMcounteren = 0x7                // cycle, time, instret readable below M
	// OpenSBI also opens the counters to U-mode (it writes scounteren = -1);
	// Linux 6.1 never writes scounteren, and its vDSO reads time with rdtime.
	directScounteren = 0x7
	menvcfgSTCE      = 1 << 63 // Sstc: S-mode owns stimecmp
	mstatusSIE       = 1 << 1
)

// enterSupervisor resets h and enters S-mode at pc with a0, a1 as an SBI
// firmware would: PMP open, traps delegated, satp = 0, SIE = 0. Interrupt
// lines driven by the CLINT and PLIC are facts outside the hart and are
// kept. It runs while the hart is not executing.
func enterSupervisor(h *riscv.Hart, pc, a0, a1 uint64) {
	ext := h.State().ExtIRQ
	h.Reset(pc)
	h.OpenPMP()
	st := h.State()
	st.Priv = uint8(riscv.PrivS)
	st.Medeleg, st.Mideleg = directMedeleg, directMideleg
	st.Mcounteren, st.Scounteren, st.Menvcfg = directMcounteren, directScounteren, menvcfgSTCE
	st.X[10], st.X[11] = a0, a1
	st.ExtIRQ = ext
	mustSetState(h, st)
}

// resumeSupervisor is the wake-up of a non-retentive HSM suspend: the
// hart sleeps as in WFI, then continues at pc in S-mode with a0, a1,
// satp = 0 and SIE = 0; the rest of its state is kept.
func resumeSupervisor(h *riscv.Hart, pc, a0, a1 uint64) {
	st := h.State()
	st.PC, st.Priv, st.Satp = pc, uint8(riscv.PrivS), 0
	st.Mstatus &^= mstatusSIE
	st.X[10], st.X[11] = a0, a1
	st.WFI = true
	mustSetState(h, st)
}

// waitForInterrupt makes h sleep as after a WFI: the retentive HSM suspend.
func waitForInterrupt(h *riscv.Hart) {
	st := h.State()
	st.WFI = true
	mustSetState(h, st)
}

// mustSetState applies a state derived from the hart's own; a rejection
// is a board bug, turned into an emulator error by the hart loop's recover.
func mustSetState(h *riscv.Hart, st riscv.State) {
	if err := h.SetState(st); err != nil {
		panic(fmt.Sprintf("board: hart %d rejected boot state: %v", h.HartID(), err))
	}
}

// loadVirtual reads an XLEN word at a supervisor virtual address of hart
// caller. It runs in the caller's SBI handler, so the hart is not executing.
func (m *Machine) loadVirtual(caller, va uint64) (uint64, bool) {
	pa, ok := walkPageTable(m.ram, m.harts[caller].State().Satp, va)
	if !ok || pa%8 != 0 {
		return 0, false
	}
	b, ok := m.ram.Slice(pa, 8)
	if !ok {
		return 0, false
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, true
}
