package riscv

import (
	"math"
	"testing"
)

// runInsn executes one instruction at ramBase with a1 = x, a2 = y and
// returns the hart afterwards.
func runInsn(t *testing.T, word uint32, x, y uint64) *Hart {
	t.Helper()
	e := newEnv(t)
	e.program(cat(w(word), haltSeq())...)
	e.h.X[a1], e.h.X[a2] = x, y
	e.run(1000)
	return e.h
}

func neg(v uint64) uint64 { return -v }

func TestIntegerOps(t *testing.T) {
	const minI64 = 1 << 63
	cases := []struct {
		name string
		word uint32
		x, y uint64
		want uint64
	}{
		{"add", add(a0, a1, a2), 3, 4, 7},
		{"add wraps", add(a0, a1, a2), math.MaxUint64, 2, 1},
		{"sub", sub(a0, a1, a2), 3, 4, math.MaxUint64},
		{"sll uses 6 bits", encR(opcOp, a0, 1, a1, a2, 0), 1, 65, 2},
		{"slt", encR(opcOp, a0, 2, a1, a2, 0), uint64(math.MaxUint64), 0, 1},
		{"sltu", encR(opcOp, a0, 3, a1, a2, 0), uint64(math.MaxUint64), 0, 0},
		{"srl", encR(opcOp, a0, 5, a1, a2, 0), minI64, 63, 1},
		{"sra", encR(opcOp, a0, 5, a1, a2, 0x20), minI64, 63, math.MaxUint64},
		{"xor", xor(a0, a1, a2), 0xf0, 0xff, 0x0f},
		{"or", or(a0, a1, a2), 0xf0, 0x0f, 0xff},
		{"and", and(a0, a1, a2), 0xf0, 0x3c, 0x30},
		{"addi negative", addi(a0, a1, -1), 0, 0, math.MaxUint64},
		{"slti", encI(opcOpImm, a0, 2, a1, -1), uint64(1<<63 | 5), 0, 1},
		{"sltiu -1 is max", encI(opcOpImm, a0, 3, a1, -1), 5, 0, 1},
		{"xori -1 is not", encI(opcOpImm, a0, 4, a1, -1), 0x1234, 0, ^uint64(0x1234)},
		{"srai 63", encI(opcOpImm, a0, 5, a1, 0x400|63), minI64, 0, math.MaxUint64},
		{"slli 63", slli(a0, a1, 63), 1, 0, minI64},
		{"addiw sign-extends", addiw(a0, a1, 1), 0x7fffffff, 0, 0xffffffff80000000},
		{"slliw", encI(opcOpImmW, a0, 1, a1, 31), 1, 0, 0xffffffff80000000},
		{"srliw", encI(opcOpImmW, a0, 5, a1, 1), 0xffffffff80000000, 0, 0x40000000},
		{"sraiw", encI(opcOpImmW, a0, 5, a1, 0x400|4), 0x80000000, 0, 0xfffffffff8000000},
		{"addw", encR(opcOpW, a0, 0, a1, a2, 0), 0xffffffff, 1, 0},
		{"subw", encR(opcOpW, a0, 0, a1, a2, 0x20), 0, 1, math.MaxUint64},
		{"sllw 5 bits", encR(opcOpW, a0, 1, a1, a2, 0), 1, 33, 2},
		{"srlw", encR(opcOpW, a0, 5, a1, a2, 0), 0x80000000, 31, 1},
		{"sraw", encR(opcOpW, a0, 5, a1, a2, 0x20), 0x80000000, 31, math.MaxUint64},
		{"lui", lui(a0, 0x80000000), 0, 0, 0xffffffff80000000},
		{"auipc", auipc(a0, 0x1000), 0, 0, ramBase + 0x1000},
		{"mul", mul(a0, a1, a2), 1 << 32, 1 << 32, 0},
		{"mulh -1*-1", encR(opcOp, a0, 1, a1, a2, 1), math.MaxUint64, math.MaxUint64, 0},
		{"mulh min*min", encR(opcOp, a0, 1, a1, a2, 1), minI64, minI64, 1 << 62},
		{"mulhsu -1*max", encR(opcOp, a0, 2, a1, a2, 1), math.MaxUint64, math.MaxUint64, math.MaxUint64},
		{"mulhu", encR(opcOp, a0, 3, a1, a2, 1), math.MaxUint64, math.MaxUint64, math.MaxUint64 - 1},
		{"div by zero", encR(opcOp, a0, 4, a1, a2, 1), 7, 0, math.MaxUint64},
		{"div overflow", encR(opcOp, a0, 4, a1, a2, 1), minI64, math.MaxUint64, minI64},
		{"div", encR(opcOp, a0, 4, a1, a2, 1), neg(7), 2, neg(3)},
		{"divu by zero", encR(opcOp, a0, 5, a1, a2, 1), 7, 0, math.MaxUint64},
		{"rem by zero", encR(opcOp, a0, 6, a1, a2, 1), 7, 0, 7},
		{"rem overflow", encR(opcOp, a0, 6, a1, a2, 1), minI64, math.MaxUint64, 0},
		{"rem sign of dividend", encR(opcOp, a0, 6, a1, a2, 1), neg(7), 2, math.MaxUint64},
		{"remu by zero", encR(opcOp, a0, 7, a1, a2, 1), 7, 0, 7},
		{"mulw", encR(opcOpW, a0, 0, a1, a2, 1), 0x10000, 0x8000, 0xffffffff80000000},
		{"divw by zero", encR(opcOpW, a0, 4, a1, a2, 1), 7, 0, math.MaxUint64},
		{"divw overflow", encR(opcOpW, a0, 4, a1, a2, 1), 0x80000000, 0xffffffff, 0xffffffff80000000},
		{"divuw", encR(opcOpW, a0, 5, a1, a2, 1), 0xffffffff, 1, math.MaxUint64},
		{"divuw by zero", encR(opcOpW, a0, 5, a1, a2, 1), 7, 0, math.MaxUint64},
		{"remw overflow", encR(opcOpW, a0, 6, a1, a2, 1), 0x80000000, 0xffffffff, 0},
		{"remw by zero", encR(opcOpW, a0, 6, a1, a2, 1), 0x80000000, 0, 0xffffffff80000000},
		{"remuw by zero", encR(opcOpW, a0, 7, a1, a2, 1), 0x80000001, 0, 0xffffffff80000001},
		{"x0 stays zero", addi(zero, a1, 5), 1, 0, 0},
	}
	for _, c := range cases {
		h := runInsn(t, c.word, c.x, c.y)
		if h.X[a0] != c.want || h.X[0] != 0 {
			t.Errorf("%s: a0 = %#x, want %#x (x0 = %#x, mcause %d)", c.name, h.X[a0], c.want, h.X[0], h.csr.mcause)
		}
	}
}

func TestBranchesAndJumps(t *testing.T) {
	// Each case runs: insn; addi a0, a0, 1 (skipped when taken); halt.
	// Taken branches jump over the addi (offset 8).
	cases := []struct {
		name  string
		word  uint32
		x, y  uint64
		taken bool
	}{
		{"beq taken", beq(a1, a2, 8), 5, 5, true},
		{"beq not", beq(a1, a2, 8), 5, 6, false},
		{"bne", bne(a1, a2, 8), 5, 6, true},
		{"blt signed", blt(a1, a2, 8), math.MaxUint64, 0, true},
		{"bge signed", encB(5, a1, a2, 8), 0, math.MaxUint64, true},
		{"bltu", encB(6, a1, a2, 8), 0, math.MaxUint64, true},
		{"bgeu not", encB(7, a1, a2, 8), 0, math.MaxUint64, false},
		{"jal", jal(ra, 8), 0, 0, true},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.program(cat(w(c.word, addi(a0, a0, 1)), haltSeq())...)
		e.h.X[a1], e.h.X[a2] = c.x, c.y
		e.run(1000)
		if got := e.h.X[a0] == 0; got != c.taken {
			t.Errorf("%s: taken = %v", c.name, got)
		}
	}
	// jalr: target computed before the link is written, bit 0 cleared.
	e := newEnv(t)
	// la is 4 words, so jalr is at 0x10; its target (0x29-0x10)&^1 = 0x18
	// skips the addi at 0x14.
	e.program(cat(la(a1, ramBase+0x29), w(jalr(a1, a1, -0x10), addi(a0, a0, 1)), haltSeq())...)
	e.run(1000)
	if e.h.X[a1] != ramBase+0x14 || e.h.X[a0] != 0 {
		t.Errorf("jalr: link = %#x (want %#x), a0 = %d", e.h.X[a1], ramBase+0x14, e.h.X[a0])
	}
}

func TestLoadsStores(t *testing.T) {
	e := newEnv(t)
	data := uint64(ramBase + 0x10000)
	e.program(cat(
		la(s0, data),
		w(
			ld(a0, s0, 0), lw(a1, s0, 0), lbu(a2, s0, 7), encI(opcLoad, a3, 0, s0, 7), // ld lw lbu lb
			encI(opcLoad, a4, 1, s0, 6), encI(opcLoad, a5, 5, s0, 6), encI(opcLoad, t0, 6, s0, 4), // lh lhu lwu
			sd(a0, s0, 8), sw(a0, s0, 16), sh(a0, s0, 24), sb(a0, s0, 32),
			ld(t1, s0, 1),  // misaligned load within the page
			sd(a0, s0, 41), // misaligned store
			ld(zero, s0, 0),
		),
		haltSeq(),
	)...)
	e.put64(data, 0x8899aabbccddeeff)
	e.run(1000)
	h := e.h
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"ld", h.X[a0], 0x8899aabbccddeeff},
		{"lw", h.X[a1], 0xffffffffccddeeff},
		{"lbu", h.X[a2], 0x88},
		{"lb", h.X[a3], 0xffffffffffffff88},
		{"lh", h.X[a4], 0xffffffffffff8899},
		{"lhu", h.X[a5], 0x8899},
		{"lwu", h.X[t0], 0x8899aabb},
		{"sd", e.get64(data + 8), 0x8899aabbccddeeff},
		{"sw", e.get64(data + 16), 0xccddeeff},
		{"sh", e.get64(data + 24), 0xeeff},
		{"sb", e.get64(data + 32), 0xff},
		{"misaligned ld", h.X[t1], 0xff8899aabbccddee}, // byte 8 was stored by the sd
		{"misaligned sd lo", e.get64(data + 40), 0x99aabbccddeeff00},
		{"x0", h.X[0], 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if h.stats.Exceptions[excLoadMisaligned]+h.stats.Exceptions[excStoreMisaligned] != 0 {
		t.Errorf("misaligned accesses trapped")
	}
}

func TestMMIOAccess(t *testing.T) {
	e := newEnv(t)
	e.program(cat(
		la(s0, mmioBase),
		li(a0, 0x1234),
		w(sw(a0, s0, 8), lw(a1, s0, 8), sh(a0, s0, 17), encI(opcLoad, a2, 5, s0, 17)),
		haltSeq(),
	)...)
	e.run(1000)
	if e.h.X[a1] != 0x1234 {
		t.Errorf("MMIO read back %#x", e.h.X[a1])
	}
	// The misaligned halfword goes to the bus as two byte accesses.
	if e.h.X[a2] != 0x1234 || e.bus.regs[mmioBase+17] != 0x34 || e.bus.regs[mmioBase+18] != 0x12 {
		t.Errorf("misaligned MMIO: lhu %#x regs %#x %#x", e.h.X[a2], e.bus.regs[mmioBase+17], e.bus.regs[mmioBase+18])
	}
	// An address with no device is a load access fault with tval = va.
	e2 := newEnv(t)
	e2.program(cat(li(s0, 0x20000000), w(ld(a0, s0, 8)), haltSeq())...)
	e2.run(1000)
	if e2.h.csr.mcause != excLoadAccess || e2.h.csr.mtval != 0x20000008 {
		t.Errorf("unmapped load: mcause %d mtval %#x", e2.h.csr.mcause, e2.h.csr.mtval)
	}
}
