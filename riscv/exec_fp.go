package riscv

import sf "github.com/popek-vm/popek/riscv/softfloat"

// F and D. Arithmetic is done by softfloat on raw bits; this file does the
// register plumbing: NaN-boxing, rounding-mode resolution, fflags, FS.

const (
	boxMask  = 0xffffffff_00000000
	qNaN32   = 0x7fc00000
	signBit  = 1 << 31
	signBitD = 1 << 63
)

// unbox reads a single-precision value from an F register: only a properly
// NaN-boxed value is valid, anything else is the canonical NaN.
func unbox(v uint64) uint32 {
	if v&boxMask != boxMask {
		return qNaN32
	}
	return uint32(v)
}

func box(v uint32) uint64 { return boxMask | uint64(v) }

// execFP executes an F/D instruction. It returns storeOK, storeFail (an
// exception is recorded in h.exc) or storeExit (a store hit decoded code).
func (h *Hart) execFP(in *inst) int {
	if h.csr.mstatus&msFS == 0 {
		h.fail(excIllegal, uint64(in.raw))
		return storeFail
	}
	f := &h.F
	rd, rs1, rs2, rs3 := in.rd&31, in.rs1&31, in.rs2&31, in.rs3()
	switch in.op {
	case opFLW, opFLD:
		size := uint64(4)
		if in.op == opFLD {
			size = 8
		}
		v, ok := h.loadData(h.X[rs1]+uint64(in.imm), size)
		if !ok {
			return storeFail
		}
		if size == 4 {
			v = box(uint32(v))
		}
		f[rd] = v
		h.csr.mstatus |= msFSDirty
		return storeOK
	case opFSW:
		return h.storeData(h.X[rs1]+uint64(in.imm), 4, f[rs2])
	case opFSD:
		return h.storeData(h.X[rs1]+uint64(in.imm), 8, f[rs2])

	// Sign injection, moves and classification: bit operations, no flags.
	case opFSGNJS, opFSGNJNS, opFSGNJXS:
		a, b := unbox(f[rs1]), unbox(f[rs2])
		switch in.op {
		case opFSGNJS:
			a = a&^signBit | b&signBit
		case opFSGNJNS:
			a = a&^signBit | ^b&signBit
		default:
			a ^= b & signBit
		}
		return h.setF(rd, box(a), 0)
	case opFSGNJD, opFSGNJND, opFSGNJXD:
		a, b := f[rs1], f[rs2]
		switch in.op {
		case opFSGNJD:
			a = a&^signBitD | b&signBitD
		case opFSGNJND:
			a = a&^signBitD | ^b&signBitD
		default:
			a ^= b & signBitD
		}
		return h.setF(rd, a, 0)
	case opFMVXW:
		return h.setX(rd, uint64(int64(int32(uint32(f[rs1])))), 0)
	case opFMVXD:
		return h.setX(rd, f[rs1], 0)
	case opFMVWX:
		return h.setF(rd, box(uint32(h.X[rs1])), 0)
	case opFMVDX:
		return h.setF(rd, h.X[rs1], 0)
	case opFCLASSS:
		return h.setX(rd, sf.F32Classify(unbox(f[rs1])), 0)
	case opFCLASSD:
		return h.setX(rd, sf.F64Classify(f[rs1]), 0)

	// Min/max and comparisons: no rounding mode.
	case opFMINS, opFMAXS:
		var r uint32
		var fl uint8
		if in.op == opFMINS {
			r, fl = sf.F32Min(unbox(f[rs1]), unbox(f[rs2]))
		} else {
			r, fl = sf.F32Max(unbox(f[rs1]), unbox(f[rs2]))
		}
		return h.setF(rd, box(r), fl)
	case opFMIND, opFMAXD:
		var r uint64
		var fl uint8
		if in.op == opFMIND {
			r, fl = sf.F64Min(f[rs1], f[rs2])
		} else {
			r, fl = sf.F64Max(f[rs1], f[rs2])
		}
		return h.setF(rd, r, fl)
	case opFEQS, opFLTS, opFLES:
		a, b := unbox(f[rs1]), unbox(f[rs2])
		var r bool
		var fl uint8
		switch in.op {
		case opFEQS:
			r, fl = sf.F32Eq(a, b)
		case opFLTS:
			r, fl = sf.F32Lt(a, b)
		default:
			r, fl = sf.F32Le(a, b)
		}
		return h.setX(rd, b2u(r), fl)
	case opFEQD, opFLTD, opFLED:
		a, b := f[rs1], f[rs2]
		var r bool
		var fl uint8
		switch in.op {
		case opFEQD:
			r, fl = sf.F64Eq(a, b)
		case opFLTD:
			r, fl = sf.F64Lt(a, b)
		default:
			r, fl = sf.F64Le(a, b)
		}
		return h.setX(rd, b2u(r), fl)
	}

	// Everything else has a rounding mode.
	rm := in.rm()
	if rm == 7 {
		rm = uint8(h.csr.frm)
	}
	if rm > sf.RMM {
		h.fail(excIllegal, uint64(in.raw))
		return storeFail
	}
	switch in.op {
	case opFADDS, opFSUBS, opFMULS, opFDIVS:
		a, b := unbox(f[rs1]), unbox(f[rs2])
		var r uint32
		var fl uint8
		switch in.op {
		case opFADDS:
			r, fl = sf.F32Add(a, b, rm)
		case opFSUBS:
			r, fl = sf.F32Sub(a, b, rm)
		case opFMULS:
			r, fl = sf.F32Mul(a, b, rm)
		default:
			r, fl = sf.F32Div(a, b, rm)
		}
		return h.setF(rd, box(r), fl)
	case opFADDD, opFSUBD, opFMULD, opFDIVD:
		a, b := f[rs1], f[rs2]
		var r uint64
		var fl uint8
		switch in.op {
		case opFADDD:
			r, fl = sf.F64Add(a, b, rm)
		case opFSUBD:
			r, fl = sf.F64Sub(a, b, rm)
		case opFMULD:
			r, fl = sf.F64Mul(a, b, rm)
		default:
			r, fl = sf.F64Div(a, b, rm)
		}
		return h.setF(rd, r, fl)
	case opFSQRTS:
		r, fl := sf.F32Sqrt(unbox(f[rs1]), rm)
		return h.setF(rd, box(r), fl)
	case opFSQRTD:
		r, fl := sf.F64Sqrt(f[rs1], rm)
		return h.setF(rd, r, fl)

	// Fused multiply-add: the negated forms flip the sign of the product
	// operand and/or the addend, which is exact.
	case opFMADDS, opFMSUBS, opFNMSUBS, opFNMADDS:
		a, b, c := unbox(f[rs1]), unbox(f[rs2]), unbox(f[rs3])
		if in.op == opFNMSUBS || in.op == opFNMADDS {
			a ^= signBit
		}
		if in.op == opFMSUBS || in.op == opFNMADDS {
			c ^= signBit
		}
		r, fl := sf.F32MulAdd(a, b, c, rm)
		return h.setF(rd, box(r), fl)
	case opFMADDD, opFMSUBD, opFNMSUBD, opFNMADDD:
		a, b, c := f[rs1], f[rs2], f[rs3]
		if in.op == opFNMSUBD || in.op == opFNMADDD {
			a ^= signBitD
		}
		if in.op == opFMSUBD || in.op == opFNMADDD {
			c ^= signBitD
		}
		r, fl := sf.F64MulAdd(a, b, c, rm)
		return h.setF(rd, r, fl)

	case opFCVTSD:
		r, fl := sf.F64ToF32(f[rs1], rm)
		return h.setF(rd, box(r), fl)
	case opFCVTDS:
		r, fl := sf.F32ToF64(unbox(f[rs1]))
		return h.setF(rd, r, fl)

	// To integer: 32-bit results are sign-extended into rd.
	case opFCVTWS:
		r, fl := sf.F32ToI32(unbox(f[rs1]), rm)
		return h.setX(rd, uint64(int64(r)), fl)
	case opFCVTWUS:
		r, fl := sf.F32ToU32(unbox(f[rs1]), rm)
		return h.setX(rd, uint64(int64(int32(r))), fl)
	case opFCVTLS:
		r, fl := sf.F32ToI64(unbox(f[rs1]), rm)
		return h.setX(rd, uint64(r), fl)
	case opFCVTLUS:
		r, fl := sf.F32ToU64(unbox(f[rs1]), rm)
		return h.setX(rd, r, fl)
	case opFCVTWD:
		r, fl := sf.F64ToI32(f[rs1], rm)
		return h.setX(rd, uint64(int64(r)), fl)
	case opFCVTWUD:
		r, fl := sf.F64ToU32(f[rs1], rm)
		return h.setX(rd, uint64(int64(int32(r))), fl)
	case opFCVTLD:
		r, fl := sf.F64ToI64(f[rs1], rm)
		return h.setX(rd, uint64(r), fl)
	case opFCVTLUD:
		r, fl := sf.F64ToU64(f[rs1], rm)
		return h.setX(rd, r, fl)

	// From integer.
	case opFCVTSW:
		r, fl := sf.I32ToF32(int32(h.X[rs1]), rm)
		return h.setF(rd, box(r), fl)
	case opFCVTSWU:
		r, fl := sf.U32ToF32(uint32(h.X[rs1]), rm)
		return h.setF(rd, box(r), fl)
	case opFCVTSL:
		r, fl := sf.I64ToF32(int64(h.X[rs1]), rm)
		return h.setF(rd, box(r), fl)
	case opFCVTSLU:
		r, fl := sf.U64ToF32(h.X[rs1], rm)
		return h.setF(rd, box(r), fl)
	case opFCVTDW:
		r, fl := sf.I32ToF64(int32(h.X[rs1]), rm)
		return h.setF(rd, r, fl)
	case opFCVTDWU:
		r, fl := sf.U32ToF64(uint32(h.X[rs1]), rm)
		return h.setF(rd, r, fl)
	case opFCVTDL:
		r, fl := sf.I64ToF64(int64(h.X[rs1]), rm)
		return h.setF(rd, r, fl)
	case opFCVTDLU:
		r, fl := sf.U64ToF64(h.X[rs1], rm)
		return h.setF(rd, r, fl)
	}
	// Not reachable for decoded F/D ops; anything else is illegal.
	h.fail(excIllegal, uint64(in.raw))
	return storeFail
}

// setF writes an F register and accumulates flags; FP state becomes Dirty.
func (h *Hart) setF(rd uint8, v uint64, flags uint8) int {
	h.F[rd&31] = v
	h.csr.fflags |= uint64(flags)
	h.csr.mstatus |= msFSDirty
	return storeOK
}

// setX writes an integer result of an FP instruction; FP state becomes
// Dirty only when fflags changed.
func (h *Hart) setX(rd uint8, v uint64, flags uint8) int {
	h.X[rd&31] = v
	h.X[0] = 0
	if flags != 0 {
		h.csr.fflags |= uint64(flags)
		h.csr.mstatus |= msFSDirty
	}
	return storeOK
}

// loadData is a load through the TLB for paths outside the hot loop.
func (h *Hart) loadData(va, size uint64) (uint64, bool) {
	if e := &h.ld[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|(size-1)) {
		return h.ramRead(va+e.add, size), true
	}
	return h.loadSlow(va, size)
}

// storeData is a store through the TLB for paths outside the hot loop.
func (h *Hart) storeData(va, size, val uint64) int {
	if e := &h.st[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|(size-1)) {
		h.ramWrite(va+e.add, size, val)
		return storeOK
	}
	return h.storeSlow(va, size, val)
}
