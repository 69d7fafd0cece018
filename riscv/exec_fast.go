package riscv

import (
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// runFast executes insts from index i. It returns at a control transfer
// (always the last instruction of a block), at the end of insts, or at an
// instruction it cannot complete without help, which it leaves undone.
// It must not call anything that is not inlined.
func runFast(x *[32]uint64, ram unsafe.Pointer, ld, st *tlbArray, insts []inst, i int, bpc uint64) (int, int, uint64) {
	for ; uint(i) < uint(len(insts)); i++ { // unsigned: no bounds check
		in := &insts[i]
		switch in.op {
		case opNOP:
		case opFENCE:
			if in.imm != 0 {
				// LOCK XADD on the hart's own x0 (always 0): a full host
				// barrier, inlined, touching no shared cache line.
				atomic.AddUint64(&x[0], 0)
			}
		case opLUI:
			x[in.rd&31] = uint64(in.imm)
		case opAUIPC:
			x[in.rd&31] = bpc + uint64(in.off) + uint64(in.imm)
		case opJAL:
			x[in.rd&31] = bpc + uint64(in.off) + uint64(in.len)
			x[0] = 0
			return i, fastTaken, bpc + uint64(in.off) + uint64(int64(in.imm))
		case opJALI:
			x[in.rd&31] = bpc + uint64(in.off) + uint64(in.len)
			x[0] = 0
		case opJALR:
			t := (x[in.rs1&31] + uint64(in.imm)) &^ 1
			x[in.rd&31] = bpc + uint64(in.off) + uint64(in.len)
			x[0] = 0
			return i, fastJump, t
		case opBEQ:
			if x[in.rs1&31] == x[in.rs2&31] {
				return i, fastTaken, bpc + uint64(in.off) + uint64(int64(in.imm))
			}
		case opBNE:
			if x[in.rs1&31] != x[in.rs2&31] {
				return i, fastTaken, bpc + uint64(in.off) + uint64(int64(in.imm))
			}
		case opBLT:
			if int64(x[in.rs1&31]) < int64(x[in.rs2&31]) {
				return i, fastTaken, bpc + uint64(in.off) + uint64(int64(in.imm))
			}
		case opBGE:
			if int64(x[in.rs1&31]) >= int64(x[in.rs2&31]) {
				return i, fastTaken, bpc + uint64(in.off) + uint64(int64(in.imm))
			}
		case opBLTU:
			if x[in.rs1&31] < x[in.rs2&31] {
				return i, fastTaken, bpc + uint64(in.off) + uint64(int64(in.imm))
			}
		case opBGEU:
			if x[in.rs1&31] >= x[in.rs2&31] {
				return i, fastTaken, bpc + uint64(in.off) + uint64(int64(in.imm))
			}

		case opLB:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &ld[(va>>pageShift)&tlbMask]; e.tag == va&^pageMask {
				x[in.rd&31] = uint64(*(*int8)(unsafe.Add(ram, va+e.add)))
			} else {
				return i, fastSlow, 0
			}
			x[0] = 0
		case opLH:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &ld[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|1) {
				x[in.rd&31] = uint64(*(*int16)(unsafe.Add(ram, va+e.add)))
			} else {
				return i, fastSlow, 0
			}
			x[0] = 0
		case opLW:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &ld[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|3) {
				x[in.rd&31] = uint64(*(*int32)(unsafe.Add(ram, va+e.add)))
			} else {
				return i, fastSlow, 0
			}
			x[0] = 0
		case opLD:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &ld[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|7) {
				x[in.rd&31] = *(*uint64)(unsafe.Add(ram, va+e.add))
			} else {
				return i, fastSlow, 0
			}
			x[0] = 0
		case opLBU:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &ld[(va>>pageShift)&tlbMask]; e.tag == va&^pageMask {
				x[in.rd&31] = uint64(*(*uint8)(unsafe.Add(ram, va+e.add)))
			} else {
				return i, fastSlow, 0
			}
			x[0] = 0
		case opLHU:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &ld[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|1) {
				x[in.rd&31] = uint64(*(*uint16)(unsafe.Add(ram, va+e.add)))
			} else {
				return i, fastSlow, 0
			}
			x[0] = 0
		case opLWU:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &ld[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|3) {
				x[in.rd&31] = uint64(*(*uint32)(unsafe.Add(ram, va+e.add)))
			} else {
				return i, fastSlow, 0
			}
			x[0] = 0

		case opSB:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &st[(va>>pageShift)&tlbMask]; e.tag == va&^pageMask {
				*(*uint8)(unsafe.Add(ram, va+e.add)) = uint8(x[in.rs2&31])
			} else {
				return i, fastSlow, 0
			}
		case opSH:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &st[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|1) {
				*(*uint16)(unsafe.Add(ram, va+e.add)) = uint16(x[in.rs2&31])
			} else {
				return i, fastSlow, 0
			}
		case opSW:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &st[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|3) {
				*(*uint32)(unsafe.Add(ram, va+e.add)) = uint32(x[in.rs2&31])
			} else {
				return i, fastSlow, 0
			}
		case opSD:
			va := x[in.rs1&31] + uint64(in.imm)
			if e := &st[(va>>pageShift)&tlbMask]; e.tag == va&(^uint64(pageMask)|7) {
				*(*uint64)(unsafe.Add(ram, va+e.add)) = x[in.rs2&31]
			} else {
				return i, fastSlow, 0
			}

		case opADDI:
			x[in.rd&31] = x[in.rs1&31] + uint64(in.imm)
		case opSLTI:
			x[in.rd&31] = b2u(int64(x[in.rs1&31]) < int64(in.imm))
		case opSLTIU:
			x[in.rd&31] = b2u(x[in.rs1&31] < uint64(in.imm))
		case opXORI:
			x[in.rd&31] = x[in.rs1&31] ^ uint64(in.imm)
		case opORI:
			x[in.rd&31] = x[in.rs1&31] | uint64(in.imm)
		case opANDI:
			x[in.rd&31] = x[in.rs1&31] & uint64(in.imm)
		case opSLLI:
			x[in.rd&31] = x[in.rs1&31] << (in.imm & 63)
		case opSRLI:
			x[in.rd&31] = x[in.rs1&31] >> (in.imm & 63)
		case opSRAI:
			x[in.rd&31] = uint64(int64(x[in.rs1&31]) >> (in.imm & 63))
		case opADD:
			x[in.rd&31] = x[in.rs1&31] + x[in.rs2&31]
		case opSUB:
			x[in.rd&31] = x[in.rs1&31] - x[in.rs2&31]
		case opSLL:
			x[in.rd&31] = x[in.rs1&31] << (x[in.rs2&31] & 63)
		case opSLT:
			x[in.rd&31] = b2u(int64(x[in.rs1&31]) < int64(x[in.rs2&31]))
		case opSLTU:
			x[in.rd&31] = b2u(x[in.rs1&31] < x[in.rs2&31])
		case opXOR:
			x[in.rd&31] = x[in.rs1&31] ^ x[in.rs2&31]
		case opSRL:
			x[in.rd&31] = x[in.rs1&31] >> (x[in.rs2&31] & 63)
		case opSRA:
			x[in.rd&31] = uint64(int64(x[in.rs1&31]) >> (x[in.rs2&31] & 63))
		case opOR:
			x[in.rd&31] = x[in.rs1&31] | x[in.rs2&31]
		case opAND:
			x[in.rd&31] = x[in.rs1&31] & x[in.rs2&31]
		case opADDIW:
			x[in.rd&31] = uint64(int32(x[in.rs1&31] + uint64(in.imm)))
		case opSLLIW:
			x[in.rd&31] = uint64(int32(uint32(x[in.rs1&31]) << (in.imm & 31)))
		case opSRLIW:
			x[in.rd&31] = uint64(int32(uint32(x[in.rs1&31]) >> (in.imm & 31)))
		case opSRAIW:
			x[in.rd&31] = uint64(int32(x[in.rs1&31]) >> (in.imm & 31))
		case opADDW:
			x[in.rd&31] = uint64(int32(x[in.rs1&31] + x[in.rs2&31]))
		case opSUBW:
			x[in.rd&31] = uint64(int32(x[in.rs1&31] - x[in.rs2&31]))
		case opSLLW:
			x[in.rd&31] = uint64(int32(uint32(x[in.rs1&31]) << (x[in.rs2&31] & 31)))
		case opSRLW:
			x[in.rd&31] = uint64(int32(uint32(x[in.rs1&31]) >> (x[in.rs2&31] & 31)))
		case opSRAW:
			x[in.rd&31] = uint64(int32(x[in.rs1&31]) >> (x[in.rs2&31] & 31))

		case opMUL:
			x[in.rd&31] = x[in.rs1&31] * x[in.rs2&31]
		case opMULH:
			x[in.rd&31] = mulh(x[in.rs1&31], x[in.rs2&31])
		case opMULHSU:
			x[in.rd&31] = mulhsu(x[in.rs1&31], x[in.rs2&31])
		case opMULHU:
			hi, _ := bits.Mul64(x[in.rs1&31], x[in.rs2&31])
			x[in.rd&31] = hi
		case opDIV:
			x[in.rd&31] = div64(x[in.rs1&31], x[in.rs2&31])
		case opDIVU:
			x[in.rd&31] = divu64(x[in.rs1&31], x[in.rs2&31])
		case opREM:
			x[in.rd&31] = rem64(x[in.rs1&31], x[in.rs2&31])
		case opREMU:
			x[in.rd&31] = remu64(x[in.rs1&31], x[in.rs2&31])
		case opMULW:
			x[in.rd&31] = uint64(int32(x[in.rs1&31] * x[in.rs2&31]))
		case opDIVW:
			x[in.rd&31] = div32(x[in.rs1&31], x[in.rs2&31])
		case opDIVUW:
			x[in.rd&31] = divu32(x[in.rs1&31], x[in.rs2&31])
		case opREMW:
			x[in.rd&31] = rem32(x[in.rs1&31], x[in.rs2&31])
		case opREMUW:
			x[in.rd&31] = remu32(x[in.rs1&31], x[in.rs2&31])

		default: // AMOs, FP, system and illegal instructions
			return i, fastSlow, 0
		}
	}
	return i, fastEnd, 0
}
