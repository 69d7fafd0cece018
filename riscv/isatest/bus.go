package isatest

import (
	"github.com/popek-vm/popek/devices"
	"github.com/popek-vm/popek/vclock"
)

// QEMU virt addresses of the devices the test bus models.
const (
	SiFiveTestBase = 0x100000
	CLINTBase      = 0x2000000
	CLINTSize      = 0x10000
	UARTBase       = 0x10000000
	UARTSize       = 0x100

	clintMtimecmp = 0x4000
	clintMtime    = 0xbff8
	uartLSR       = 5
	uartMaxOutput = 1 << 16
)

// SiFive test device ("finisher") status codes.
const (
	finisherFail  = 0x3333
	finisherPass  = 0x5555
	finisherReset = 0x7777
)

// TestBus is the smallest board the bare-metal tests need: the SiFive test
// device, a one-hart CLINT (msip, mtimecmp forwarded to the hart, mtime
// from the clock) and a UART that only collects transmitted bytes.
// Everything else is unmapped, so accesses there fault. It is used from the
// hart's goroutine only.
type TestBus struct {
	Clock *vclock.Clock
	// Hart receives MSIP and mtimecmp; set it once the hart exists.
	Hart devices.Hart
	// OnFinish is called when the guest writes the finisher (e.g. to stop
	// the hart).
	OnFinish func()

	msip     uint32
	mtimecmp uint64
	uart     []byte

	finished bool
	passed   bool
	code     uint32
}

// NewTestBus returns a bus whose mtime is clock.
func NewTestBus(clock *vclock.Clock) *TestBus {
	return &TestBus{Clock: clock, mtimecmp: ^uint64(0)}
}

// Finished reports whether the finisher was written, and if so whether it
// signalled pass and the failure code.
func (b *TestBus) Finished() (finished, passed bool, code uint32) {
	return b.finished, b.passed, b.code
}

// UART returns everything the guest transmitted (capped at 64 KiB).
func (b *TestBus) UART() string { return string(b.uart) }

// Read implements riscv.Bus.
func (b *TestBus) Read(paddr uint64, size int) (uint64, bool) {
	switch {
	case paddr-CLINTBase < CLINTSize:
		return b.clintRead(paddr-CLINTBase, size), true
	case paddr-UARTBase < UARTSize:
		if paddr-UARTBase == uartLSR {
			return 0x60, true // transmitter empty and idle
		}
		return 0, true
	case paddr-SiFiveTestBase < 0x1000:
		return 0, true
	}
	return 0, false
}

// Write implements riscv.Bus.
func (b *TestBus) Write(paddr uint64, size int, val uint64) bool {
	switch {
	case paddr-CLINTBase < CLINTSize:
		b.clintWrite(paddr-CLINTBase, size, val)
		return true
	case paddr-UARTBase < UARTSize:
		if paddr == UARTBase && len(b.uart) < uartMaxOutput {
			b.uart = append(b.uart, byte(val))
		}
		return true
	case paddr-SiFiveTestBase < 0x1000:
		if paddr == SiFiveTestBase {
			b.finish(uint32(val))
		}
		return true
	}
	return false
}

func (b *TestBus) finish(v uint32) {
	switch v & 0xffff {
	case finisherPass:
		b.finished, b.passed = true, true
	case finisherFail:
		b.finished, b.passed, b.code = true, false, v>>16
	case finisherReset:
		b.finished, b.passed, b.code = true, false, 0xffff
	default:
		return
	}
	if b.OnFinish != nil {
		b.OnFinish()
	}
}

// window returns the bytes [off, off+size) of a 64-bit register at base.
func window(reg uint64, base, off uint64, size int) uint64 {
	shift := (off - base) * 8
	v := reg >> shift
	if size < 8 {
		v &= 1<<(uint(size)*8) - 1
	}
	return v
}

func merge(reg uint64, base, off uint64, size int, val uint64) uint64 {
	shift := (off - base) * 8
	mask := ^uint64(0)
	if size < 8 {
		mask = 1<<(uint(size)*8) - 1
	}
	return reg&^(mask<<shift) | (val&mask)<<shift
}

func (b *TestBus) clintRead(off uint64, size int) uint64 {
	switch {
	case off < 4:
		return window(uint64(b.msip), 0, off, size)
	case off >= clintMtimecmp && off < clintMtimecmp+8:
		return window(b.mtimecmp, clintMtimecmp, off, size)
	case off >= clintMtime && off < clintMtime+8:
		return window(b.Clock.Now(), clintMtime, off, size)
	}
	return 0
}

func (b *TestBus) clintWrite(off uint64, size int, val uint64) {
	switch {
	case off < 4:
		b.msip = uint32(merge(uint64(b.msip), 0, off, size, val)) & 1
		if b.Hart != nil {
			b.Hart.SetInterrupt(devices.MSIP, b.msip != 0)
		}
	case off >= clintMtimecmp && off < clintMtimecmp+8:
		b.mtimecmp = merge(b.mtimecmp, clintMtimecmp, off, size, val)
		if b.Hart != nil {
			b.Hart.SetMtimecmp(b.mtimecmp)
		}
	}
}
