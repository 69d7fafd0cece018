package softfloat

// add returns a+b rounded; sub is add with b's sign flipped (a NaN's sign
// is irrelevant because NaN results are canonical).
func (f format) add(a, b uint64, rm uint8) (uint64, uint8) {
	if f.isNaN(a) || f.isNaN(b) {
		return f.nanResult(a, b)
	}
	sa, sb := f.sign(a), f.sign(b)
	switch {
	case f.isInf(a):
		if f.isInf(b) && sa != sb {
			return f.defaultNaN(), FlagNV
		}
		return a, 0
	case f.isInf(b):
		return b, 0
	case f.isZero(a):
		if !f.isZero(b) {
			return b, 0
		}
		if sa == sb {
			return a, 0
		}
		return f.exactZero(rm), 0
	case f.isZero(b):
		return a, 0
	}

	ma, ea := f.unpack(a)
	mb, eb := f.unpack(b)
	// Two bits of headroom for the carry; the low bits shifted into are
	// zero because neither format fills 64 significand bits.
	ma >>= 2
	mb >>= 2
	if ea < eb || ea == eb && ma < mb {
		ma, mb, ea, eb, sa, sb = mb, ma, eb, ea, sb, sa
	}
	// |a| >= |b| now. A shift of more than one loses bits only when the
	// exponents are far apart, where cancellation removes at most one bit,
	// so the sticky bit stays well below the round bit.
	mb = shiftRightJam64(mb, uint64(ea-eb))
	var m uint64
	if sa == sb {
		m = ma + mb
	} else {
		m = ma - mb
		if m == 0 {
			return f.exactZero(rm), 0
		}
	}
	return f.roundPack(sa, ea+2, m, rm)
}

// F32Add returns a+b.
func F32Add(a, b uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().add(uint64(a), uint64(b), rm)
	return uint32(r), fl
}

// F32Sub returns a-b.
func F32Sub(a, b uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().add(uint64(a), uint64(b^0x80000000), rm)
	return uint32(r), fl
}

// F64Add returns a+b.
func F64Add(a, b uint64, rm uint8) (uint64, uint8) {
	if rm == RNE {
		if r, fl, ok := fastAdd64(a, b); ok {
			return r, fl
		}
	}
	return binary64().add(a, b, rm)
}

// F64Sub returns a-b.
func F64Sub(a, b uint64, rm uint8) (uint64, uint8) {
	return F64Add(a, b^1<<63, rm)
}
