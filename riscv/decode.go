package riscv

// Immediate extraction for the 32-bit formats.
func immI(w uint32) int32 { return int32(w) >> 20 }
func immS(w uint32) int32 { return int32(w)>>25<<5 | int32(w>>7&0x1f) }
func immB(w uint32) int32 {
	return int32(w)>>31<<12 | int32(w>>7&1)<<11 | int32(w>>25&0x3f)<<5 | int32(w>>8&0xf)<<1
}
func immU(w uint32) int32 { return int32(w &^ 0xfff) }
func immJ(w uint32) int32 {
	return int32(w)>>31<<20 | int32(w>>12&0xff)<<12 | int32(w>>20&1)<<11 | int32(w>>21&0x3ff)<<1
}

// decode decodes the instruction whose low bits are in w: a 16-bit
// compressed instruction when w&3 != 3 (the upper half is ignored), else a
// 32-bit one. Every pattern yields either a valid instruction or opIllegal.
func decode(w uint32) inst {
	if w&3 != 3 {
		c := uint16(w)
		var in inst
		if e, ok := expandCompressed(c); ok {
			in = decode32(e)
		}
		in.raw = uint32(c)
		in.len = 2
		return in
	}
	in := decode32(w)
	in.len = 4
	return in
}

// decode32 decodes a 32-bit instruction (w&3 == 3).
func decode32(w uint32) inst {
	in := inst{
		raw: w,
		len: 4,
		rd:  uint8(w >> 7 & 0x1f),
		rs1: uint8(w >> 15 & 0x1f),
		rs2: uint8(w >> 20 & 0x1f),
		fp:  uint8(w>>27) | uint8(w>>12&7)<<5,
	}
	in.op = decodeOp(w, &in)
	if in.op.writesRdPure() && in.rd == 0 {
		in.op = opNOP
	}
	return in
}

// decodeOp returns the operation of w and fills in.imm.
func decodeOp(w uint32, in *inst) opcode {
	f3 := w >> 12 & 7
	f7 := w >> 25
	switch w & 0x7f {
	case 0x37:
		in.imm = immU(w)
		return opLUI
	case 0x17:
		in.imm = immU(w)
		return opAUIPC
	case 0x6f:
		in.imm = immJ(w)
		return opJAL
	case 0x67:
		in.imm = immI(w)
		if f3 == 0 {
			return opJALR
		}
	case 0x63:
		in.imm = immB(w)
		return [8]opcode{opBEQ, opBNE, opIllegal, opIllegal, opBLT, opBGE, opBLTU, opBGEU}[f3]
	case 0x03:
		in.imm = immI(w)
		return [8]opcode{opLB, opLH, opLW, opLD, opLBU, opLHU, opLWU, opIllegal}[f3]
	case 0x23:
		in.imm = immS(w)
		return [8]opcode{opSB, opSH, opSW, opSD, opIllegal, opIllegal, opIllegal, opIllegal}[f3]
	case 0x13:
		return decodeOpImm(w, in)
	case 0x1b:
		return decodeOpImm32(w, in)
	case 0x33:
		return decodeOpReg(f3, f7)
	case 0x3b:
		return decodeOpReg32(f3, f7)
	case 0x0f:
		switch f3 {
		case 0:
			// The host (x86-64, TSO) keeps every order RVWMO's FENCE can ask
			// for except store→load, which needs a real barrier: imm=1.
			pred, succ := w>>24&0xf, w>>20&0xf
			if pred&0x5 != 0 && succ&0xa != 0 && w>>28 != 0x8 { // PO|PW → PI|PR; fence.tso keeps TSO
				in.imm = 1
			}
			return opFENCE
		case 1:
			return opFENCEI
		}
	case 0x73:
		return decodeSystem(w, in)
	case 0x2f:
		return decodeAMO(w, f3)
	case 0x07:
		in.imm = immI(w)
		switch f3 {
		case 2:
			return opFLW
		case 3:
			return opFLD
		}
	case 0x27:
		in.imm = immS(w)
		switch f3 {
		case 2:
			return opFSW
		case 3:
			return opFSD
		}
	case 0x43, 0x47, 0x4b, 0x4f:
		return decodeFMA(w)
	case 0x53:
		return decodeOpFP(w)
	}
	return opIllegal
}

func decodeOpImm(w uint32, in *inst) opcode {
	in.imm = immI(w)
	switch w >> 12 & 7 {
	case 0:
		return opADDI
	case 1:
		if w>>26 == 0 {
			in.imm &= 0x3f
			return opSLLI
		}
	case 2:
		return opSLTI
	case 3:
		return opSLTIU
	case 4:
		return opXORI
	case 5:
		switch w >> 26 {
		case 0:
			in.imm &= 0x3f
			return opSRLI
		case 0x10:
			in.imm &= 0x3f
			return opSRAI
		}
	case 6:
		return opORI
	case 7:
		return opANDI
	}
	return opIllegal
}

func decodeOpImm32(w uint32, in *inst) opcode {
	in.imm = immI(w)
	f7 := w >> 25
	switch w >> 12 & 7 {
	case 0:
		return opADDIW
	case 1:
		if f7 == 0 {
			in.imm &= 0x1f
			return opSLLIW
		}
	case 5:
		switch f7 {
		case 0:
			in.imm &= 0x1f
			return opSRLIW
		case 0x20:
			in.imm &= 0x1f
			return opSRAIW
		}
	}
	return opIllegal
}

func decodeOpReg(f3, f7 uint32) opcode {
	switch f7 {
	case 0:
		return [8]opcode{opADD, opSLL, opSLT, opSLTU, opXOR, opSRL, opOR, opAND}[f3]
	case 0x20:
		switch f3 {
		case 0:
			return opSUB
		case 5:
			return opSRA
		}
	case 1:
		return [8]opcode{opMUL, opMULH, opMULHSU, opMULHU, opDIV, opDIVU, opREM, opREMU}[f3]
	}
	return opIllegal
}

func decodeOpReg32(f3, f7 uint32) opcode {
	switch f7 {
	case 0:
		switch f3 {
		case 0:
			return opADDW
		case 1:
			return opSLLW
		case 5:
			return opSRLW
		}
	case 0x20:
		switch f3 {
		case 0:
			return opSUBW
		case 5:
			return opSRAW
		}
	case 1:
		return [8]opcode{opMULW, opIllegal, opIllegal, opIllegal, opDIVW, opDIVUW, opREMW, opREMUW}[f3]
	}
	return opIllegal
}

func decodeSystem(w uint32, in *inst) opcode {
	f3 := w >> 12 & 7
	if f3 != 0 {
		in.imm = int32(w >> 20)
		return [8]opcode{opIllegal, opCSRRW, opCSRRS, opCSRRC, opIllegal, opCSRRWI, opCSRRSI, opCSRRCI}[f3]
	}
	switch w {
	case 0x00000073:
		return opECALL
	case 0x00100073:
		return opEBREAK
	case 0x10200073:
		return opSRET
	case 0x30200073:
		return opMRET
	case 0x10500073:
		return opWFI
	}
	if w>>25 == 0x09 && w>>7&0x1f == 0 {
		return opSFENCEVMA
	}
	return opIllegal
}

func decodeAMO(w, f3 uint32) opcode {
	if f3 != 2 && f3 != 3 {
		return opIllegal
	}
	f5 := w >> 27
	if f5 == 2 && w>>20&0x1f != 0 { // LR has rs2 = 0
		return opIllegal
	}
	// The .D operations follow the .W ones in the same order.
	var op opcode
	switch f5 {
	case 0x00:
		op = opAMOADDW
	case 0x01:
		op = opAMOSWAPW
	case 0x02:
		op = opLRW
	case 0x03:
		op = opSCW
	case 0x04:
		op = opAMOXORW
	case 0x08:
		op = opAMOORW
	case 0x0c:
		op = opAMOANDW
	case 0x10:
		op = opAMOMINW
	case 0x14:
		op = opAMOMAXW
	case 0x18:
		op = opAMOMINUW
	case 0x1c:
		op = opAMOMAXUW
	default:
		return opIllegal
	}
	if f3 == 3 {
		op += opLRD - opLRW
	}
	return op
}

// validRM reports whether a static rounding-mode field is legal; 5 and 6
// are reserved, 7 (dynamic) is checked against frm at execution.
func validRM(rm uint32) bool { return rm != 5 && rm != 6 }

func decodeFMA(w uint32) opcode {
	if !validRM(w >> 12 & 7) {
		return opIllegal
	}
	fmt := w >> 25 & 3
	k := (w&0x7f - 0x43) / 4 // 0 madd, 1 msub, 2 nmsub, 3 nmadd
	switch fmt {
	case 0:
		return [4]opcode{opFMADDS, opFMSUBS, opFNMSUBS, opFNMADDS}[k]
	case 1:
		return [4]opcode{opFMADDD, opFMSUBD, opFNMSUBD, opFNMADDD}[k]
	}
	return opIllegal
}

func decodeOpFP(w uint32) opcode {
	rm := w >> 12 & 7
	rs2 := w >> 20 & 0x1f
	fmt := w >> 25 & 3
	if fmt > 1 {
		return opIllegal
	}
	d := fmt == 1
	pick := func(s, dd opcode) opcode {
		if d {
			return dd
		}
		return s
	}
	switch w >> 27 {
	case 0x00, 0x01, 0x02, 0x03:
		if !validRM(rm) {
			return opIllegal
		}
		k := w >> 27
		if d {
			return [4]opcode{opFADDD, opFSUBD, opFMULD, opFDIVD}[k]
		}
		return [4]opcode{opFADDS, opFSUBS, opFMULS, opFDIVS}[k]
	case 0x0b:
		if rs2 == 0 && validRM(rm) {
			return pick(opFSQRTS, opFSQRTD)
		}
	case 0x04:
		switch rm {
		case 0:
			return pick(opFSGNJS, opFSGNJD)
		case 1:
			return pick(opFSGNJNS, opFSGNJND)
		case 2:
			return pick(opFSGNJXS, opFSGNJXD)
		}
	case 0x05:
		switch rm {
		case 0:
			return pick(opFMINS, opFMIND)
		case 1:
			return pick(opFMAXS, opFMAXD)
		}
	case 0x08:
		if !validRM(rm) {
			return opIllegal
		}
		if !d && rs2 == 1 {
			return opFCVTSD
		}
		if d && rs2 == 0 {
			return opFCVTDS
		}
	case 0x14:
		switch rm {
		case 0:
			return pick(opFLES, opFLED)
		case 1:
			return pick(opFLTS, opFLTD)
		case 2:
			return pick(opFEQS, opFEQD)
		}
	case 0x18:
		if rs2 < 4 && validRM(rm) {
			if d {
				return [4]opcode{opFCVTWD, opFCVTWUD, opFCVTLD, opFCVTLUD}[rs2]
			}
			return [4]opcode{opFCVTWS, opFCVTWUS, opFCVTLS, opFCVTLUS}[rs2]
		}
	case 0x1a:
		if rs2 < 4 && validRM(rm) {
			if d {
				return [4]opcode{opFCVTDW, opFCVTDWU, opFCVTDL, opFCVTDLU}[rs2]
			}
			return [4]opcode{opFCVTSW, opFCVTSWU, opFCVTSL, opFCVTSLU}[rs2]
		}
	case 0x1c:
		if rs2 == 0 {
			switch rm {
			case 0:
				return pick(opFMVXW, opFMVXD)
			case 1:
				return pick(opFCLASSS, opFCLASSD)
			}
		}
	case 0x1e:
		if rs2 == 0 && rm == 0 {
			return pick(opFMVWX, opFMVDX)
		}
	}
	return opIllegal
}
