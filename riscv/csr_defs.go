package riscv

// CSR numbers implemented by the hart.
const (
	csrFflags = 0x001
	csrFrm    = 0x002
	csrFcsr   = 0x003

	csrCycle      = 0xC00
	csrTime       = 0xC01
	csrInstret    = 0xC02
	csrHpmcounter = 0xC03 // ..0xC1F

	csrSstatus    = 0x100
	csrSie        = 0x104
	csrStvec      = 0x105
	csrScounteren = 0x106
	csrSenvcfg    = 0x10A
	csrSscratch   = 0x140
	csrSepc       = 0x141
	csrScause     = 0x142
	csrStval      = 0x143
	csrSip        = 0x144
	csrStimecmp   = 0x14D
	csrSatp       = 0x180

	csrMvendorid  = 0xF11
	csrMarchid    = 0xF12
	csrMimpid     = 0xF13
	csrMhartid    = 0xF14
	csrMconfigptr = 0xF15

	csrMstatus       = 0x300
	csrMisa          = 0x301
	csrMedeleg       = 0x302
	csrMideleg       = 0x303
	csrMie           = 0x304
	csrMtvec         = 0x305
	csrMcounteren    = 0x306
	csrMenvcfg       = 0x30A
	csrMcountinhibit = 0x320
	csrMhpmevent     = 0x323 // ..0x33F
	csrMscratch      = 0x340
	csrMepc          = 0x341
	csrMcause        = 0x342
	csrMtval         = 0x343
	csrMip           = 0x344
	csrPmpcfg0       = 0x3A0 // ..0x3AF, even only on RV64
	csrPmpaddr0      = 0x3B0 // ..0x3EF
	csrMseccfg       = 0x747

	// Sdtrig trigger CSRs, present with zero triggers (see csr.go).
	csrTselect = 0x7A0
	csrTdata1  = 0x7A1
	csrTdata2  = 0x7A2
	csrTdata3  = 0x7A3
	csrTinfo   = 0x7A4

	csrMcycle      = 0xB00
	csrMinstret    = 0xB02
	csrMhpmcounter = 0xB03 // ..0xB1F
)

// mstatus fields.
const (
	msSIE  = 1 << 1
	msMIE  = 1 << 3
	msSPIE = 1 << 5
	msMPIE = 1 << 7
	msSPP  = 1 << 8
	msMPP  = 3 << 11
	msFS   = 3 << 13
	msMPRV = 1 << 17
	msSUM  = 1 << 18
	msMXR  = 1 << 19
	msTVM  = 1 << 20
	msTW   = 1 << 21
	msTSR  = 1 << 22
	msUXL  = 3 << 32
	msSXL  = 3 << 34
	msSD   = 1 << 63

	msMPPShift = 11
	msFSShift  = 13
	msFSDirty  = 3 << 13

	// UXL = SXL = 2 (64-bit), fixed.
	mstatusFixed = 2<<32 | 2<<34
	mstatusReset = mstatusFixed

	// Bits M-mode software may change through mstatus (MPP is legalised).
	mstatusWritable = msSIE | msMIE | msSPIE | msMPIE | msSPP | msMPP | msFS |
		msMPRV | msSUM | msMXR | msTVM | msTW | msTSR
	// The subset visible through sstatus, and the writable part of it.
	sstatusVisible  = msSIE | msSPIE | msSPP | msFS | msSUM | msMXR | msUXL | msSD
	sstatusWritable = msSIE | msSPIE | msSPP | msFS | msSUM | msMXR
)

// Interrupt numbers and mip/mie bits.
const (
	irqSSI = 1
	irqMSI = 3
	irqSTI = 5
	irqMTI = 7
	irqSEI = 9
	irqMEI = 11

	mipSSIP = 1 << irqSSI
	mipMSIP = 1 << irqMSI
	mipSTIP = 1 << irqSTI
	mipMTIP = 1 << irqMTI
	mipSEIP = 1 << irqSEI
	mipMEIP = 1 << irqMEI

	mieWritable   = mipSSIP | mipMSIP | mipSTIP | mipMTIP | mipSEIP | mipMEIP
	midelegMask   = mipSSIP | mipSTIP | mipSEIP
	mipSWWritable = mipSSIP | mipSTIP | mipSEIP
	sInterrupts   = mipSSIP | mipSTIP | mipSEIP
	extIRQMask    = mipMSIP | mipSEIP | mipMEIP
)

// Exception causes.
const (
	excInstMisaligned  = 0
	excInstAccess      = 1
	excIllegal         = 2
	excBreakpoint      = 3
	excLoadMisaligned  = 4
	excLoadAccess      = 5
	excStoreMisaligned = 6
	excStoreAccess     = 7
	excEcallU          = 8
	excEcallS          = 9
	excEcallM          = 11
	excInstPage        = 12
	excLoadPage        = 13
	excStorePage       = 15

	medelegMask = 1<<excInstMisaligned | 1<<excInstAccess | 1<<excIllegal |
		1<<excBreakpoint | 1<<excLoadMisaligned | 1<<excLoadAccess |
		1<<excStoreMisaligned | 1<<excStoreAccess | 1<<excEcallU |
		1<<excEcallS | 1<<excInstPage | 1<<excLoadPage | 1<<excStorePage
)

// misa: MXL=2 (RV64) and the extensions A C D F I M S U.
const misaValue = 2<<62 | 1<<0 | 1<<2 | 1<<3 | 1<<5 | 1<<8 | 1<<12 | 1<<18 | 1<<20

// menvcfg / senvcfg.
const (
	envcfgFIOM      = 1 << 0
	menvcfgSTCE     = 1 << 63
	menvcfgWritable = envcfgFIOM | menvcfgSTCE
	senvcfgWritable = envcfgFIOM
)

// satp.
const (
	satpModeShift = 60
	satpASIDShift = 44
	satpASIDMask  = 0xffff
	satpPPNMask   = 1<<44 - 1
	satpBare      = 0
	satpSv39      = 8
	satpSv48      = 9
	satpSv57      = 10
)

// Counter enable bits (mcounteren, scounteren, mcountinhibit).
const (
	cntCY = 1 << 0
	cntTM = 1 << 1
	cntIR = 1 << 2
)

// csrFile holds the CSRs that are plain storage. Counters, PMP and the
// interrupt lines live in their own structures.
type csrFile struct {
	mstatus       uint64 // without SD, which is computed
	medeleg       uint64
	mideleg       uint64
	mie           uint64
	mip           uint64 // software-written bits only (SSIP, STIP, SEIP)
	mtvec         uint64
	mcounteren    uint64
	mcountinhibit uint64
	menvcfg       uint64
	mscratch      uint64
	mepc          uint64
	mcause        uint64
	mtval         uint64

	stvec      uint64
	scounteren uint64
	senvcfg    uint64
	sscratch   uint64
	sepc       uint64
	scause     uint64
	stval      uint64
	satp       uint64
	stimecmp   uint64

	fflags uint64
	frm    uint64
}
