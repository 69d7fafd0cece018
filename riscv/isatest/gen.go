package isatest

import (
	"fmt"
	"math/rand"
	"strings"
)

// Layout of a differential program's scratch memory and state dump.
const (
	ScratchSize = 1024
	// sp points at scratch+256 and s0 (x8) at scratch+512; neither is ever
	// written by a stream, so every memory access stays inside scratch.
	spOffset = 256
	s0Offset = 512
	// DumpWords is x0..x31 (x0 slot unused), f0..f31 and fcsr.
	DumpWords = 32 + 32 + 1
	// StateWords is the whole compared state: the dump plus scratch.
	StateWords = DumpWords + ScratchSize/8
)

// Insn is one generated instruction (or a fixed multi-instruction group
// such as auipc+jalr). Target >= 0 names the forward label the text
// refers to as %L.
type Insn struct {
	Text   string
	Target int
}

// Stream is a random but valid instruction sequence with its initial
// state. Everything derives from Seed, so a stream is reproducible.
type Stream struct {
	Seed  int64
	Insns []Insn
	XInit [32]uint64
	FInit [32]uint64
	FCSR  uint64
	Mem   [ScratchSize]byte
}

type gen struct {
	r *rand.Rand
	s *Stream
	i int // index of the instruction being generated
	n int
}

// Generate returns the stream of n instructions for seed.
func Generate(seed int64, n int) *Stream {
	g := &gen{r: rand.New(rand.NewSource(seed)), s: &Stream{Seed: seed}, n: n}
	for i := 1; i < 32; i++ {
		g.s.XInit[i] = g.intValue()
	}
	for i := range g.s.FInit {
		g.s.FInit[i] = g.fpValue()
	}
	g.s.FCSR = uint64(g.r.Intn(5))<<5 | uint64(g.r.Intn(32))
	g.r.Read(g.s.Mem[:])
	for g.i = 0; g.i < n; g.i++ {
		g.s.Insns = append(g.s.Insns, g.insn())
	}
	return g.s
}

var specialInts = []uint64{
	0, 1, 2, 0xffffffffffffffff, 0x7fffffffffffffff, 0x8000000000000000,
	0xffffffff, 0x80000000, 0x7fffffff, 0xffffffff80000000, 0x100000000,
	63, 64, 31, 32, 0xfffffffffffff800, 0x7ff,
}

func (g *gen) intValue() uint64 {
	switch g.r.Intn(4) {
	case 0:
		return specialInts[g.r.Intn(len(specialInts))]
	case 1:
		return uint64(int64(int32(g.r.Uint32())))
	case 2:
		return uint64(g.r.Intn(200)) - 100
	}
	return g.r.Uint64()
}

var specialSingles = []uint32{
	0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
	0x7fc00000, 0x7fc12345, 0x7f800001, 0xff812345, 0x00000001, 0x807fffff,
	0x007fffff, 0x7f7fffff, 0x00800000, 0x4f000000, 0x5f000000, 0xcf000000,
	0x3fc00000, 0x40200000, 0xbf000000,
}

var specialDoubles = []uint64{
	0, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
	0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000,
	0x7ff8000000012345, 0x7ff0000000000001, 0x0000000000000001,
	0x000fffffffffffff, 0x7fefffffffffffff, 0x0010000000000000,
	0x41e0000000000000, 0xc1e0000000100000, 0x43e0000000000000,
	0x3ff8000000000000, 0x4004000000000000,
}

// fpValue is a NaN-boxed single, a double, or (rarely) an unboxed value
// that single-precision operations must read as the canonical NaN.
func (g *gen) fpValue() uint64 {
	switch g.r.Intn(10) {
	case 0, 1:
		return 0xffffffff00000000 | uint64(specialSingles[g.r.Intn(len(specialSingles))])
	case 2, 3:
		// random normal single with a small exponent spread
		v := g.r.Uint32()&0x807fffff | uint32(100+g.r.Intn(56))<<23
		return 0xffffffff00000000 | uint64(v)
	case 4, 5:
		return specialDoubles[g.r.Intn(len(specialDoubles))]
	case 6, 7, 8:
		v := g.r.Uint64()&0x800fffffffffffff | uint64(1000+g.r.Intn(48))<<52
		return v
	}
	return g.r.Uint64() &^ (0xffffffff << 32)
}

// Register pools. sp (x2) and s0 (x8) are the scratch bases: read-only.
func (g *gen) rd() string {
	for {
		r := 1 + g.r.Intn(31)
		if r != 2 && r != 8 {
			return fmt.Sprintf("x%d", r)
		}
	}
}
func (g *gen) rdOrZero() string {
	if g.r.Intn(8) == 0 {
		return "x0"
	}
	return g.rd()
}
func (g *gen) rs() string  { return fmt.Sprintf("x%d", g.r.Intn(32)) }
func (g *gen) rdc() string { return fmt.Sprintf("x%d", 9+g.r.Intn(7)) } // x9..x15
func (g *gen) rsc() string { return fmt.Sprintf("x%d", 8+g.r.Intn(8)) } // x8..x15
func (g *gen) rsNZ() string {
	return fmt.Sprintf("x%d", 1+g.r.Intn(31))
}
func (g *gen) fr() string  { return fmt.Sprintf("f%d", g.r.Intn(32)) }
func (g *gen) frc() string { return fmt.Sprintf("f%d", 8+g.r.Intn(8)) }

var roundingModes = []string{"rne", "rtz", "rdn", "rup", "rmm", "dyn"}

func (g *gen) rm() string { return roundingModes[g.r.Intn(len(roundingModes))] }

func (g *gen) pick(ops ...string) string { return ops[g.r.Intn(len(ops))] }

func (g *gen) imm(lo, hi int) int { return lo + g.r.Intn(hi-lo+1) }

// target picks a forward label 1..6 instructions ahead.
func (g *gen) target() int { return g.i + 1 + g.r.Intn(6) }

func plain(format string, args ...any) Insn {
	return Insn{Text: fmt.Sprintf(format, args...), Target: -1}
}

func (g *gen) insn() Insn {
	switch k := g.r.Intn(100); {
	case k < 22:
		return g.aluReg()
	case k < 38:
		return g.aluImm()
	case k < 48:
		return g.mulDiv()
	case k < 60:
		return g.memory()
	case k < 67:
		return g.control()
	case k < 79:
		return g.compressed()
	case k < 97:
		return g.float()
	}
	return g.amo()
}

func (g *gen) aluReg() Insn {
	op := g.pick("add", "sub", "sll", "srl", "sra", "slt", "sltu", "xor", "or", "and",
		"addw", "subw", "sllw", "srlw", "sraw")
	return plain("%s %s, %s, %s", op, g.rd(), g.rs(), g.rs())
}

func (g *gen) aluImm() Insn {
	switch g.r.Intn(6) {
	case 0:
		return plain("%s %s, %s, %d", g.pick("slli", "srli", "srai"), g.rd(), g.rs(), g.imm(0, 63))
	case 1:
		return plain("%s %s, %s, %d", g.pick("slliw", "srliw", "sraiw"), g.rd(), g.rs(), g.imm(0, 31))
	case 2:
		return plain("%s %s, %#x", g.pick("lui", "auipc"), g.rd(), g.imm(0, 0xfffff))
	}
	op := g.pick("addi", "slti", "sltiu", "xori", "ori", "andi", "addiw")
	return plain("%s %s, %s, %d", op, g.rd(), g.rs(), g.imm(-2048, 2047))
}

func (g *gen) mulDiv() Insn {
	op := g.pick("mul", "mulh", "mulhsu", "mulhu", "mulw", "div", "divu", "rem", "remu",
		"divw", "divuw", "remw", "remuw")
	return plain("%s %s, %s, %s", op, g.rd(), g.rs(), g.rs())
}

// base returns a scratch base register and an offset for an access of size
// bytes that stays inside scratch (misaligned offsets included).
func (g *gen) base(size int) (string, int) {
	if g.r.Intn(2) == 0 {
		return "x2", g.imm(-spOffset, ScratchSize-spOffset-size)
	}
	return "x8", g.imm(-s0Offset, ScratchSize-s0Offset-size)
}

func (g *gen) memory() Insn {
	type access struct {
		op   string
		size int
		fp   bool
		load bool
	}
	ops := []access{
		{"lb", 1, false, true}, {"lbu", 1, false, true}, {"lh", 2, false, true},
		{"lhu", 2, false, true}, {"lw", 4, false, true}, {"lwu", 4, false, true},
		{"ld", 8, false, true}, {"flw", 4, true, true}, {"fld", 8, true, true},
		{"sb", 1, false, false}, {"sh", 2, false, false}, {"sw", 4, false, false},
		{"sd", 8, false, false}, {"fsw", 4, true, false}, {"fsd", 8, true, false},
	}
	a := ops[g.r.Intn(len(ops))]
	b, off := g.base(a.size)
	if g.r.Intn(3) != 0 { // mostly aligned, a third misaligned
		off &^= a.size - 1
	}
	var reg string
	switch {
	case a.fp:
		reg = g.fr()
	case a.load:
		reg = g.rdOrZero()
	default:
		reg = g.rs()
	}
	return plain("%s %s, %d(%s)", a.op, reg, off, b)
}

func (g *gen) control() Insn {
	switch g.r.Intn(5) {
	case 0, 1:
		op := g.pick("beq", "bne", "blt", "bge", "bltu", "bgeu")
		return Insn{Text: fmt.Sprintf("%s %s, %s, %%L", op, g.rs(), g.rs()), Target: g.target()}
	case 2:
		return Insn{Text: fmt.Sprintf("jal %s, %%L", g.rdOrZero()), Target: g.target()}
	case 3:
		// jalr with an odd offset: bit 0 of the target is dropped, so it
		// lands on the instruction after the skipped addi.
		rx := g.rd()
		skip := g.rd()
		return plain(".option push; .option norvc; auipc %s, 0; jalr %s, 13(%s); addi %s, %s, 1; .option pop",
			rx, g.rdOrZero(), rx, skip, skip)
	}
	// c.jalr / c.jr over a c.nop
	rx := g.rd()
	return plain(".option push; .option norvc; auipc %s, 0; addi %s, %s, 12; .option pop; %s %s; c.nop",
		rx, rx, rx, g.pick("c.jalr", "c.jr"), rx)
}

func (g *gen) compressed() Insn {
	switch g.r.Intn(16) {
	case 0:
		return plain("c.li %s, %d", g.rd(), g.imm(-32, 31))
	case 1:
		imm := g.imm(1, 63)
		if imm > 31 {
			imm = 0xfffc0 + imm // 0xfffe0..0xfffff
		}
		return plain("c.lui %s, %#x", g.rd(), imm)
	case 2:
		imm := g.imm(-32, 30)
		if imm >= 0 {
			imm++
		}
		return plain("c.addi %s, %d", g.rd(), imm)
	case 3:
		return plain("c.addiw %s, %d", g.rd(), g.imm(-32, 31))
	case 4:
		return plain("c.slli %s, %d", g.rd(), g.imm(1, 63))
	case 5:
		return plain("%s %s, %d", g.pick("c.srli", "c.srai"), g.rdc(), g.imm(1, 63))
	case 6:
		return plain("c.andi %s, %d", g.rdc(), g.imm(-32, 31))
	case 7:
		return plain("%s %s, %s", g.pick("c.mv", "c.add"), g.rd(), g.rsNZ())
	case 8:
		op := g.pick("c.sub", "c.xor", "c.or", "c.and", "c.subw", "c.addw")
		return plain("%s %s, %s", op, g.rdc(), g.rsc())
	case 9:
		return plain("c.addi4spn %s, sp, %d", g.rdc(), 4*g.imm(1, 255))
	case 10:
		// s0 = scratch+512: c.lw/c.ld offsets up to 248 stay inside
		if g.r.Intn(2) == 0 {
			return plain("%s %s, %d(x8)", g.pick("c.lw", "c.sw"), g.rdc(), 4*g.imm(0, 31))
		}
		return plain("%s %s, %d(x8)", g.pick("c.ld", "c.sd"), g.rdc(), 8*g.imm(0, 31))
	case 11:
		return plain("%s %s, %d(x8)", g.pick("c.fld", "c.fsd"), g.frc(), 8*g.imm(0, 31))
	case 12:
		if g.r.Intn(2) == 0 {
			return plain("c.lwsp %s, %d(sp)", g.rd(), 4*g.imm(0, 63))
		}
		return plain("c.ldsp %s, %d(sp)", g.rd(), 8*g.imm(0, 63))
	case 13:
		if g.r.Intn(2) == 0 {
			return plain("c.swsp %s, %d(sp)", g.rs(), 4*g.imm(0, 63))
		}
		return plain("c.sdsp %s, %d(sp)", g.rs(), 8*g.imm(0, 63))
	case 14:
		return plain("%s %s, %d(sp)", g.pick("c.fldsp", "c.fsdsp"), g.fr(), 8*g.imm(0, 63))
	}
	if g.r.Intn(2) == 0 {
		return Insn{Text: "c.j %L", Target: g.target()}
	}
	return Insn{Text: fmt.Sprintf("%s %s, %%L", g.pick("c.beqz", "c.bnez"), g.rsc()), Target: g.target()}
}

func (g *gen) float() Insn {
	p := g.pick(".s", ".d")
	switch g.r.Intn(13) {
	case 0, 1:
		return plain("%s%s %s, %s, %s, %s", g.pick("fadd", "fsub", "fmul", "fdiv"), p, g.fr(), g.fr(), g.fr(), g.rm())
	case 2:
		return plain("fsqrt%s %s, %s, %s", p, g.fr(), g.fr(), g.rm())
	case 3:
		return plain("%s%s %s, %s, %s", g.pick("fmin", "fmax", "fsgnj", "fsgnjn", "fsgnjx"), p, g.fr(), g.fr(), g.fr())
	case 4:
		return plain("%s%s %s, %s, %s, %s, %s", g.pick("fmadd", "fmsub", "fnmadd", "fnmsub"), p, g.fr(), g.fr(), g.fr(), g.fr(), g.rm())
	case 5:
		return plain("%s%s %s, %s, %s", g.pick("feq", "flt", "fle"), p, g.rdOrZero(), g.fr(), g.fr())
	case 6:
		return plain("fclass%s %s, %s", p, g.rd(), g.fr())
	case 7:
		return plain("fcvt.%s%s %s, %s, %s", g.pick("w", "wu", "l", "lu"), p, g.rd(), g.fr(), g.rm())
	case 8:
		src := g.pick("w", "wu", "l", "lu")
		if p == ".d" && (src == "w" || src == "wu") {
			return plain("fcvt.d.%s %s, %s", src, g.fr(), g.rs()) // exact: no rm
		}
		return plain("fcvt%s.%s %s, %s, %s", p, src, g.fr(), g.rs(), g.rm())
	case 9:
		if g.r.Intn(2) == 0 {
			return plain("fcvt.s.d %s, %s, %s", g.fr(), g.fr(), g.rm())
		}
		return plain("fcvt.d.s %s, %s", g.fr(), g.fr())
	case 10:
		if g.r.Intn(2) == 0 {
			return plain("%s %s, %s", g.pick("fmv.x.w", "fmv.x.d"), g.rd(), g.fr())
		}
		return plain("%s %s, %s", g.pick("fmv.w.x", "fmv.d.x"), g.fr(), g.rs())
	case 11:
		switch g.r.Intn(4) {
		case 0:
			return plain("frflags %s", g.rd())
		case 1:
			return plain("fsflags %s, %s", g.rdOrZero(), g.rs())
		case 2:
			return plain("fsrmi %s, %d", g.rdOrZero(), g.imm(0, 4))
		}
		return plain("csrr %s, fcsr", g.rd())
	}
	return plain("fsflagsi %d", g.imm(0, 31))
}

func (g *gen) amo() Insn {
	op := g.pick("amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax", "amominu", "amomaxu")
	return plain("%s%s %s, %s, (%s)", op, g.pick(".w", ".d"), g.rdOrZero(), g.rs(), g.pick("x2", "x8"))
}

// Program renders the first prefix instructions of the stream as a
// bare-metal test program (runtime.S conventions): it loads the initial
// state, runs the stream, stores x1..x31, f0..f31 and fcsr at diff_dump,
// prints the dump and the scratch memory through the UART as one 16-digit
// hex word per line, and passes. Branches past the prefix go to the end.
func (s *Stream) Program(prefix int) string {
	if prefix > len(s.Insns) {
		prefix = len(s.Insns)
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("/* differential stream, seed %d, %d of %d instructions */", s.Seed, prefix, len(s.Insns))
	w("#include \"test.h\"")
	w("  .text")
	w("  .globl test_main")
	w("test_main:")
	w("  la t0, diff_finit")
	for i := range 32 {
		w("  fld f%d, %d(t0)", i, 8*i)
	}
	w("  la t0, diff_fcsr")
	w("  ld t0, 0(t0)")
	w("  csrw fcsr, t0")
	w("  la x31, diff_xinit")
	for i := 1; i < 31; i++ {
		w("  ld x%d, %d(x31)", i, 8*i)
	}
	w("  ld x31, 248(x31)")
	for i, in := range s.Insns[:prefix] {
		text := in.Text
		if in.Target >= 0 {
			label := "Lend"
			if in.Target < prefix {
				label = fmt.Sprintf("L%d", in.Target)
			}
			text = strings.ReplaceAll(text, "%L", label)
		}
		w("L%d: %s", i, text)
	}
	w("Lend:")
	w("  csrw mscratch, x31")
	w("  la x31, diff_dump")
	for i := 1; i < 31; i++ {
		w("  sd x%d, %d(x31)", i, 8*i)
	}
	w("  csrr x30, mscratch")
	w("  sd x30, 248(x31)")
	for i := range 32 {
		w("  fsd f%d, %d(x31)", i, 256+8*i)
	}
	w("  csrr x30, fcsr")
	w("  sd x30, 512(x31)")
	w("  la s1, diff_dump")
	w("  li s2, %d", DumpWords)
	w("  call dump_words")
	w("  la s1, diff_scratch")
	w("  li s2, %d", ScratchSize/8)
	w("  call dump_words")
	w("  j pass")
	w("dump_words:")
	w("  mv s3, ra")
	w("1:")
	w("  ld a0, 0(s1)")
	w("  call puthex")
	w("  li t0, UART0")
	w("  li t1, '\\n'")
	w("  sb t1, 0(t0)")
	w("  addi s1, s1, 8")
	w("  addi s2, s2, -1")
	w("  bnez s2, 1b")
	w("  mv ra, s3")
	w("  ret")
	w("  .data")
	w("  .align 3")
	w("diff_xinit:")
	for i, v := range s.XInit {
		switch i {
		case 2:
			w("  .dword diff_scratch + %d", spOffset)
		case 8:
			w("  .dword diff_scratch + %d", s0Offset)
		default:
			w("  .dword %#x", v)
		}
	}
	w("diff_finit:")
	for _, v := range s.FInit {
		w("  .dword %#x", v)
	}
	w("diff_fcsr: .dword %#x", s.FCSR)
	w("  .globl diff_dump")
	w("diff_dump: .fill %d, 8, 0", DumpWords)
	w("  .align 6")
	w("  .globl diff_scratch")
	w("diff_scratch:")
	for i := 0; i < ScratchSize; i += 16 {
		var parts []string
		for _, c := range s.Mem[i : i+16] {
			parts = append(parts, fmt.Sprintf("%#x", c))
		}
		w("  .byte %s", strings.Join(parts, ", "))
	}
	return b.String()
}

// StateName names slot i of a compared state (dump then scratch).
func StateName(i int) string {
	switch {
	case i < 32:
		return fmt.Sprintf("x%d", i)
	case i < 64:
		return fmt.Sprintf("f%d", i-32)
	case i == 64:
		return "fcsr"
	}
	return fmt.Sprintf("mem[scratch+%#x]", (i-DumpWords)*8)
}
