package isatest

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/riscv"
	"github.com/popek-vm/popek/vclock"
)

const (
	ramBase = 0x80000000
	ramSize = 16 << 20
	// runSlice is how many instructions run between tohost checks.
	runSlice = 1 << 20
	// maxInsns bounds a program that never finishes (a hart bug); the
	// wall-clock guard below catches one sleeping in WFI forever.
	maxInsns  = 400 << 20
	wallGuard = 60 * time.Second
)

// hartResult is the outcome of a program on popek's hart.
type hartResult struct {
	finished bool
	passed   bool
	code     uint64 // failing case number when !passed
	reason   string // why it did not finish
	uart     string
	retired  uint64
	pc       uint64
	priv     riscv.Priv
	ram      *mem.RAM
	img      *Image
}

func (r *hartResult) word(addr uint64) uint64 {
	b, ok := r.ram.Slice(addr, 8)
	if !ok {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// failRegs returns the registers the runtime saved on entry to fail.
func (r *hartResult) failRegs() ([32]uint64, bool) {
	var regs [32]uint64
	a, err := r.img.Symbol("failregs")
	if err != nil {
		return regs, false
	}
	for i := range regs {
		regs[i] = r.word(a + 8*uint64(i))
	}
	return regs, true
}

// runOnHart loads elfPath into fresh RAM and runs it on a new hart with the
// test bus until the program writes tohost (or the finisher), or a guard
// trips. The caller closes res.ram.
func runOnHart(elfPath string) (*hartResult, error) {
	ram, err := mem.New(ramBase, ramSize)
	if err != nil {
		return nil, err
	}
	img, err := LoadELF(elfPath, ram)
	if err != nil {
		ram.Close()
		return nil, err
	}
	tohost, err := img.Symbol("tohost")
	if err != nil {
		ram.Close()
		return nil, err
	}
	clock := vclock.New()
	bus := NewTestBus(clock)
	h := riscv.New(riscv.Config{HartID: 0, RAM: ram, Bus: bus, Clock: clock})
	bus.Hart = h
	bus.OnFinish = h.Stop
	h.Reset(img.Entry)
	// Like QEMU's reset ROM: a0 = hart id, a1 = device tree (none here).
	h.X[10], h.X[11] = 0, 0

	res := &hartResult{ram: ram, img: img}
	var timedOut atomic.Bool
	guard := time.AfterFunc(wallGuard, func() { timedOut.Store(true); h.Stop() })
	defer guard.Stop()
	for {
		res.retired += h.Run(runSlice)
		if v := res.word(tohost); v != 0 {
			res.finished = true
			res.passed = v == 1
			res.code = v >> 1
			break
		}
		if fin, pass, code := bus.Finished(); fin {
			res.finished, res.passed, res.code = true, pass, uint64(code)
			break
		}
		if timedOut.Load() {
			res.reason = fmt.Sprintf("no result after %v (hung, e.g. in WFI)", wallGuard)
			break
		}
		if res.retired >= maxInsns {
			res.reason = fmt.Sprintf("no result after %d instructions", res.retired)
			break
		}
		h.ClearStop()
	}
	res.uart = bus.UART()
	res.pc = h.PC
	res.priv = h.Priv()
	return res, nil
}
