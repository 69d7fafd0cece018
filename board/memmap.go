// Package board is popek's "virt" machine: QEMU's virt memory map, its
// devices, the device tree describing them, kernel/firmware loading and the
// per-hart run loops.
package board

// Physical memory map, identical to QEMU's virt board so guests built for it
// (OpenSBI generic, Linux defconfig, xv6) run unmodified.
const (
	ResetROMBase  = 0x1000
	ResetROMSize  = 0xf000
	TestBase      = 0x100000
	TestSize      = 0x1000
	RTCBase       = 0x101000
	RTCSize       = 0x1000
	CLINTBase     = 0x2000000
	CLINTSize     = 0x10000
	PLICBase      = 0xc000000
	PLICSize      = 0x4000000 // bus window, as QEMU maps it
	PLICRegSize   = 0x600000  // what the device tree advertises
	UARTBase      = 0x10000000
	UARTSize      = 0x100
	VirtioBase    = 0x10001000
	VirtioStride  = 0x1000
	VirtioSlots   = 8
	DRAMBase      = 0x80000000
	KernelBase    = DRAMBase + 0x200000 // where firmware expects the next stage
	UARTClockFreq = 3686400
	TimebaseFreq  = 10_000_000
)

// PLIC interrupt sources.
const (
	PLICSources   = 95 // riscv,ndev: sources 1..95
	IRQVirtioBase = 1  // virtio slot i uses IRQ 1+i
	IRQUART       = 10
	IRQRTC        = 11
)

// MaxHarts is the most harts a machine can have.
const MaxHarts = 32

// VirtioSlotBase is the MMIO base of virtio slot i.
func VirtioSlotBase(i int) uint64 { return VirtioBase + uint64(i)*VirtioStride }
