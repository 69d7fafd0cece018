package riscv

// execSystem executes a block-ending system instruction at h.PC. It returns
// true when the instruction retired (h.PC is the next instruction) and false
// when it trapped (h.PC is the handler).
func (h *Hart) execSystem(in *inst) bool {
	switch in.op {
	case opFENCEI:
		h.blocks.flushAll()
	case opECALL:
		h.stats.Ecalls++
		if h.priv == PrivS && h.sbi != nil {
			pc := h.PC
			h.sbi.Ecall(h)
			h.X[0] = 0
			if h.PC != pc {
				// The handler redirected the hart (say, an HSM resume
				// through SetState): continue where it said.
				return true
			}
			break
		}
		return h.exception(excEcallU+uint64(h.priv), 0)
	case opEBREAK:
		return h.exception(excBreakpoint, h.PC)
	case opMRET:
		if h.priv != PrivM {
			return h.illegal(in)
		}
		h.mret()
		return true
	case opSRET:
		if h.priv < PrivS || (h.priv == PrivS && h.csr.mstatus&msTSR != 0) {
			return h.illegal(in)
		}
		h.sret()
		return true
	case opWFI:
		if h.priv == PrivU || (h.priv == PrivS && h.csr.mstatus&msTW != 0) {
			return h.illegal(in)
		}
		h.waiting = true
		h.attn.Or(attnIRQ) // leave the run loop to sleep
	case opSFENCEVMA:
		if h.priv == PrivU || (h.priv == PrivS && h.csr.mstatus&msTVM != 0) {
			return h.illegal(in)
		}
		h.sfence(h.X[in.rs1&31], in.rs1 != 0, h.X[in.rs2&31], in.rs2 != 0)
	default:
		return h.execCSR(in)
	}
	h.PC += uint64(in.len)
	return true
}

// execCSR executes CSRRW/RS/RC and their immediate forms.
func (h *Hart) execCSR(in *inst) bool {
	num := uint16(in.imm) & 0xfff
	src := uint64(in.rs1) // zimm
	if in.op <= opCSRRC {
		src = h.X[in.rs1&31]
	}
	// CSRRW always writes; CSRRS/CSRRC write only with a nonzero rs1/zimm.
	write := in.op == opCSRRW || in.op == opCSRRWI || in.rs1 != 0
	if h.priv < Priv(num>>8&3) || (write && num>>10 == 3) {
		return h.illegal(in)
	}
	old, ok := h.csrRead(num)
	if !ok {
		return h.illegal(in)
	}
	if write {
		base := old
		if num == csrMip || num == csrSip {
			// Read-modify-write uses the software-written bits only: the
			// external lines and timers are not latched by CSRRS/CSRRC.
			base = h.csr.mip
		}
		var v uint64
		switch in.op {
		case opCSRRW, opCSRRWI:
			v = src
		case opCSRRS, opCSRRSI:
			v = base | src
		default:
			v = base &^ src
		}
		if !h.csrWrite(num, v) {
			return h.illegal(in)
		}
	}
	h.X[in.rd&31] = old
	h.X[0] = 0
	h.PC += uint64(in.len)
	return true
}
