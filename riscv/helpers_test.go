package riscv

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/vclock"
)

const (
	ramBase  = 0x80000000
	ramSize  = 8 << 20
	mmioBase = 0x10000000 // testBus registers
	haltAddr = 0x00100000 // a store here stops the hart
	romBase  = 0x00001000 // testBus ROM (fetchable)
	romSize  = 0x1000
)

// testBus is a small MMIO space: a halt register, scratch registers and a
// ROM, recording every access.
type testBus struct {
	mu   sync.Mutex
	h    *Hart
	regs map[uint64]uint64
	rom  [romSize]byte
	log  []busAccess
	// onWrite, when set, runs after a register write (outside the lock).
	onWrite func(pa uint64)
}

type busAccess struct {
	write bool
	pa    uint64
	size  int
	val   uint64
}

func (b *testBus) Read(pa uint64, size int) (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case pa >= romBase && pa < romBase+romSize && pa+uint64(size) <= romBase+romSize:
		var v uint64
		for i := 0; i < size; i++ {
			v |= uint64(b.rom[pa-romBase+uint64(i)]) << (8 * i)
		}
		return v, true
	case pa >= mmioBase && pa < mmioBase+0x1000:
		b.log = append(b.log, busAccess{false, pa, size, 0})
		return b.regs[pa], true
	}
	return 0, false
}

func (b *testBus) Write(pa uint64, size int, val uint64) bool {
	if b.onWrite != nil {
		defer b.onWrite(pa)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case pa == haltAddr:
		b.h.Stop()
		return true
	case pa >= mmioBase && pa < mmioBase+0x1000:
		b.log = append(b.log, busAccess{true, pa, size, val})
		b.regs[pa] = val
		return true
	}
	return false
}

type testEnv struct {
	t     testing.TB
	h     *Hart
	ram   *mem.RAM
	bus   *testBus
	clock *vclock.Clock
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	ram, err := mem.New(ramBase, ramSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ram.Close() })
	bus := &testBus{regs: map[uint64]uint64{}}
	clock := vclock.New()
	h := New(Config{HartID: 0, RAM: ram, Bus: bus, Clock: clock})
	bus.h = h
	h.Reset(ramBase)
	return &testEnv{t: t, h: h, ram: ram, bus: bus, clock: clock}
}

// put writes 32-bit words at pa.
func (e *testEnv) put(pa uint64, words ...uint32) {
	b := e.ram.Bytes()
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[pa-ramBase+uint64(4*i):], w)
	}
}

// put16 writes 16-bit parcels at pa.
func (e *testEnv) put16(pa uint64, hs ...uint16) {
	b := e.ram.Bytes()
	for i, w := range hs {
		binary.LittleEndian.PutUint16(b[pa-ramBase+uint64(2*i):], w)
	}
}

func (e *testEnv) put64(pa, v uint64) {
	binary.LittleEndian.PutUint64(e.ram.Bytes()[pa-ramBase:], v)
}

func (e *testEnv) get64(pa uint64) uint64 {
	return binary.LittleEndian.Uint64(e.ram.Bytes()[pa-ramBase:])
}

func (e *testEnv) get32(pa uint64) uint32 {
	return binary.LittleEndian.Uint32(e.ram.Bytes()[pa-ramBase:])
}

// trapVec is where tests put an M-mode handler that halts: a trap leaves
// mcause/mepc/mtval for inspection.
const trapVec = ramBase + 0x7000

// program loads words at ramBase, points mtvec at a halting handler and
// opens PMP so that S and U code may run.
func (e *testEnv) program(words ...uint32) {
	e.put(ramBase, words...)
	e.put(trapVec, haltSeq()...)
	e.h.csr.mtvec = trapVec
	e.h.OpenPMP()
	e.h.csr.mstatus |= 1 << msFSShift // FS = Initial
}

// run runs until the hart stops (budget is a safety net) and returns the
// instructions retired.
func (e *testEnv) run(budget uint64) uint64 {
	e.t.Helper()
	n := e.h.Run(budget)
	e.h.ClearStop()
	return n
}

// Register numbers.
const (
	zero = 0
	ra   = 1
	sp   = 2
	gp   = 3
	tp   = 4
	t0   = 5
	t1   = 6
	t2   = 7
	s0   = 8
	s1   = 9
	a0   = 10
	a1   = 11
	a2   = 12
	a3   = 13
	a4   = 14
	a5   = 15
	t6   = 31
)

// A tiny assembler for tests.
func addi(rd, rs1 uint32, imm int64) uint32  { return encI(opcOpImm, rd, 0, rs1, imm) }
func addiw(rd, rs1 uint32, imm int64) uint32 { return encI(opcOpImmW, rd, 0, rs1, imm) }
func slli(rd, rs1 uint32, sh int64) uint32   { return encI(opcOpImm, rd, 1, rs1, sh) }
func srli(rd, rs1 uint32, sh int64) uint32   { return encI(opcOpImm, rd, 5, rs1, sh) }
func add(rd, rs1, rs2 uint32) uint32         { return encR(opcOp, rd, 0, rs1, rs2, 0) }
func sub(rd, rs1, rs2 uint32) uint32         { return encR(opcOp, rd, 0, rs1, rs2, 0x20) }
func xor(rd, rs1, rs2 uint32) uint32         { return encR(opcOp, rd, 4, rs1, rs2, 0) }
func or(rd, rs1, rs2 uint32) uint32          { return encR(opcOp, rd, 6, rs1, rs2, 0) }
func and(rd, rs1, rs2 uint32) uint32         { return encR(opcOp, rd, 7, rs1, rs2, 0) }
func mul(rd, rs1, rs2 uint32) uint32         { return encR(opcOp, rd, 0, rs1, rs2, 1) }
func lui(rd uint32, imm int64) uint32        { return encU(opcLUI, rd, imm) }
func auipc(rd uint32, imm int64) uint32      { return encU(0x17, rd, imm) }
func ld(rd, rs1 uint32, imm int64) uint32    { return encI(opcLoad, rd, 3, rs1, imm) }
func lw(rd, rs1 uint32, imm int64) uint32    { return encI(opcLoad, rd, 2, rs1, imm) }
func lbu(rd, rs1 uint32, imm int64) uint32   { return encI(opcLoad, rd, 4, rs1, imm) }
func sd(rs2, rs1 uint32, imm int64) uint32   { return encS(opcStore, 3, rs1, rs2, imm) }
func sw(rs2, rs1 uint32, imm int64) uint32   { return encS(opcStore, 2, rs1, rs2, imm) }
func sh(rs2, rs1 uint32, imm int64) uint32   { return encS(opcStore, 1, rs1, rs2, imm) }
func sb(rs2, rs1 uint32, imm int64) uint32   { return encS(opcStore, 0, rs1, rs2, imm) }
func beq(rs1, rs2 uint32, off int64) uint32  { return encB(0, rs1, rs2, off) }
func bne(rs1, rs2 uint32, off int64) uint32  { return encB(1, rs1, rs2, off) }
func blt(rs1, rs2 uint32, off int64) uint32  { return encB(4, rs1, rs2, off) }
func jal(rd uint32, off int64) uint32        { return encJ(rd, off) }
func jalr(rd, rs1 uint32, imm int64) uint32  { return encI(opcJALR, rd, 0, rs1, imm) }
func csrrw(rd, csr, rs1 uint32) uint32       { return encI(opcSystem, rd, 1, rs1, int64(csr)) }
func csrrs(rd, csr, rs1 uint32) uint32       { return encI(opcSystem, rd, 2, rs1, int64(csr)) }
func csrrc(rd, csr, rs1 uint32) uint32       { return encI(opcSystem, rd, 3, rs1, int64(csr)) }
func csrrwi(rd, csr, imm uint32) uint32      { return encI(opcSystem, rd, 5, imm, int64(csr)) }
func csrrsi(rd, csr, imm uint32) uint32      { return encI(opcSystem, rd, 6, imm, int64(csr)) }
func csrrci(rd, csr, imm uint32) uint32      { return encI(opcSystem, rd, 7, imm, int64(csr)) }
func csrr(rd, csr uint32) uint32             { return csrrs(rd, csr, 0) }
func csrw(csr, rs1 uint32) uint32            { return csrrw(0, csr, rs1) }
func amo(f5, f3, rd, rs1, rs2 uint32) uint32 { return encR(0x2f, rd, f3, rs1, rs2, f5<<2) }

const (
	ecall  = 0x00000073
	ebreak = 0x00100073
	mret   = 0x30200073
	sret   = 0x10200073
	wfi    = 0x10500073
	fencei = 0x0000100f
	nop    = 0x00000013
)

func sfenceVMA(rs1, rs2 uint32) uint32 { return encR(opcSystem, 0, 0, rs1, rs2, 0x09) }

// li loads a 32-bit signed constant (two instructions).
func li(rd uint32, v int32) []uint32 {
	lo := int64(v) << 52 >> 52
	hi := (int64(v) - lo) & 0xfffff000
	return []uint32{lui(rd, int64(int32(hi))), addiw(rd, rd, lo)}
}

// haltSeq stores to the halt register and spins. The spin is a branch, not
// j ., which the block decoder would unroll (a JAL within the page does not
// end a block), so the hart stops right after the store.
func haltSeq() []uint32 {
	return []uint32{lui(t6, haltAddr), sw(zero, t6, 0), beq(zero, zero, 0)}
}

func cat(parts ...[]uint32) []uint32 {
	var out []uint32
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func w(ws ...uint32) []uint32 { return ws }

// la loads a 32-bit unsigned address (four instructions).
func la(rd uint32, addr uint64) []uint32 {
	return append(li(rd, int32(uint32(addr))), slli(rd, rd, 32), srli(rd, rd, 32))
}
