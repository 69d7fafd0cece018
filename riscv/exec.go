package riscv

import (
	"math/bits"
	"unsafe"
)

// Results of runFast.
const (
	fastEnd   = iota // ran off the end of the instructions
	fastTaken        // direct branch or JAL taken (chainable)
	fastJump         // indirect jump; next is the target
	fastSlow         // insts[i] needs the slow path
)

// Results of slowInsn.
const (
	slowOK    = iota // retired; continue with the next instruction
	slowFault        // exception recorded in h.exc; not retired
	slowSMC          // retired, but it modified decoded code: leave the block
	slowSys          // a block-ending system instruction; h.PC is set
)

// execute runs instructions from h.PC until about limit have retired or
// the attention flag is raised, and returns the number retired.
//
// Instructions run in runFast, which makes no calls so that its few live
// values stay in registers; whatever it cannot finish (TLB misses, MMIO,
// AMOs, FP, system instructions) comes back here. Blocks chain to their
// successors in the same page without a lookup.
func (h *Hart) execute(limit uint64) uint64 {
	x := &h.X
	ram := h.ramPtr
	// left counts down instructions and traps (so that a guest faulting in
	// a loop still returns); gen caches the block-cache generation, which
	// only slow paths change.
	left := int64(limit)
	var done, memOps uint64
	traps := h.traps
	gen := h.blocks.gen
	pc := h.PC
	var b *block
	var pending **block // chain slot to fill with the next looked-up block
	for {
		if b == nil {
			h.PC = pc // a fetch fault in lookup traps with h.PC as epc
			b = h.lookup(pc)
			gen = h.blocks.gen
			if b == nil { // fetch fault: the trap is taken
				pc = h.PC
				pending = nil
				left -= int64(h.traps - traps)
				traps = h.traps
				if left <= 0 || h.attn.Load() != 0 {
					h.memOps += memOps
					return done
				}
				continue
			}
			if pending != nil && b.gen != 0 {
				*pending = b
			}
			pending = nil
		}
		bpc := pc
		insts := b.insts
		if int64(len(insts)) > left {
			insts = insts[:left]
		}
		var next uint64
		var slot **block
		i, kind := 0, fastSlow
		for kind == fastSlow {
			i, kind, next = runFast(x, ram, h.ld, h.st, insts, i, bpc)
			if kind != fastSlow {
				break
			}
			in := &insts[i]
			r := h.slowInsn(in, bpc+uint64(in.off), i)
			if r == slowOK {
				i++
				continue
			}
			var n int // instructions of the block that retired
			switch r {
			case slowFault:
				memOps += countMem(insts[:i+1])
				n = i
				h.stats.Instret += uint64(i)
				h.PC = bpc + uint64(in.off)
				h.raise()
				next = h.PC
			case slowSMC:
				memOps += countMem(insts[:i+1])
				n = i + 1
				h.stats.Instret += uint64(i + 1)
				next = bpc + uint64(in.off) + uint64(in.len)
			case slowSys:
				// slowInsn accounted for the instructions and set h.PC.
				memOps += b.nmem
				n = i
				if h.sysRetired {
					n++
				}
				next = h.PC
			}
			done += uint64(n)
			left -= int64(n) + int64(h.traps-traps)
			traps = h.traps
			gen = h.blocks.gen
			kind = fastJump // leave the block without chaining
			i = -1
		}
		if i >= 0 {
			// The block ran to its end (kind tells how it left).
			switch kind {
			case fastEnd:
				if len(insts) == len(b.insts) {
					slot = &b.fall
				}
				next = nextPC(insts, len(insts), bpc)
			case fastTaken:
				slot = &b.taken
			}
			memOps += countMemPrefix(b, len(insts))
			done += uint64(len(insts))
			left -= int64(len(insts))
			h.stats.Instret += uint64(len(insts))
		}
		pc = next
		if left <= 0 || h.attn.Load() != 0 {
			h.PC = pc
			h.memOps += memOps
			return done
		}
		// Follow a chained successor: same page, so same translation.
		b0 := b
		b = nil
		if slot != nil && b0.gen == gen && (pc^bpc)&^pageMask == 0 {
			if c := *slot; c != nil && c.gen == gen {
				b = c
			} else {
				pending = slot
			}
		}
	}
}

// countMemPrefix counts the memory instructions among the first n of b.
func countMemPrefix(b *block, n int) uint64 {
	if n == len(b.insts) {
		return b.nmem
	}
	return countMem(b.insts[:n])
}

// runFast executes insts from index i. It returns at a control transfer
// (always the last instruction of a block), at the end of insts, or at an
// instruction it cannot complete without help, which it leaves undone.
// It must not call anything that is not inlined.
func runFast(x *[32]uint64, ram unsafe.Pointer, ld, st *tlbArray, insts []inst, i int, bpc uint64) (int, int, uint64) {
	for ; i < len(insts); i++ {
		in := &insts[i]
		switch in.op {
		case opNOP, opFENCE:
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

// slowInsn completes the instruction runFast left: memory accesses that
// missed the TLB, AMOs, FP and system instructions, illegal encodings.
// pc is the instruction's address and i its index in the block.
func (h *Hart) slowInsn(in *inst, pc uint64, i int) int {
	x := &h.X
	switch in.op {
	case opLB, opLH, opLW, opLD, opLBU, opLHU, opLWU:
		size := [...]uint64{1, 2, 4, 8, 1, 2, 4}[in.op-opLB]
		v, ok := h.loadSlow(x[in.rs1&31]+uint64(int64(in.imm)), size)
		if !ok {
			return slowFault
		}
		switch in.op {
		case opLB:
			v = uint64(int8(v))
		case opLH:
			v = uint64(int16(v))
		case opLW:
			v = uint64(int32(v))
		}
		x[in.rd&31] = v
		x[0] = 0
		return slowOK
	case opSB, opSH, opSW, opSD:
		size := uint64(1) << (in.op - opSB)
		return storeResult(h.storeSlow(x[in.rs1&31]+uint64(int64(in.imm)), size, x[in.rs2&31]))
	case opIllegal:
		h.fail(excIllegal, uint64(in.raw))
		return slowFault
	case opFENCEI, opECALL, opEBREAK, opMRET, opSRET, opWFI, opSFENCEVMA,
		opCSRRW, opCSRRS, opCSRRC, opCSRRWI, opCSRRSI, opCSRRCI:
		// Always the last instruction of a block. Account for the
		// instructions before it so that counter CSRs read exactly.
		h.PC = pc
		h.stats.Instret += uint64(i)
		h.sysRetired = h.execSystem(in)
		if h.sysRetired {
			h.stats.Instret++
		}
		return slowSys
	}
	if in.op >= opLRW && in.op <= opAMOMAXUD {
		return storeResult(h.execAMO(in, x[in.rs1&31]))
	}
	return storeResult(h.execFP(in))
}

func storeResult(r int) int {
	switch r {
	case storeOK:
		return slowOK
	case storeFail:
		return slowFault
	}
	return slowSMC
}

func countMem(insts []inst) uint64 {
	var n uint64
	for i := range insts {
		if insts[i].op.isMem() {
			n++
		}
	}
	return n
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// M-extension helpers with the RISC-V results for division by zero and
// overflow (no traps).
func mulh(a, b uint64) uint64 {
	hi, _ := bits.Mul64(a, b)
	if int64(a) < 0 {
		hi -= b
	}
	if int64(b) < 0 {
		hi -= a
	}
	return hi
}

func mulhsu(a, b uint64) uint64 {
	hi, _ := bits.Mul64(a, b)
	if int64(a) < 0 {
		hi -= b
	}
	return hi
}

func div64(a, b uint64) uint64 {
	switch {
	case b == 0:
		return ^uint64(0)
	case int64(a) == -1<<63 && int64(b) == -1:
		return a
	}
	return uint64(int64(a) / int64(b))
}

func divu64(a, b uint64) uint64 {
	if b == 0 {
		return ^uint64(0)
	}
	return a / b
}

func rem64(a, b uint64) uint64 {
	switch {
	case b == 0:
		return a
	case int64(a) == -1<<63 && int64(b) == -1:
		return 0
	}
	return uint64(int64(a) % int64(b))
}

func remu64(a, b uint64) uint64 {
	if b == 0 {
		return a
	}
	return a % b
}

func div32(a, b uint64) uint64 {
	x, y := int32(a), int32(b)
	switch {
	case y == 0:
		return ^uint64(0)
	case x == -1<<31 && y == -1:
		return uint64(int64(x))
	}
	return uint64(int64(x / y))
}

func divu32(a, b uint64) uint64 {
	x, y := uint32(a), uint32(b)
	if y == 0 {
		return ^uint64(0)
	}
	return uint64(int64(int32(x / y)))
}

func rem32(a, b uint64) uint64 {
	x, y := int32(a), int32(b)
	switch {
	case y == 0:
		return uint64(int64(x))
	case x == -1<<31 && y == -1:
		return 0
	}
	return uint64(int64(x % y))
}

func remu32(a, b uint64) uint64 {
	x, y := uint32(a), uint32(b)
	if y == 0 {
		return uint64(int64(int32(x)))
	}
	return uint64(int64(int32(x % y)))
}
