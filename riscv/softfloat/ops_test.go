package softfloat

// The operation table shared by the corner-case, differential, host and
// fuzz tests: one entry per RISC-V instruction the package implements,
// with the instruction the reference program runs and a uniform entry
// point into the package. Operands and results travel as uint64; 32-bit
// values sit in the low half and booleans are 0 or 1.

type kind uint8

const (
	kindF32 kind = iota
	kindF64
	kindI32
	kindU32
	kindI64
	kindU64
	kindBool  // compare result
	kindClass // fclass mask
)

// is32 reports whether values of the kind occupy only the low 32 bits.
func (k kind) is32() bool { return k == kindF32 || k == kindI32 || k == kindU32 }

func (k kind) isFloat() bool { return k == kindF32 || k == kindF64 }

type opSpec struct {
	name  string
	insn  string // RISC-V assembly: ft0-ft2 are the float inputs, ft3 the float result, %[a] and %[r] integers
	in    kind
	out   kind
	arity int
	eval  func(a, b, c uint64, rm uint8) (uint64, uint8)
}

func b2u(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func f32op2(fn func(a, b uint32, rm uint8) (uint32, uint8)) func(a, b, c uint64, rm uint8) (uint64, uint8) {
	return func(a, b, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := fn(uint32(a), uint32(b), rm)
		return uint64(r), fl
	}
}

func f64op2(fn func(a, b uint64, rm uint8) (uint64, uint8)) func(a, b, c uint64, rm uint8) (uint64, uint8) {
	return func(a, b, _ uint64, rm uint8) (uint64, uint8) { return fn(a, b, rm) }
}

func f32cmp(fn func(a, b uint32) (bool, uint8)) func(a, b, c uint64, rm uint8) (uint64, uint8) {
	return func(a, b, _ uint64, _ uint8) (uint64, uint8) {
		r, fl := fn(uint32(a), uint32(b))
		return b2u(r), fl
	}
}

func f64cmp(fn func(a, b uint64) (bool, uint8)) func(a, b, c uint64, rm uint8) (uint64, uint8) {
	return func(a, b, _ uint64, _ uint8) (uint64, uint8) {
		r, fl := fn(a, b)
		return b2u(r), fl
	}
}

func f32minmax(fn func(a, b uint32) (uint32, uint8)) func(a, b, c uint64, rm uint8) (uint64, uint8) {
	return func(a, b, _ uint64, _ uint8) (uint64, uint8) {
		r, fl := fn(uint32(a), uint32(b))
		return uint64(r), fl
	}
}

func f64minmax(fn func(a, b uint64) (uint64, uint8)) func(a, b, c uint64, rm uint8) (uint64, uint8) {
	return func(a, b, _ uint64, _ uint8) (uint64, uint8) { return fn(a, b) }
}

var ops = []opSpec{
	{"fadd.s", "fadd.s ft3, ft0, ft1", kindF32, kindF32, 2, f32op2(F32Add)},
	{"fsub.s", "fsub.s ft3, ft0, ft1", kindF32, kindF32, 2, f32op2(F32Sub)},
	{"fmul.s", "fmul.s ft3, ft0, ft1", kindF32, kindF32, 2, f32op2(F32Mul)},
	{"fdiv.s", "fdiv.s ft3, ft0, ft1", kindF32, kindF32, 2, f32op2(F32Div)},
	{"fsqrt.s", "fsqrt.s ft3, ft0", kindF32, kindF32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F32Sqrt(uint32(a), rm)
		return uint64(r), fl
	}},
	{"fmadd.s", "fmadd.s ft3, ft0, ft1, ft2", kindF32, kindF32, 3, func(a, b, c uint64, rm uint8) (uint64, uint8) {
		r, fl := F32MulAdd(uint32(a), uint32(b), uint32(c), rm)
		return uint64(r), fl
	}},
	{"fmin.s", "fmin.s ft3, ft0, ft1", kindF32, kindF32, 2, f32minmax(F32Min)},
	{"fmax.s", "fmax.s ft3, ft0, ft1", kindF32, kindF32, 2, f32minmax(F32Max)},
	{"feq.s", "feq.s %[r], ft0, ft1", kindF32, kindBool, 2, f32cmp(F32Eq)},
	{"flt.s", "flt.s %[r], ft0, ft1", kindF32, kindBool, 2, f32cmp(F32Lt)},
	{"fle.s", "fle.s %[r], ft0, ft1", kindF32, kindBool, 2, f32cmp(F32Le)},
	{"fclass.s", "fclass.s %[r], ft0", kindF32, kindClass, 1, func(a, _, _ uint64, _ uint8) (uint64, uint8) {
		return F32Classify(uint32(a)), 0
	}},

	{"fadd.d", "fadd.d ft3, ft0, ft1", kindF64, kindF64, 2, f64op2(F64Add)},
	{"fsub.d", "fsub.d ft3, ft0, ft1", kindF64, kindF64, 2, f64op2(F64Sub)},
	{"fmul.d", "fmul.d ft3, ft0, ft1", kindF64, kindF64, 2, f64op2(F64Mul)},
	{"fdiv.d", "fdiv.d ft3, ft0, ft1", kindF64, kindF64, 2, f64op2(F64Div)},
	{"fsqrt.d", "fsqrt.d ft3, ft0", kindF64, kindF64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		return F64Sqrt(a, rm)
	}},
	{"fmadd.d", "fmadd.d ft3, ft0, ft1, ft2", kindF64, kindF64, 3, func(a, b, c uint64, rm uint8) (uint64, uint8) {
		return F64MulAdd(a, b, c, rm)
	}},
	{"fmin.d", "fmin.d ft3, ft0, ft1", kindF64, kindF64, 2, f64minmax(F64Min)},
	{"fmax.d", "fmax.d ft3, ft0, ft1", kindF64, kindF64, 2, f64minmax(F64Max)},
	{"feq.d", "feq.d %[r], ft0, ft1", kindF64, kindBool, 2, f64cmp(F64Eq)},
	{"flt.d", "flt.d %[r], ft0, ft1", kindF64, kindBool, 2, f64cmp(F64Lt)},
	{"fle.d", "fle.d %[r], ft0, ft1", kindF64, kindBool, 2, f64cmp(F64Le)},
	{"fclass.d", "fclass.d %[r], ft0", kindF64, kindClass, 1, func(a, _, _ uint64, _ uint8) (uint64, uint8) {
		return F64Classify(a), 0
	}},

	{"fcvt.d.s", "fcvt.d.s ft3, ft0", kindF32, kindF64, 1, func(a, _, _ uint64, _ uint8) (uint64, uint8) {
		return F32ToF64(uint32(a))
	}},
	{"fcvt.s.d", "fcvt.s.d ft3, ft0", kindF64, kindF32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F64ToF32(a, rm)
		return uint64(r), fl
	}},

	{"fcvt.w.s", "fcvt.w.s %[r], ft0", kindF32, kindI32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F32ToI32(uint32(a), rm)
		return uint64(uint32(r)), fl
	}},
	{"fcvt.wu.s", "fcvt.wu.s %[r], ft0", kindF32, kindU32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F32ToU32(uint32(a), rm)
		return uint64(r), fl
	}},
	{"fcvt.l.s", "fcvt.l.s %[r], ft0", kindF32, kindI64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F32ToI64(uint32(a), rm)
		return uint64(r), fl
	}},
	{"fcvt.lu.s", "fcvt.lu.s %[r], ft0", kindF32, kindU64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		return F32ToU64(uint32(a), rm)
	}},
	{"fcvt.w.d", "fcvt.w.d %[r], ft0", kindF64, kindI32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F64ToI32(a, rm)
		return uint64(uint32(r)), fl
	}},
	{"fcvt.wu.d", "fcvt.wu.d %[r], ft0", kindF64, kindU32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F64ToU32(a, rm)
		return uint64(r), fl
	}},
	{"fcvt.l.d", "fcvt.l.d %[r], ft0", kindF64, kindI64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := F64ToI64(a, rm)
		return uint64(r), fl
	}},
	{"fcvt.lu.d", "fcvt.lu.d %[r], ft0", kindF64, kindU64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		return F64ToU64(a, rm)
	}},

	{"fcvt.s.w", "fcvt.s.w ft3, %[a]", kindI32, kindF32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := I32ToF32(int32(uint32(a)), rm)
		return uint64(r), fl
	}},
	{"fcvt.s.wu", "fcvt.s.wu ft3, %[a]", kindU32, kindF32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := U32ToF32(uint32(a), rm)
		return uint64(r), fl
	}},
	{"fcvt.s.l", "fcvt.s.l ft3, %[a]", kindI64, kindF32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := I64ToF32(int64(a), rm)
		return uint64(r), fl
	}},
	{"fcvt.s.lu", "fcvt.s.lu ft3, %[a]", kindU64, kindF32, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		r, fl := U64ToF32(a, rm)
		return uint64(r), fl
	}},
	{"fcvt.d.w", "fcvt.d.w ft3, %[a]", kindI32, kindF64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		return I32ToF64(int32(uint32(a)), rm)
	}},
	{"fcvt.d.wu", "fcvt.d.wu ft3, %[a]", kindU32, kindF64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		return U32ToF64(uint32(a), rm)
	}},
	{"fcvt.d.l", "fcvt.d.l ft3, %[a]", kindI64, kindF64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		return I64ToF64(int64(a), rm)
	}},
	{"fcvt.d.lu", "fcvt.d.lu ft3, %[a]", kindU64, kindF64, 1, func(a, _, _ uint64, rm uint8) (uint64, uint8) {
		return U64ToF64(a, rm)
	}},
}

// opByName finds an entry of ops; tests name operations the way the ISA does.
func opByName(name string) (int, opSpec) {
	for i, op := range ops {
		if op.name == name {
			return i, op
		}
	}
	panic("unknown op " + name) // test-table typo
}
