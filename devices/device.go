// Package devices holds the board's emulated devices, one file per device.
// Devices see only offsets within their own MMIO window; the board's bus
// routes guest-physical addresses to them.
package devices

// Device is a memory-mapped device. off is relative to the device's base,
// size is 1, 2, 4 or 8 bytes. Accesses the device does not implement read
// as zero and ignore writes, as real hardware does.
type Device interface {
	Read(off uint64, size int) uint64
	Write(off uint64, size int, val uint64)
}

// IRQ is one interrupt line into the interrupt controller (a PLIC source).
// Level-triggered: the device holds it high while it wants service.
type IRQ interface {
	SetLevel(high bool)
}

// Interrupt bits in mip that interrupt controllers drive on a hart.
const (
	MSIP = 3  // machine software interrupt (CLINT msip)
	SEIP = 9  // supervisor external interrupt (PLIC S context)
	MEIP = 11 // machine external interrupt (PLIC M context)
)

// Hart is what the CLINT and PLIC drive on a processor. riscv.Hart
// implements it; it must be safe to call from any goroutine.
type Hart interface {
	// SetInterrupt raises or lowers an externally driven mip bit
	// (MSIP, SEIP or MEIP) and wakes the hart if it sleeps in WFI.
	SetInterrupt(bit uint, level bool)
	// SetMtimecmp sets the hart's machine timer compare value; the hart
	// raises MTIP itself while mtime >= mtimecmp.
	SetMtimecmp(v uint64)
	Mtimecmp() uint64
}
