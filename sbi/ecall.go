package sbi

import "github.com/popek-vm/popek/riscv"

// hartSBI binds the machine's SBI to one hart, so the ECALL path needs no
// lookup to know who is calling.
type hartSBI struct {
	s  *SBI
	id uint64
}

// ForHart returns the riscv.SBI to put in the Config of hart id.
func (s *SBI) ForHart(id uint64) riscv.SBI { return &hartSBI{s: s, id: id} }

// Ecall implements riscv.SBI: a0..a7 in, a0 (and a1 unless legacy) out.
func (c *hartSBI) Ecall(h *riscv.Hart) {
	r := c.s.Call(c.id, (*[8]uint64)(h.X[10:18]))
	h.X[10] = r.A0
	if r.SetA1 {
		h.X[11] = r.A1
	}
}
