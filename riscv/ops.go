package riscv

// opcode is the pre-decoded operation. The executor switches on it; keep
// the values dense so the switch compiles to a jump table.
type opcode uint8

const (
	opIllegal opcode = iota
	opNOP

	// RV64I
	opLUI
	opAUIPC
	opJAL
	opJALI // a JAL whose target follows it in the same block
	opJALR
	opBEQ
	opBNE
	opBLT
	opBGE
	opBLTU
	opBGEU
	opLB
	opLH
	opLW
	opLD
	opLBU
	opLHU
	opLWU
	opSB
	opSH
	opSW
	opSD
	opADDI
	opSLTI
	opSLTIU
	opXORI
	opORI
	opANDI
	opSLLI
	opSRLI
	opSRAI
	opADD
	opSUB
	opSLL
	opSLT
	opSLTU
	opXOR
	opSRL
	opSRA
	opOR
	opAND
	opADDIW
	opSLLIW
	opSRLIW
	opSRAIW
	opADDW
	opSUBW
	opSLLW
	opSRLW
	opSRAW
	opFENCE
	opFENCEI

	// M
	opMUL
	opMULH
	opMULHSU
	opMULHU
	opDIV
	opDIVU
	opREM
	opREMU
	opMULW
	opDIVW
	opDIVUW
	opREMW
	opREMUW

	// A
	opLRW
	opSCW
	opAMOSWAPW
	opAMOADDW
	opAMOXORW
	opAMOANDW
	opAMOORW
	opAMOMINW
	opAMOMAXW
	opAMOMINUW
	opAMOMAXUW
	opLRD
	opSCD
	opAMOSWAPD
	opAMOADDD
	opAMOXORD
	opAMOANDD
	opAMOORD
	opAMOMIND
	opAMOMAXD
	opAMOMINUD
	opAMOMAXUD

	// System: these end a block.
	opECALL
	opEBREAK
	opMRET
	opSRET
	opWFI
	opSFENCEVMA
	opCSRRW
	opCSRRS
	opCSRRC
	opCSRRWI
	opCSRRSI
	opCSRRCI

	// F and D. Everything from opFLW on is handled by execFP.
	opFLW
	opFSW
	opFLD
	opFSD
	opFMADDS
	opFMSUBS
	opFNMSUBS
	opFNMADDS
	opFADDS
	opFSUBS
	opFMULS
	opFDIVS
	opFSQRTS
	opFSGNJS
	opFSGNJNS
	opFSGNJXS
	opFMINS
	opFMAXS
	opFCVTWS
	opFCVTWUS
	opFCVTLS
	opFCVTLUS
	opFMVXW
	opFCLASSS
	opFEQS
	opFLTS
	opFLES
	opFCVTSW
	opFCVTSWU
	opFCVTSL
	opFCVTSLU
	opFMVWX
	opFMADDD
	opFMSUBD
	opFNMSUBD
	opFNMADDD
	opFADDD
	opFSUBD
	opFMULD
	opFDIVD
	opFSQRTD
	opFSGNJD
	opFSGNJND
	opFSGNJXD
	opFMIND
	opFMAXD
	opFCVTWD
	opFCVTWUD
	opFCVTLD
	opFCVTLUD
	opFMVXD
	opFCLASSD
	opFEQD
	opFLTD
	opFLED
	opFCVTDW
	opFCVTDWU
	opFCVTDL
	opFCVTDLU
	opFMVDX
	opFCVTSD
	opFCVTDS

	numOps
)

// inst is one pre-decoded instruction, 16 bytes so that the executor
// indexes blocks with a shift.
type inst struct {
	imm int32  // immediate (every RV64GC immediate fits); CSR number for CSR ops
	raw uint32 // the instruction bits (16 for compressed), for tval
	op  opcode
	rd  uint8
	rs1 uint8 // also the zimm of CSRR*I
	rs2 uint8
	fp  uint8 // FP: rs3 in bits 4:0, the rounding-mode field in bits 7:5
	len uint8 // 2 or 4 bytes
	// off is the byte offset of the instruction from its block's start
	// (negative after a JAL back within the page), so that a block decoded
	// once runs at whichever virtual address maps it.
	off int16
}

func (in *inst) rs3() uint8 { return in.fp & 31 }
func (in *inst) rm() uint8  { return in.fp >> 5 }

// endsBlock reports whether op must be the last instruction of a block:
// control transfers and everything that can change privilege, translation,
// interrupt enables or the instruction stream.
func (op opcode) endsBlock() bool {
	switch op {
	case opJAL, opJALR, opBEQ, opBNE, opBLT, opBGE, opBLTU, opBGEU, opFENCEI, opIllegal:
		return true
	}
	return op >= opECALL && op <= opCSRRCI
}

// isMem reports whether op accesses data memory through the TLB.
func (op opcode) isMem() bool {
	return (op >= opLB && op <= opSD) || (op >= opLRW && op <= opAMOMAXUD) ||
		(op >= opFLW && op <= opFSD)
}

// writesRdPure reports ops that only compute a value into rd, which decode
// turns into NOPs when rd is x0 (this also covers the HINT encodings).
func (op opcode) writesRdPure() bool {
	return op == opLUI || op == opAUIPC || (op >= opADDI && op <= opSRAW) || (op >= opMUL && op <= opREMUW)
}
