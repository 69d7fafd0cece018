package riscv

// 32-bit encoders used by the compressed expander (and by tests).
func encR(op, rd, f3, rs1, rs2, f7 uint32) uint32 {
	return f7<<25 | rs2<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}
func encI(op, rd, f3, rs1 uint32, imm int64) uint32 {
	return uint32(imm&0xfff)<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}
func encS(op, f3, rs1, rs2 uint32, imm int64) uint32 {
	u := uint32(imm)
	return (u>>5&0x7f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u&0x1f)<<7 | op
}
func encB(f3, rs1, rs2 uint32, imm int64) uint32 {
	u := uint32(imm)
	return (u>>12&1)<<31 | (u>>5&0x3f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u>>1&0xf)<<8 | (u>>11&1)<<7 | 0x63
}
func encU(op, rd uint32, imm int64) uint32 { return uint32(imm)&^0xfff | rd<<7 | op }
func encJ(rd uint32, imm int64) uint32 {
	u := uint32(imm)
	return (u>>20&1)<<31 | (u>>1&0x3ff)<<21 | (u>>11&1)<<20 | (u>>12&0xff)<<12 | rd<<7 | 0x6f
}

// Major opcodes for the encoders.
const (
	opcLoad   = 0x03
	opcLoadFP = 0x07
	opcOpImm  = 0x13
	opcOpImmW = 0x1b
	opcStore  = 0x23
	opcStoreF = 0x27
	opcOp     = 0x33
	opcLUI    = 0x37
	opcOpW    = 0x3b
	opcJALR   = 0x67
	opcSystem = 0x73
)

// bit extracts bit i of c, shifted to position to.
func bit(c uint16, i, to uint) uint32 { return uint32(c>>i&1) << to }

// sext sign-extends the low n bits of v.
func sext(v uint32, n uint) int64 { return int64(int32(v<<(32-n)) >> (32 - n)) }

// expandCompressed returns the 32-bit instruction equivalent to the RV64C
// instruction c, or ok=false for reserved and illegal encodings. HINTs
// expand to instructions that write x0 and so do nothing.
func expandCompressed(c uint16) (uint32, bool) {
	rdp := uint32(c>>2&7) + 8 // rd' / rs2'
	rs1p := uint32(c>>7&7) + 8
	rd := uint32(c >> 7 & 0x1f)
	rs2 := uint32(c >> 2 & 0x1f)
	f3 := c >> 13
	switch c & 3 {
	case 0:
		switch f3 {
		case 0: // C.ADDI4SPN
			imm := bit(c, 6, 2) | bit(c, 5, 3) | uint32(c>>11&3)<<4 | uint32(c>>7&0xf)<<6
			if imm == 0 {
				return 0, false
			}
			return encI(opcOpImm, rdp, 0, 2, int64(imm)), true
		case 1: // C.FLD
			return encI(opcLoadFP, rdp, 3, rs1p, int64(cUimmD(c))), true
		case 2: // C.LW
			return encI(opcLoad, rdp, 2, rs1p, int64(cUimmW(c))), true
		case 3: // C.LD
			return encI(opcLoad, rdp, 3, rs1p, int64(cUimmD(c))), true
		case 5: // C.FSD
			return encS(opcStoreF, 3, rs1p, rdp, int64(cUimmD(c))), true
		case 6: // C.SW
			return encS(opcStore, 2, rs1p, rdp, int64(cUimmW(c))), true
		case 7: // C.SD
			return encS(opcStore, 3, rs1p, rdp, int64(cUimmD(c))), true
		}
		return 0, false
	case 1:
		imm6 := sext(bit(c, 12, 5)|uint32(c>>2&0x1f), 6)
		switch f3 {
		case 0: // C.ADDI (C.NOP, HINTs when rd=0 or imm=0)
			return encI(opcOpImm, rd, 0, rd, imm6), true
		case 1: // C.ADDIW
			if rd == 0 {
				return 0, false
			}
			return encI(opcOpImmW, rd, 0, rd, imm6), true
		case 2: // C.LI
			return encI(opcOpImm, rd, 0, 0, imm6), true
		case 3:
			if rd == 2 { // C.ADDI16SP
				imm := sext(bit(c, 12, 9)|bit(c, 6, 4)|bit(c, 5, 6)|uint32(c>>3&3)<<7|bit(c, 2, 5), 10)
				if imm == 0 {
					return 0, false
				}
				return encI(opcOpImm, 2, 0, 2, imm), true
			}
			if imm6 == 0 { // C.LUI with nzimm = 0 is reserved
				return 0, false
			}
			return encU(opcLUI, rd, imm6<<12), true
		case 4:
			return expandCMisc(c, rs1p, rdp)
		case 5: // C.J
			return encJ(0, cJumpImm(c)), true
		case 6: // C.BEQZ
			return encB(0, rs1p, 0, cBranchImm(c)), true
		case 7: // C.BNEZ
			return encB(1, rs1p, 0, cBranchImm(c)), true
		}
	case 2:
		switch f3 {
		case 0: // C.SLLI
			return encI(opcOpImm, rd, 1, rd, int64(bit(c, 12, 5)|rs2)), true
		case 1: // C.FLDSP
			return encI(opcLoadFP, rd, 3, 2, int64(cUimmLDSP(c))), true
		case 2: // C.LWSP
			if rd == 0 {
				return 0, false
			}
			imm := bit(c, 12, 5) | uint32(c>>4&7)<<2 | uint32(c>>2&3)<<6
			return encI(opcLoad, rd, 2, 2, int64(imm)), true
		case 3: // C.LDSP
			if rd == 0 {
				return 0, false
			}
			return encI(opcLoad, rd, 3, 2, int64(cUimmLDSP(c))), true
		case 4:
			if c>>12&1 == 0 {
				if rs2 == 0 { // C.JR
					if rd == 0 {
						return 0, false
					}
					return encI(opcJALR, 0, 0, rd, 0), true
				}
				return encR(opcOp, rd, 0, 0, rs2, 0), true // C.MV
			}
			if rs2 == 0 {
				if rd == 0 { // C.EBREAK
					return 0x00100073, true
				}
				return encI(opcJALR, 1, 0, rd, 0), true // C.JALR
			}
			return encR(opcOp, rd, 0, rd, rs2, 0), true // C.ADD
		case 5: // C.FSDSP
			return encS(opcStoreF, 3, 2, rs2, int64(cUimmSDSP(c))), true
		case 6: // C.SWSP
			imm := uint32(c>>9&0xf)<<2 | uint32(c>>7&3)<<6
			return encS(opcStore, 2, 2, rs2, int64(imm)), true
		case 7: // C.SDSP
			return encS(opcStore, 3, 2, rs2, int64(cUimmSDSP(c))), true
		}
	}
	return 0, false
}

// expandCMisc expands quadrant 1, funct3 100: shifts, ANDI and the
// register-register ALU group.
func expandCMisc(c uint16, rd, rs2 uint32) (uint32, bool) {
	shamt := int64(bit(c, 12, 5) | uint32(c>>2&0x1f))
	switch c >> 10 & 3 {
	case 0: // C.SRLI
		return encI(opcOpImm, rd, 5, rd, shamt), true
	case 1: // C.SRAI
		return encI(opcOpImm, rd, 5, rd, shamt|0x400), true
	case 2: // C.ANDI
		return encI(opcOpImm, rd, 7, rd, sext(uint32(shamt), 6)), true
	}
	if c>>12&1 == 0 {
		switch c >> 5 & 3 {
		case 0:
			return encR(opcOp, rd, 0, rd, rs2, 0x20), true // C.SUB
		case 1:
			return encR(opcOp, rd, 4, rd, rs2, 0), true // C.XOR
		case 2:
			return encR(opcOp, rd, 6, rd, rs2, 0), true // C.OR
		}
		return encR(opcOp, rd, 7, rd, rs2, 0), true // C.AND
	}
	switch c >> 5 & 3 {
	case 0:
		return encR(opcOpW, rd, 0, rd, rs2, 0x20), true // C.SUBW
	case 1:
		return encR(opcOpW, rd, 0, rd, rs2, 0), true // C.ADDW
	}
	return 0, false
}

// Offsets of the compressed load/store and jump formats.
func cUimmW(c uint16) uint32 { return uint32(c>>10&7)<<3 | bit(c, 6, 2) | bit(c, 5, 6) }
func cUimmD(c uint16) uint32 { return uint32(c>>10&7)<<3 | uint32(c>>5&3)<<6 }
func cUimmLDSP(c uint16) uint32 {
	return bit(c, 12, 5) | uint32(c>>5&3)<<3 | uint32(c>>2&7)<<6
}
func cUimmSDSP(c uint16) uint32 { return uint32(c>>10&7)<<3 | uint32(c>>7&7)<<6 }
func cJumpImm(c uint16) int64 {
	return sext(bit(c, 12, 11)|bit(c, 11, 4)|uint32(c>>9&3)<<8|bit(c, 8, 10)|
		bit(c, 7, 6)|bit(c, 6, 7)|uint32(c>>3&7)<<1|bit(c, 2, 5), 12)
}
func cBranchImm(c uint16) int64 {
	return sext(bit(c, 12, 8)|uint32(c>>10&3)<<3|uint32(c>>5&3)<<6|uint32(c>>3&3)<<1|bit(c, 2, 5), 9)
}
