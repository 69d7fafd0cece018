package softfloat

// less orders two non-NaN values. With signedZeros, -0 sorts below +0 (as
// fmin/fmax need); otherwise they compare equal (as flt/fle need).
func (f format) less(a, b uint64, signedZeros bool) bool {
	sa, sb := f.sign(a), f.sign(b)
	if sa != sb {
		return sa && (signedZeros || !(f.isZero(a) && f.isZero(b)))
	}
	if sa {
		return a > b
	}
	return a < b
}

// minMax implements fmin/fmax (F 2.2, IEEE 754-2019 minimumNumber and
// maximumNumber): a NaN operand yields the other operand, two NaNs the
// canonical NaN, and only signalling NaNs raise NV.
func (f format) minMax(a, b uint64, wantMax bool) (uint64, uint8) {
	var fl uint8
	if f.isSNaN(a) || f.isSNaN(b) {
		fl = FlagNV
	}
	nanA, nanB := f.isNaN(a), f.isNaN(b)
	switch {
	case nanA && nanB:
		return f.defaultNaN(), fl
	case nanA:
		return b, fl
	case nanB:
		return a, fl
	}
	if f.less(a, b, true) != wantMax {
		return a, fl
	}
	return b, fl
}

// eq is the quiet comparison: only signalling NaNs raise NV.
func (f format) eq(a, b uint64) (bool, uint8) {
	if f.isNaN(a) || f.isNaN(b) {
		_, fl := f.nanResult(a, b)
		return false, fl
	}
	return a == b || f.isZero(a) && f.isZero(b), 0
}

// lt and le are signalling comparisons: any NaN raises NV.
func (f format) lt(a, b uint64) (bool, uint8) {
	if f.isNaN(a) || f.isNaN(b) {
		return false, FlagNV
	}
	return f.less(a, b, false), 0
}

func (f format) le(a, b uint64) (bool, uint8) {
	if f.isNaN(a) || f.isNaN(b) {
		return false, FlagNV
	}
	return a == b || f.isZero(a) && f.isZero(b) || f.less(a, b, false), 0
}

// Classification bits of the RISC-V fclass result.
const (
	ClassNegInf       = 1 << 0
	ClassNegNormal    = 1 << 1
	ClassNegSubnormal = 1 << 2
	ClassNegZero      = 1 << 3
	ClassPosZero      = 1 << 4
	ClassPosSubnormal = 1 << 5
	ClassPosNormal    = 1 << 6
	ClassPosInf       = 1 << 7
	ClassSNaN         = 1 << 8
	ClassQNaN         = 1 << 9
)

func (f format) classify(a uint64) uint64 {
	neg := f.sign(a)
	pick := func(negBit, posBit uint64) uint64 {
		if neg {
			return negBit
		}
		return posBit
	}
	switch {
	case f.isSNaN(a):
		return ClassSNaN
	case f.isNaN(a):
		return ClassQNaN
	case f.isInf(a):
		return pick(ClassNegInf, ClassPosInf)
	case f.isZero(a):
		return pick(ClassNegZero, ClassPosZero)
	case f.expField(a) == 0:
		return pick(ClassNegSubnormal, ClassPosSubnormal)
	}
	return pick(ClassNegNormal, ClassPosNormal)
}

// F32Min returns the smaller of a and b (fmin.s).
func F32Min(a, b uint32) (uint32, uint8) {
	r, fl := binary32().minMax(uint64(a), uint64(b), false)
	return uint32(r), fl
}

// F32Max returns the larger of a and b (fmax.s).
func F32Max(a, b uint32) (uint32, uint8) {
	r, fl := binary32().minMax(uint64(a), uint64(b), true)
	return uint32(r), fl
}

// F32Eq reports a == b (feq.s, quiet).
func F32Eq(a, b uint32) (bool, uint8) { return binary32().eq(uint64(a), uint64(b)) }

// F32Lt reports a < b (flt.s, signalling).
func F32Lt(a, b uint32) (bool, uint8) { return binary32().lt(uint64(a), uint64(b)) }

// F32Le reports a <= b (fle.s, signalling).
func F32Le(a, b uint32) (bool, uint8) { return binary32().le(uint64(a), uint64(b)) }

// F32Classify returns the fclass.s mask of a.
func F32Classify(a uint32) uint64 { return binary32().classify(uint64(a)) }

// F64Min returns the smaller of a and b (fmin.d).
func F64Min(a, b uint64) (uint64, uint8) { return binary64().minMax(a, b, false) }

// F64Max returns the larger of a and b (fmax.d).
func F64Max(a, b uint64) (uint64, uint8) { return binary64().minMax(a, b, true) }

// F64Eq reports a == b (feq.d, quiet).
func F64Eq(a, b uint64) (bool, uint8) { return binary64().eq(a, b) }

// F64Lt reports a < b (flt.d, signalling).
func F64Lt(a, b uint64) (bool, uint8) { return binary64().lt(a, b) }

// F64Le reports a <= b (fle.d, signalling).
func F64Le(a, b uint64) (bool, uint8) { return binary64().le(a, b) }

// F64Classify returns the fclass.d mask of a.
func F64Classify(a uint64) uint64 { return binary64().classify(a) }
