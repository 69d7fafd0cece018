package softfloat

// convert rounds a value of format f to format g (exact when widening).
func (f format) convert(g format, a uint64, rm uint8) (uint64, uint8) {
	neg := f.sign(a)
	switch {
	case f.isNaN(a):
		_, fl := f.nanResult(a, a)
		return g.defaultNaN(), fl
	case f.isInf(a):
		return g.signed(neg) | g.infBits(), 0
	case f.isZero(a):
		return g.signed(neg), 0
	}
	m, e := f.unpack(a)
	return g.roundPack(neg, e, m, rm)
}

// toInt converts a to an n-bit integer (n = 32 or 64), signed or unsigned,
// returning its two's-complement pattern in the low n bits. Out-of-range
// values, infinities and NaNs saturate with NV (NaN to the maximum) and
// raise no NX; in-range inexact results raise NX.
func (f format) toInt(a uint64, rm uint8, n uint, signed bool) (uint64, uint8) {
	maxPos := uint64(1)<<n - 1 // Go shifts past the width give 0, so n=64 works
	negLimit := uint64(0)      // largest magnitude a negative result may have
	if signed {
		maxPos = 1<<(n-1) - 1
		negLimit = 1 << (n - 1)
	}
	widthMask := uint64(1)<<n - 1
	neg := f.sign(a)
	saturate := func() (uint64, uint8) {
		if neg {
			return -negLimit & widthMask, FlagNV
		}
		return maxPos, FlagNV
	}
	switch {
	case f.isNaN(a):
		return maxPos, FlagNV
	case f.isInf(a):
		return saturate()
	case f.isZero(a):
		return 0, 0
	}

	m, e := f.unpack(a) // a = m * 2^(e-63), m's leading one at bit 63
	var mag, rbits uint64
	const half = 1 << 62 // weight of the round bit in rbits' scaling below
	switch {
	case e >= 64:
		return saturate()
	case e >= 0:
		s := uint(63 - e)
		mag = m >> s
		// Rescale the discarded bits so the round bit sits at bit 62.
		if s > 0 {
			rbits = shiftRightJam64(m<<(64-s), 1)
		}
	default:
		// |a| < 1: the whole significand is discarded; e = -1 puts its
		// leading one exactly at the round bit.
		rbits = shiftRightJam64(m, uint64(-int64(e)))
	}
	mag += roundIncrement(rm, neg, mag, rbits, half)

	if neg {
		if mag > negLimit {
			return saturate()
		}
	} else if mag > maxPos {
		return saturate()
	}
	var fl uint8
	if rbits != 0 {
		fl = FlagNX
	}
	if neg {
		return -mag & widthMask, fl
	}
	return mag, fl
}

// fromInt rounds the integer (-1)^neg * mag to format g.
func (g format) fromInt(neg bool, mag uint64, rm uint8) (uint64, uint8) {
	if mag == 0 {
		return 0, 0
	}
	return g.roundPack(neg, 63, mag, rm)
}

func absInt64(a int64) (bool, uint64) {
	if a < 0 {
		return true, -uint64(a)
	}
	return false, uint64(a)
}

// F32ToF64 widens a (exact; a signalling NaN raises NV).
func F32ToF64(a uint32) (uint64, uint8) {
	return binary32().convert(binary64(), uint64(a), RNE)
}

// F64ToF32 narrows a with rounding.
func F64ToF32(a uint64, rm uint8) (uint32, uint8) {
	r, fl := binary64().convert(binary32(), a, rm)
	return uint32(r), fl
}

// F32ToI32 is fcvt.w.s.
func F32ToI32(a uint32, rm uint8) (int32, uint8) {
	r, fl := binary32().toInt(uint64(a), rm, 32, true)
	return int32(uint32(r)), fl
}

// F32ToU32 is fcvt.wu.s.
func F32ToU32(a uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().toInt(uint64(a), rm, 32, false)
	return uint32(r), fl
}

// F32ToI64 is fcvt.l.s.
func F32ToI64(a uint32, rm uint8) (int64, uint8) {
	r, fl := binary32().toInt(uint64(a), rm, 64, true)
	return int64(r), fl
}

// F32ToU64 is fcvt.lu.s.
func F32ToU64(a uint32, rm uint8) (uint64, uint8) {
	return binary32().toInt(uint64(a), rm, 64, false)
}

// F64ToI32 is fcvt.w.d.
func F64ToI32(a uint64, rm uint8) (int32, uint8) {
	r, fl := binary64().toInt(a, rm, 32, true)
	return int32(uint32(r)), fl
}

// F64ToU32 is fcvt.wu.d.
func F64ToU32(a uint64, rm uint8) (uint32, uint8) {
	r, fl := binary64().toInt(a, rm, 32, false)
	return uint32(r), fl
}

// F64ToI64 is fcvt.l.d.
func F64ToI64(a uint64, rm uint8) (int64, uint8) {
	r, fl := binary64().toInt(a, rm, 64, true)
	return int64(r), fl
}

// F64ToU64 is fcvt.lu.d.
func F64ToU64(a uint64, rm uint8) (uint64, uint8) {
	return binary64().toInt(a, rm, 64, false)
}

// I32ToF32 is fcvt.s.w.
func I32ToF32(a int32, rm uint8) (uint32, uint8) {
	neg, mag := absInt64(int64(a))
	r, fl := binary32().fromInt(neg, mag, rm)
	return uint32(r), fl
}

// U32ToF32 is fcvt.s.wu.
func U32ToF32(a uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().fromInt(false, uint64(a), rm)
	return uint32(r), fl
}

// I64ToF32 is fcvt.s.l.
func I64ToF32(a int64, rm uint8) (uint32, uint8) {
	neg, mag := absInt64(a)
	r, fl := binary32().fromInt(neg, mag, rm)
	return uint32(r), fl
}

// U64ToF32 is fcvt.s.lu.
func U64ToF32(a uint64, rm uint8) (uint32, uint8) {
	r, fl := binary32().fromInt(false, a, rm)
	return uint32(r), fl
}

// I32ToF64 is fcvt.d.w (always exact).
func I32ToF64(a int32, rm uint8) (uint64, uint8) {
	neg, mag := absInt64(int64(a))
	return binary64().fromInt(neg, mag, rm)
}

// U32ToF64 is fcvt.d.wu (always exact).
func U32ToF64(a uint32, rm uint8) (uint64, uint8) {
	return binary64().fromInt(false, uint64(a), rm)
}

// I64ToF64 is fcvt.d.l.
func I64ToF64(a int64, rm uint8) (uint64, uint8) {
	neg, mag := absInt64(a)
	return binary64().fromInt(neg, mag, rm)
}

// U64ToF64 is fcvt.d.lu.
func U64ToF64(a uint64, rm uint8) (uint64, uint8) {
	return binary64().fromInt(false, a, rm)
}
