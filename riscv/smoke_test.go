package riscv

import "testing"

func TestSmokeLoop(t *testing.T) {
	e := newEnv(t)
	// a0 = sum 1..100
	e.program(cat(
		w(addi(a0, zero, 0), addi(t0, zero, 100)),
		w(add(a0, a0, t0), addi(t0, t0, -1), bne(t0, zero, -8)),
		haltSeq(),
	)...)
	e.run(100000)
	if e.h.X[a0] != 5050 {
		t.Fatalf("a0 = %d, want 5050 (pc %#x, mcause %d)", e.h.X[a0], e.h.PC, e.h.csr.mcause)
	}
}
