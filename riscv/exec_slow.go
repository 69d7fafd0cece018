package riscv

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
