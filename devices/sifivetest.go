package devices

// SiFiveTest is the SiFive test finisher ("sifive,test1", used as syscon by
// Linux's syscon-poweroff/syscon-reboot and by OpenSBI) of QEMU's virt
// board. A write to offset 0 whose low 16 bits are a command ends or resets
// the machine; reads are zero. 16-bit writes carry no exit code.
type SiFiveTest struct {
	onExit func(kind ExitKind, code int)
}

// ExitKind is what the guest asked the finisher for.
type ExitKind int

const (
	ExitPoweroff ExitKind = iota // 0x5555: power off, success
	ExitReset                    // 0x7777: reboot
	ExitFail                     // 0x3333 | code<<16: power off with an exit code
)

// Finisher command codes (low 16 bits of the write).
const (
	finisherFail  = 0x3333
	finisherPass  = 0x5555
	finisherReset = 0x7777
)

func (k ExitKind) String() string {
	switch k {
	case ExitPoweroff:
		return "poweroff"
	case ExitReset:
		return "reset"
	case ExitFail:
		return "fail"
	}
	return "unknown"
}

// SiFiveTestState is the finisher's serialisable state: it has none, the
// type exists so the board can save every device the same way.
type SiFiveTestState struct{}

// NewSiFiveTest returns a finisher that reports guest requests to onExit.
// onExit runs on the goroutine of the hart that wrote, so it must not wait
// for that hart to stop.
func NewSiFiveTest(onExit func(kind ExitKind, code int)) *SiFiveTest {
	return &SiFiveTest{onExit: onExit}
}

// Read implements Device.
func (t *SiFiveTest) Read(off uint64, size int) uint64 { return 0 }

// Write implements Device.
func (t *SiFiveTest) Write(off uint64, size int, val uint64) {
	if off != 0 || size < 2 || t.onExit == nil {
		return
	}
	if size == 2 {
		val &= 0xffff
	}
	code := int(val >> 16 & 0xffff)
	switch val & 0xffff {
	case finisherPass:
		t.onExit(ExitPoweroff, 0)
	case finisherReset:
		t.onExit(ExitReset, 0)
	case finisherFail:
		t.onExit(ExitFail, code)
	}
}

// SaveState returns the (empty) state.
func (t *SiFiveTest) SaveState() SiFiveTestState { return SiFiveTestState{} }

// RestoreState accepts the (empty) state.
func (t *SiFiveTest) RestoreState(SiFiveTestState) error { return nil }
