package riscv

import "testing"

const noImm = 1 << 62 // table marker: immediate not checked

// decode32Cases were assembled with GNU as (-march=rv64g); -1 means the
// field is not checked.
var decode32Cases = []struct {
	word         uint32
	op           opcode
	rd, rs1, rs2 int
	imm          int64
	asm          string
}{
	{0xfffff2b7, opLUI, 5, -1, -1, -4096, "lui x5, 0xfffff"},
	{0x123450b7, opLUI, 1, -1, -1, 305418240, "lui x1, 0x12345"},
	{0x80000f97, opAUIPC, 31, -1, -1, -2147483648, "auipc x31, 0x80000"},
	{0xffdff0ef, opJAL, 1, -1, -1, -4, "jal x1, .-4"},
	{0x7ffff06f, opJAL, 0, -1, -1, 1048574, "jal x0, .+0xffffe"},
	{0x800100e7, opJALR, 1, 2, -1, -2048, "jalr x1, -2048(x2)"},
	{0x80208063, opBEQ, -1, 1, 2, -4096, "beq x1, x2, .-4096"},
	{0x7e419fe3, opBNE, -1, 3, 4, 4094, "bne x3, x4, .+4094"},
	{0x0062c463, opBLT, -1, 5, 6, 8, "blt x5, x6, .+8"},
	{0xfe83dce3, opBGE, -1, 7, 8, -8, "bge x7, x8, .-8"},
	{0x00a4e863, opBLTU, -1, 9, 10, 16, "bltu x9, x10, .+16"},
	{0x00c5f163, opBGEU, -1, 11, 12, 2, "bgeu x11, x12, .+2"},
	{0xfff10083, opLB, 1, 2, -1, -1, "lb x1, -1(x2)"},
	{0x7ff21183, opLH, 3, 4, -1, 2047, "lh x3, 2047(x4)"},
	{0x80032283, opLW, 5, 6, -1, -2048, "lw x5, -2048(x6)"},
	{0x00843383, opLD, 7, 8, -1, 8, "ld x7, 8(x8)"},
	{0x00054483, opLBU, 9, 10, -1, 0, "lbu x9, 0(x10)"},
	{0x00265583, opLHU, 11, 12, -1, 2, "lhu x11, 2(x12)"},
	{0x00476683, opLWU, 13, 14, -1, 4, "lwu x13, 4(x14)"},
	{0xfe110fa3, opSB, -1, 2, 1, -1, "sb x1, -1(x2)"},
	{0x7e321fa3, opSH, -1, 4, 3, 2047, "sh x3, 2047(x4)"},
	{0x80532023, opSW, -1, 6, 5, -2048, "sw x5, -2048(x6)"},
	{0x00743c23, opSD, -1, 8, 7, 24, "sd x7, 24(x8)"},
	{0x80010093, opADDI, 1, 2, -1, -2048, "addi x1, x2, -2048"},
	{0x00512093, opSLTI, 1, 2, -1, 5, "slti x1, x2, 5"},
	{0xfff13093, opSLTIU, 1, 2, -1, -1, "sltiu x1, x2, -1"},
	{0x7ff14093, opXORI, 1, 2, -1, 2047, "xori x1, x2, 0x7ff"},
	{0xff016093, opORI, 1, 2, -1, -16, "ori x1, x2, -16"},
	{0x0ff17093, opANDI, 1, 2, -1, 255, "andi x1, x2, 255"},
	{0x03f11093, opSLLI, 1, 2, -1, 63, "slli x1, x2, 63"},
	{0x02115093, opSRLI, 1, 2, -1, 33, "srli x1, x2, 33"},
	{0x43f15093, opSRAI, 1, 2, -1, 63, "srai x1, x2, 63"},
	{0x003100b3, opADD, 1, 2, 3, 0, "add x1, x2, x3"},
	{0x403100b3, opSUB, 1, 2, 3, 0, "sub x1, x2, x3"},
	{0x003110b3, opSLL, 1, 2, 3, 0, "sll x1, x2, x3"},
	{0x003120b3, opSLT, 1, 2, 3, 0, "slt x1, x2, x3"},
	{0x003130b3, opSLTU, 1, 2, 3, 0, "sltu x1, x2, x3"},
	{0x003140b3, opXOR, 1, 2, 3, 0, "xor x1, x2, x3"},
	{0x003150b3, opSRL, 1, 2, 3, 0, "srl x1, x2, x3"},
	{0x403150b3, opSRA, 1, 2, 3, 0, "sra x1, x2, x3"},
	{0x003160b3, opOR, 1, 2, 3, 0, "or x1, x2, x3"},
	{0x003170b3, opAND, 1, 2, 3, 0, "and x1, x2, x3"},
	{0xfff1009b, opADDIW, 1, 2, -1, -1, "addiw x1, x2, -1"},
	{0x01f1109b, opSLLIW, 1, 2, -1, 31, "slliw x1, x2, 31"},
	{0x01f1509b, opSRLIW, 1, 2, -1, 31, "srliw x1, x2, 31"},
	{0x41f1509b, opSRAIW, 1, 2, -1, 31, "sraiw x1, x2, 31"},
	{0x003100bb, opADDW, 1, 2, 3, 0, "addw x1, x2, x3"},
	{0x403100bb, opSUBW, 1, 2, 3, 0, "subw x1, x2, x3"},
	{0x003110bb, opSLLW, 1, 2, 3, 0, "sllw x1, x2, x3"},
	{0x003150bb, opSRLW, 1, 2, 3, 0, "srlw x1, x2, x3"},
	{0x403150bb, opSRAW, 1, 2, 3, 0, "sraw x1, x2, x3"},
	{0x0330000f, opFENCE, -1, -1, -1, noImm, "fence rw, rw"},
	{0x0000100f, opFENCEI, -1, -1, -1, noImm, "fence.i"},
	{0x8330000f, opFENCE, -1, -1, -1, noImm, "fence.tso"},
	{0x023100b3, opMUL, 1, 2, 3, 0, "mul x1, x2, x3"},
	{0x023110b3, opMULH, 1, 2, 3, 0, "mulh x1, x2, x3"},
	{0x023120b3, opMULHSU, 1, 2, 3, 0, "mulhsu x1, x2, x3"},
	{0x023130b3, opMULHU, 1, 2, 3, 0, "mulhu x1, x2, x3"},
	{0x023140b3, opDIV, 1, 2, 3, 0, "div x1, x2, x3"},
	{0x023150b3, opDIVU, 1, 2, 3, 0, "divu x1, x2, x3"},
	{0x023160b3, opREM, 1, 2, 3, 0, "rem x1, x2, x3"},
	{0x023170b3, opREMU, 1, 2, 3, 0, "remu x1, x2, x3"},
	{0x023100bb, opMULW, 1, 2, 3, 0, "mulw x1, x2, x3"},
	{0x023140bb, opDIVW, 1, 2, 3, 0, "divw x1, x2, x3"},
	{0x023150bb, opDIVUW, 1, 2, 3, 0, "divuw x1, x2, x3"},
	{0x023160bb, opREMW, 1, 2, 3, 0, "remw x1, x2, x3"},
	{0x023170bb, opREMUW, 1, 2, 3, 0, "remuw x1, x2, x3"},
	{0x100120af, opLRW, 1, 2, 0, noImm, "lr.w x1, (x2)"},
	{0x183120af, opSCW, 1, 2, 3, noImm, "sc.w x1, x3, (x2)"},
	{0x0e3120af, opAMOSWAPW, 1, 2, 3, noImm, "amoswap.w.aqrl x1, x3, (x2)"},
	{0x003120af, opAMOADDW, 1, 2, 3, noImm, "amoadd.w x1, x3, (x2)"},
	{0x203120af, opAMOXORW, 1, 2, 3, noImm, "amoxor.w x1, x3, (x2)"},
	{0x603120af, opAMOANDW, 1, 2, 3, noImm, "amoand.w x1, x3, (x2)"},
	{0x403120af, opAMOORW, 1, 2, 3, noImm, "amoor.w x1, x3, (x2)"},
	{0x803120af, opAMOMINW, 1, 2, 3, noImm, "amomin.w x1, x3, (x2)"},
	{0xa03120af, opAMOMAXW, 1, 2, 3, noImm, "amomax.w x1, x3, (x2)"},
	{0xc03120af, opAMOMINUW, 1, 2, 3, noImm, "amominu.w x1, x3, (x2)"},
	{0xe03120af, opAMOMAXUW, 1, 2, 3, noImm, "amomaxu.w x1, x3, (x2)"},
	{0x140130af, opLRD, 1, 2, 0, noImm, "lr.d.aq x1, (x2)"},
	{0x1a3130af, opSCD, 1, 2, 3, noImm, "sc.d.rl x1, x3, (x2)"},
	{0x083130af, opAMOSWAPD, 1, 2, 3, noImm, "amoswap.d x1, x3, (x2)"},
	{0x003130af, opAMOADDD, 1, 2, 3, noImm, "amoadd.d x1, x3, (x2)"},
	{0x203130af, opAMOXORD, 1, 2, 3, noImm, "amoxor.d x1, x3, (x2)"},
	{0x603130af, opAMOANDD, 1, 2, 3, noImm, "amoand.d x1, x3, (x2)"},
	{0x403130af, opAMOORD, 1, 2, 3, noImm, "amoor.d x1, x3, (x2)"},
	{0x803130af, opAMOMIND, 1, 2, 3, noImm, "amomin.d x1, x3, (x2)"},
	{0xa03130af, opAMOMAXD, 1, 2, 3, noImm, "amomax.d x1, x3, (x2)"},
	{0xc03130af, opAMOMINUD, 1, 2, 3, noImm, "amominu.d x1, x3, (x2)"},
	{0xe03130af, opAMOMAXUD, 1, 2, 3, noImm, "amomaxu.d x1, x3, (x2)"},
	{0x00000073, opECALL, -1, -1, -1, noImm, "ecall"},
	{0x00100073, opEBREAK, -1, -1, -1, noImm, "ebreak"},
	{0x30200073, opMRET, -1, -1, -1, noImm, "mret"},
	{0x10200073, opSRET, -1, -1, -1, noImm, "sret"},
	{0x10500073, opWFI, -1, -1, -1, noImm, "wfi"},
	{0x12208073, opSFENCEVMA, 0, 1, 2, noImm, "sfence.vma x1, x2"},
	{0x12000073, opSFENCEVMA, 0, 0, 0, noImm, "sfence.vma"},
	{0x300110f3, opCSRRW, 1, 2, -1, 768, "csrrw x1, mstatus, x2"},
	{0xfff120f3, opCSRRS, 1, 2, -1, 4095, "csrrs x1, 0xfff, x2"},
	{0x180130f3, opCSRRC, 1, 2, -1, 384, "csrrc x1, satp, x2"},
	{0x305fd0f3, opCSRRWI, 1, 31, -1, 773, "csrrwi x1, mtvec, 31"},
	{0x1040e0f3, opCSRRSI, 1, 1, -1, 260, "csrrsi x1, sie, 1"},
	{0x003070f3, opCSRRCI, 1, 0, -1, 3, "csrrci x1, fcsr, 0"},
	{0xffc12087, opFLW, 1, 2, -1, -4, "flw f1, -4(x2)"},
	{0x00312427, opFSW, -1, 2, 3, 8, "fsw f3, 8(x2)"},
	{0x7ff13087, opFLD, 1, 2, -1, 2047, "fld f1, 2047(x2)"},
	{0x80313027, opFSD, -1, 2, 3, -2048, "fsd f3, -2048(x2)"},
	{0x203100c3, opFMADDS, 1, 2, 3, noImm, "fmadd.s f1, f2, f3, f4, rne"},
	{0x203170c7, opFMSUBS, 1, 2, 3, noImm, "fmsub.s f1, f2, f3, f4, dyn"},
	{0x203170cb, opFNMSUBS, 1, 2, 3, noImm, "fnmsub.s f1, f2, f3, f4"},
	{0x203170cf, opFNMADDS, 1, 2, 3, noImm, "fnmadd.s f1, f2, f3, f4"},
	{0x223140c3, opFMADDD, 1, 2, 3, noImm, "fmadd.d f1, f2, f3, f4, rmm"},
	{0x223170c7, opFMSUBD, 1, 2, 3, noImm, "fmsub.d f1, f2, f3, f4"},
	{0x223170cb, opFNMSUBD, 1, 2, 3, noImm, "fnmsub.d f1, f2, f3, f4"},
	{0x223170cf, opFNMADDD, 1, 2, 3, noImm, "fnmadd.d f1, f2, f3, f4"},
	{0x003170d3, opFADDS, 1, 2, 3, noImm, "fadd.s f1, f2, f3"},
	{0x083110d3, opFSUBS, 1, 2, 3, noImm, "fsub.s f1, f2, f3, rtz"},
	{0x103170d3, opFMULS, 1, 2, 3, noImm, "fmul.s f1, f2, f3"},
	{0x183170d3, opFDIVS, 1, 2, 3, noImm, "fdiv.s f1, f2, f3"},
	{0x580170d3, opFSQRTS, 1, 2, 0, noImm, "fsqrt.s f1, f2"},
	{0x203100d3, opFSGNJS, 1, 2, 3, noImm, "fsgnj.s f1, f2, f3"},
	{0x203110d3, opFSGNJNS, 1, 2, 3, noImm, "fsgnjn.s f1, f2, f3"},
	{0x203120d3, opFSGNJXS, 1, 2, 3, noImm, "fsgnjx.s f1, f2, f3"},
	{0x283100d3, opFMINS, 1, 2, 3, noImm, "fmin.s f1, f2, f3"},
	{0x283110d3, opFMAXS, 1, 2, 3, noImm, "fmax.s f1, f2, f3"},
	{0xc00110d3, opFCVTWS, 1, 2, 0, noImm, "fcvt.w.s x1, f2, rtz"},
	{0xc01170d3, opFCVTWUS, 1, 2, 1, noImm, "fcvt.wu.s x1, f2"},
	{0xc02170d3, opFCVTLS, 1, 2, 2, noImm, "fcvt.l.s x1, f2"},
	{0xc03170d3, opFCVTLUS, 1, 2, 3, noImm, "fcvt.lu.s x1, f2"},
	{0xe00100d3, opFMVXW, 1, 2, 0, noImm, "fmv.x.w x1, f2"},
	{0xe00110d3, opFCLASSS, 1, 2, 0, noImm, "fclass.s x1, f2"},
	{0xa03120d3, opFEQS, 1, 2, 3, noImm, "feq.s x1, f2, f3"},
	{0xa03110d3, opFLTS, 1, 2, 3, noImm, "flt.s x1, f2, f3"},
	{0xa03100d3, opFLES, 1, 2, 3, noImm, "fle.s x1, f2, f3"},
	{0xd00170d3, opFCVTSW, 1, 2, 0, noImm, "fcvt.s.w f1, x2"},
	{0xd01170d3, opFCVTSWU, 1, 2, 1, noImm, "fcvt.s.wu f1, x2"},
	{0xd02170d3, opFCVTSL, 1, 2, 2, noImm, "fcvt.s.l f1, x2"},
	{0xd03170d3, opFCVTSLU, 1, 2, 3, noImm, "fcvt.s.lu f1, x2"},
	{0xf00100d3, opFMVWX, 1, 2, 0, noImm, "fmv.w.x f1, x2"},
	{0x023170d3, opFADDD, 1, 2, 3, noImm, "fadd.d f1, f2, f3"},
	{0x0a3170d3, opFSUBD, 1, 2, 3, noImm, "fsub.d f1, f2, f3"},
	{0x123130d3, opFMULD, 1, 2, 3, noImm, "fmul.d f1, f2, f3, rup"},
	{0x1a3120d3, opFDIVD, 1, 2, 3, noImm, "fdiv.d f1, f2, f3, rdn"},
	{0x5a0170d3, opFSQRTD, 1, 2, 0, noImm, "fsqrt.d f1, f2"},
	{0x223100d3, opFSGNJD, 1, 2, 3, noImm, "fsgnj.d f1, f2, f3"},
	{0x223110d3, opFSGNJND, 1, 2, 3, noImm, "fsgnjn.d f1, f2, f3"},
	{0x223120d3, opFSGNJXD, 1, 2, 3, noImm, "fsgnjx.d f1, f2, f3"},
	{0x2a3100d3, opFMIND, 1, 2, 3, noImm, "fmin.d f1, f2, f3"},
	{0x2a3110d3, opFMAXD, 1, 2, 3, noImm, "fmax.d f1, f2, f3"},
	{0xc20170d3, opFCVTWD, 1, 2, 0, noImm, "fcvt.w.d x1, f2"},
	{0xc21170d3, opFCVTWUD, 1, 2, 1, noImm, "fcvt.wu.d x1, f2"},
	{0xc22170d3, opFCVTLD, 1, 2, 2, noImm, "fcvt.l.d x1, f2"},
	{0xc23170d3, opFCVTLUD, 1, 2, 3, noImm, "fcvt.lu.d x1, f2"},
	{0xe20100d3, opFMVXD, 1, 2, 0, noImm, "fmv.x.d x1, f2"},
	{0xe20110d3, opFCLASSD, 1, 2, 0, noImm, "fclass.d x1, f2"},
	{0xa23120d3, opFEQD, 1, 2, 3, noImm, "feq.d x1, f2, f3"},
	{0xa23110d3, opFLTD, 1, 2, 3, noImm, "flt.d x1, f2, f3"},
	{0xa23100d3, opFLED, 1, 2, 3, noImm, "fle.d x1, f2, f3"},
	{0xd20100d3, opFCVTDW, 1, 2, 0, noImm, "fcvt.d.w f1, x2"},
	{0xd21100d3, opFCVTDWU, 1, 2, 1, noImm, "fcvt.d.wu f1, x2"},
	{0xd22170d3, opFCVTDL, 1, 2, 2, noImm, "fcvt.d.l f1, x2"},
	{0xd23170d3, opFCVTDLU, 1, 2, 3, noImm, "fcvt.d.lu f1, x2"},
	{0xf20100d3, opFMVDX, 1, 2, 0, noImm, "fmv.d.x f1, x2"},
	{0x401170d3, opFCVTSD, 1, 2, 1, noImm, "fcvt.s.d f1, f2"},
	{0x420100d3, opFCVTDS, 1, 2, 0, noImm, "fcvt.d.s f1, f2"},
	{0x00508013, opNOP, -1, -1, -1, noImm, "addi x0, x1, 5"},
	{0x00208033, opNOP, -1, -1, -1, noImm, "add x0, x1, x2"},
	{0x00005037, opNOP, -1, -1, -1, noImm, "lui x0, 5"},
}

func TestDecode32(t *testing.T) {
	for _, c := range decode32Cases {
		in := decode(c.word)
		if in.op != c.op || in.len != 4 || in.raw != c.word {
			t.Errorf("%s (%#08x): op %d len %d, want op %d", c.asm, c.word, in.op, in.len, c.op)
			continue
		}
		if (c.rd >= 0 && int(in.rd) != c.rd) || (c.rs1 >= 0 && int(in.rs1) != c.rs1) || (c.rs2 >= 0 && int(in.rs2) != c.rs2) {
			t.Errorf("%s: regs rd=%d rs1=%d rs2=%d, want %d %d %d", c.asm, in.rd, in.rs1, in.rs2, c.rd, c.rs1, c.rs2)
		}
		if c.imm != noImm && int64(in.imm) != c.imm {
			t.Errorf("%s: imm %d, want %d", c.asm, in.imm, c.imm)
		}
	}
}

// rvcCases pair GNU as output for each compressed instruction (rv64gc)
// with the same instruction assembled without C.
var rvcCases = []struct {
	c    uint16
	full uint32
	asm  string
}{
	{0x0040, 0x00410413, "c.addi4spn x8, x2, 4"},
	{0x1ffc, 0x3fc10793, "c.addi4spn x15, x2, 1020"},
	{0x0404, 0x20010493, "c.addi4spn x9, x2, 512"},
	{0x2080, 0x0004b407, "c.fld f8, 0(x9)"},
	{0x3ffc, 0x0f87b787, "c.fld f15, 248(x15)"},
	{0x4080, 0x0004a403, "c.lw x8, 0(x9)"},
	{0x5c7c, 0x07c42783, "c.lw x15, 124(x8)"},
	{0x41a8, 0x0405a503, "c.lw x10, 64(x11)"},
	{0x7fe0, 0x0f87b403, "c.ld x8, 248(x15)"},
	{0x6690, 0x0086b603, "c.ld x12, 8(x13)"},
	{0xa904, 0x00953827, "c.fsd f9, 16(x10)"},
	{0xbc7c, 0x0ef43c27, "c.fsd f15, 248(x8)"},
	{0xc144, 0x00952223, "c.sw x9, 4(x10)"},
	{0xdffc, 0x06f7ae23, "c.sw x15, 124(x15)"},
	{0xf9e8, 0x0ea5b823, "c.sd x10, 240(x11)"},
	{0xe000, 0x00843023, "c.sd x8, 0(x8)"},
	{0x0001, 0x00000013, "c.nop"},
	{0x1081, 0xfe008093, "c.addi x1, -32"},
	{0x0ffd, 0x01ff8f93, "c.addi x31, 31"},
	{0x0285, 0x00128293, "c.addi x5, 1"},
	{0x30fd, 0xfff0809b, "c.addiw x1, -1"},
	{0x2ffd, 0x01ff8f9b, "c.addiw x31, 31"},
	{0x2381, 0x0003839b, "c.addiw x7, 0"},
	{0x5081, 0xfe000093, "c.li x1, -32"},
	{0x4ffd, 0x01f00f93, "c.li x31, 31"},
	{0x4501, 0x00000513, "c.li x10, 0"},
	{0x7101, 0xe0010113, "c.addi16sp x2, -512"},
	{0x617d, 0x1f010113, "c.addi16sp x2, 496"},
	{0x6141, 0x01010113, "c.addi16sp x2, 16"},
	{0x6085, 0x000010b7, "c.lui x1, 1"},
	{0x7ffd, 0xffffffb7, "c.lui x31, 0xfffff"},
	{0x61fd, 0x0001f1b7, "c.lui x3, 0x1f"},
	{0x7201, 0xfffe0237, "c.lui x4, 0xfffe0"},
	{0x8005, 0x00145413, "c.srli x8, 1"},
	{0x93fd, 0x03f7d793, "c.srli x15, 63"},
	{0x9081, 0x0204d493, "c.srli x9, 32"},
	{0x8405, 0x40145413, "c.srai x8, 1"},
	{0x97fd, 0x43f7d793, "c.srai x15, 63"},
	{0x9505, 0x42155513, "c.srai x10, 33"},
	{0x9801, 0xfe047413, "c.andi x8, -32"},
	{0x8bfd, 0x01f7f793, "c.andi x15, 31"},
	{0x8a01, 0x00067613, "c.andi x12, 0"},
	{0x8c1d, 0x40f40433, "c.sub x8, x15"},
	{0x8cb9, 0x00e4c4b3, "c.xor x9, x14"},
	{0x8d55, 0x00d56533, "c.or x10, x13"},
	{0x8df1, 0x00c5f5b3, "c.and x11, x12"},
	{0x9e0d, 0x40b6063b, "c.subw x12, x11"},
	{0x9ea9, 0x00a686bb, "c.addw x13, x10"},
	{0xaffd, 0x7fe0006f, "c.j .+2046"},
	{0xb001, 0x801ff06f, "c.j .-2048"},
	{0xa009, 0x0020006f, "c.j .+2"},
	{0xcc7d, 0x0e040f63, "c.beqz x8, .+254"},
	{0xd381, 0xf00780e3, "c.beqz x15, .-256"},
	{0xe089, 0x00049163, "c.bnez x9, .+2"},
	{0xfd7d, 0xfe051fe3, "c.bnez x10, .-2"},
	{0x0086, 0x00109093, "c.slli x1, 1"},
	{0x1ffe, 0x03ff9f93, "c.slli x31, 63"},
	{0x1502, 0x02051513, "c.slli x10, 32"},
	{0x30fe, 0x1f813087, "c.fldsp f1, 504(x2)"},
	{0x2f82, 0x00013f87, "c.fldsp f31, 0(x2)"},
	{0x50fe, 0x0fc12083, "c.lwsp x1, 252(x2)"},
	{0x4f92, 0x00412f83, "c.lwsp x31, 4(x2)"},
	{0x70fe, 0x1f813083, "c.ldsp x1, 504(x2)"},
	{0x6fa2, 0x00813f83, "c.ldsp x31, 8(x2)"},
	{0x8082, 0x00008067, "c.jr x1"},
	{0x8f82, 0x000f8067, "c.jr x31"},
	{0x80fe, 0x01f000b3, "c.mv x1, x31"},
	{0x8f86, 0x00100fb3, "c.mv x31, x1"},
	{0x9002, 0x00100073, "c.ebreak"},
	{0x9082, 0x000080e7, "c.jalr x1"},
	{0x9f82, 0x000f80e7, "c.jalr x31"},
	{0x90fe, 0x01f080b3, "c.add x1, x31"},
	{0x9f8a, 0x002f8fb3, "c.add x31, x2"},
	{0xbf86, 0x1e113c27, "c.fsdsp f1, 504(x2)"},
	{0xa07e, 0x01f13027, "c.fsdsp f31, 0(x2)"},
	{0xdf86, 0x0e112e23, "c.swsp x1, 252(x2)"},
	{0xc07e, 0x01f12023, "c.swsp x31, 0(x2)"},
	{0xff86, 0x1e113c23, "c.sdsp x1, 504(x2)"},
	{0xe47e, 0x01f13423, "c.sdsp x31, 8(x2)"},
}

func TestExpandCompressed(t *testing.T) {
	for _, c := range rvcCases {
		got, ok := expandCompressed(c.c)
		if !ok || got != c.full {
			t.Errorf("%s (%#04x): expanded to %#08x ok=%v, want %#08x", c.asm, c.c, got, ok, c.full)
			continue
		}
		// The compressed form decodes to the same operation as the 32-bit one.
		short, long := decode(uint32(c.c)), decode(c.full)
		if short.len != 2 || short.raw != uint32(c.c) {
			t.Errorf("%s: len %d raw %#x", c.asm, short.len, short.raw)
		}
		short.len, short.raw = long.len, long.raw
		if short != long {
			t.Errorf("%s: decoded %+v, 32-bit form %+v", c.asm, short, long)
		}
	}
}

func TestReservedCompressedAreIllegal(t *testing.T) {
	cases := []struct {
		c    uint16
		name string
	}{
		{0x0000, "all zeros"},
		{0x0004, "C.ADDI4SPN nzuimm=0"},
		{0x8000, "quadrant 0 funct3=100"},
		{0x2001, "C.ADDIW rd=0"},
		{0x6101, "C.ADDI16SP nzimm=0"},
		{0x6081, "C.LUI nzimm=0"},
		{0x4002, "C.LWSP rd=0"},
		{0x6002, "C.LDSP rd=0"},
		{0x8002, "C.JR rs1=0"},
		{0x9c41, "reserved C.SUBW/ADDW slot 10"},
		{0x9c61, "reserved C.SUBW/ADDW slot 11"},
	}
	for _, c := range cases {
		in := decode(uint32(c.c))
		if in.op != opIllegal || in.raw != uint32(c.c) || in.len != 2 {
			t.Errorf("%s (%#04x): op %d raw %#x len %d, want illegal", c.name, c.c, in.op, in.raw, in.len)
		}
	}
}

func TestIllegal32(t *testing.T) {
	cases := []struct {
		w    uint32
		name string
	}{
		{0xffffffff, "all ones"},
		{0x0000007f, "48-bit+ prefix"},
		{0x00002063, "branch funct3=2"},
		{0x00007003, "load funct3=7"},
		{0x00004023, "store funct3=4"},
		{0x04001013, "slli with bit 26 set"},
		{0x40001013, "slli with funct6 0x10"},
		{0x0200101b, "slliw shamt[5] set"},
		{0x4000003b | 1<<12, "sllw with funct7 0x20"},
		{0x02001033 | 0x40000000, "mul group funct7 0x21"},
		{0x00004073, "system funct3=4"},
		{0x10300073, "unknown system instruction"},
		{0x1050007f, "bad major"},
		{0x101120af, "lr.w with rs2!=0"},
		{0x0000202f | 5<<27, "AMO funct5=5"},
		{0x0000402f, "AMO funct3=4"},
		{0x00005053 | 0, "fadd.s rm=5"},
		{0x00006053, "fadd.s rm=6"},
		{0x04000053 | 2<<25, "fadd.h (fmt=2)"},
		{0x58100053, "fsqrt.s rs2!=0"},
		{0x20003053, "fsgnj.s funct3=3"},
		{0xe0002053, "fmv.x.w funct3=2"},
		{0xf0001053, "fmv.w.x funct3=1"},
		{0x40000053, "fcvt.s.s (rs2=0, fmt S)"},
		{0xc0400053, "fcvt.w.s rs2=4"},
		{0x00004007, "flq/unsupported load-fp width"},
		{0x00001027, "fsh store-fp width"},
		{0x00000043 | 2<<25, "fmadd fmt=2"},
		{0x0000500f, "misc-mem funct3=5"},
		{0x0000206f&^0x6f | 0x67 | 1<<12, "jalr funct3=1"},
	}
	for _, c := range cases {
		if in := decode(c.w); in.op != opIllegal || in.raw != c.w || in.len != 4 {
			t.Errorf("%s (%#08x): op %d, want illegal", c.name, c.w, in.op)
		}
	}
}
