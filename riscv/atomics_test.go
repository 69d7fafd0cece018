package riscv

import (
	"sync"
	"testing"
)

// AMO funct5 values.
const (
	f5Add, f5Swap, f5LR, f5SC, f5Xor = 0x00, 0x01, 0x02, 0x03, 0x04
	f5Or, f5And, f5Min, f5Max        = 0x08, 0x0c, 0x10, 0x14
	f5Minu, f5Maxu                   = 0x18, 0x1c
)

func TestAMO(t *testing.T) {
	const data = ramBase + 0x10000
	cases := []struct {
		name      string
		f5, f3    uint32
		mem, src  uint64
		old, want uint64 // rd result, memory afterwards
	}{
		{"amoswap.w", f5Swap, 2, 0x1_ffffffff, 5, 0xffffffffffffffff, 0x1_00000005},
		{"amoadd.w wraps in 32 bits", f5Add, 2, 0xffffffff, 1, 0xffffffffffffffff, 0},
		{"amoxor.w", f5Xor, 2, 0xf0, 0xff, 0xf0, 0x0f},
		{"amoand.w", f5And, 2, 0xf0, 0x3c, 0xf0, 0x30},
		{"amoor.w", f5Or, 2, 0xf0, 0x0f, 0xf0, 0xff},
		{"amomin.w signed", f5Min, 2, 0x80000000, 1, 0xffffffff80000000, 0x80000000},
		{"amomax.w signed", f5Max, 2, 0x80000000, 1, 0xffffffff80000000, 1},
		{"amominu.w", f5Minu, 2, 0x80000000, 1, 0xffffffff80000000, 1},
		{"amomaxu.w", f5Maxu, 2, 0x80000000, 1, 0xffffffff80000000, 0x80000000},
		{"amoswap.d", f5Swap, 3, 7, 9, 7, 9},
		{"amoadd.d", f5Add, 3, 1 << 40, 1 << 40, 1 << 40, 1 << 41},
		{"amomin.d", f5Min, 3, 1 << 63, 5, 1 << 63, 1 << 63},
		{"amomaxu.d", f5Maxu, 3, 1 << 63, 5, 1 << 63, 1 << 63},
		{"amominu.d", f5Minu, 3, 1 << 63, 5, 1 << 63, 5},
		{"amomax.d", f5Max, 3, 1 << 63, 5, 1 << 63, 5},
		{"amoxor.d", f5Xor, 3, 3, 5, 3, 6},
		{"amoand.d", f5And, 3, 3, 5, 3, 1},
		{"amoor.d", f5Or, 3, 3, 5, 3, 7},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.program(cat(la(s0, data), w(amo(c.f5, c.f3, a0, s0, a1)), haltSeq())...)
		e.put64(data, c.mem)
		e.h.X[a1] = c.src
		e.run(100)
		if e.h.X[a0] != c.old || e.get64(data) != c.want {
			t.Errorf("%s: rd %#x mem %#x, want %#x %#x", c.name, e.h.X[a0], e.get64(data), c.old, c.want)
		}
	}
}

func TestLRSC(t *testing.T) {
	const data = ramBase + 0x10000
	cases := []struct {
		name    string
		words   []uint32
		success bool
	}{
		{"lr/sc", w(amo(f5LR, 3, a0, s0, 0), amo(f5SC, 3, a2, s0, a1)), true},
		{"sc without lr", w(amo(f5SC, 3, a2, s0, a1)), false},
		{"sc to another address", w(amo(f5LR, 3, a0, s0, 0), addi(s1, s0, 8), amo(f5SC, 3, a2, s1, a1)), false},
		{"second sc fails", w(amo(f5LR, 3, a0, s0, 0), amo(f5SC, 3, a2, s0, a1), amo(f5SC, 3, a2, s0, a1)), false},
		{"value changed between", w(amo(f5LR, 3, a0, s0, 0), sd(a3, s0, 0), amo(f5SC, 3, a2, s0, a1)), false},
		{"lr.w/sc.w", w(amo(f5LR, 2, a0, s0, 0), amo(f5SC, 2, a2, s0, a1)), true},
		{"lr.w/sc.d width mismatch", w(amo(f5LR, 2, a0, s0, 0), amo(f5SC, 3, a2, s0, a1)), false},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.program(cat(la(s0, data), c.words, haltSeq())...)
		e.put64(data, 0x1234)
		e.h.X[a1], e.h.X[a3] = 0x5678, 0x9999
		e.run(100)
		if got := e.h.X[a2] == 0; got != c.success {
			t.Errorf("%s: sc rd = %d", c.name, e.h.X[a2])
		}
		if c.success && e.get64(data)&0xffffffff != 0x5678 {
			t.Errorf("%s: memory %#x", c.name, e.get64(data))
		}
	}
}

func TestAtomicMisaligned(t *testing.T) {
	const data = ramBase + 0x10004
	cases := []struct {
		name  string
		word  uint32
		cause uint64
	}{
		{"lr.d misaligned", amo(f5LR, 3, a0, s0, 0), excLoadMisaligned},
		{"sc.d misaligned", amo(f5SC, 3, a0, s0, a1), excStoreMisaligned},
		{"amoadd.d misaligned", amo(f5Add, 3, a0, s0, a1), excStoreMisaligned},
		{"amoadd.w misaligned", amo(f5Add, 2, a0, s1, a1), excStoreMisaligned},
	}
	for _, c := range cases {
		h := trapEnv(t, PrivM, nil, cat(la(s0, data), w(addi(s1, s0, 2), c.word))...)
		if h.csr.mcause != c.cause {
			t.Errorf("%s: mcause %d, want %d", c.name, h.csr.mcause, c.cause)
		}
	}
	// AMOs to MMIO are access faults.
	h := trapEnv(t, PrivM, nil, cat(la(s0, mmioBase), w(amo(f5Add, 3, a0, s0, a1)))...)
	if h.csr.mcause != excStoreAccess || h.csr.mtval != mmioBase {
		t.Errorf("AMO to MMIO: mcause %d mtval %#x", h.csr.mcause, h.csr.mtval)
	}
}

func TestAMOAtomicAcrossHarts(t *testing.T) {
	// Two harts on one RAM each add 1 to a counter 20000 times.
	const data = ramBase + 0x10000
	const iters = 20000
	e := newEnv(t)
	prog := cat(la(s0, data), li(t0, iters), w(addi(a1, zero, 1)),
		w(amo(f5Add, 3, zero, s0, a1), addi(t0, t0, -1), bne(t0, zero, -8)),
		w(spin)) // the halt register would stop only the first hart
	e.program(prog...)
	h2 := New(Config{HartID: 1, RAM: e.ram, Bus: e.bus, Clock: e.clock})
	h2.Reset(ramBase)
	h2.OpenPMP()
	h2.csr.mtvec = trapVec
	var wg sync.WaitGroup
	for _, h := range []*Hart{e.h, h2} {
		wg.Add(1)
		go func(h *Hart) {
			defer wg.Done()
			h.Run(10 * iters)
		}(h)
	}
	wg.Wait()
	if got := e.get64(data); got != 2*iters {
		t.Fatalf("counter = %d, want %d", got, 2*iters)
	}
}
