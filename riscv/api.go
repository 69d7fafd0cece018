// Package riscv is the hart: an RV64GC processor with M, S and U modes,
// Sv39/48/57 translation, a software TLB and pre-decoded instruction blocks.
package riscv

import (
	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/vclock"
)

// Bus carries every physical access that is not to RAM (MMIO, ROM).
// ok=false means no device answers: the hart raises an access fault.
type Bus interface {
	Read(paddr uint64, size int) (val uint64, ok bool)
	Write(paddr uint64, size int, val uint64) (ok bool)
}

// SBI handles ECALLs from S-mode as hypercalls when the VMM itself is the
// firmware (direct kernel boot). It runs on the calling hart's goroutine,
// reads a0-a7 from h.X[10:18] and writes the results to a0 and a1; the hart
// then advances past the ECALL, unless the handler changed h.PC (through
// SetState, say), in which case it continues there.
type SBI interface {
	Ecall(h *Hart)
}

// Config describes one hart of a machine.
type Config struct {
	HartID uint64
	RAM    *mem.RAM
	Bus    Bus
	Clock  *vclock.Clock
	// SBI, when non-nil, takes S-mode ECALLs; when nil they trap to M-mode
	// as the privileged spec says (firmware boot, bare-metal tests).
	SBI SBI
}
