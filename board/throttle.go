package board

import "github.com/popek-vm/popek/riscv"

// SliceHook is called on a hart's own goroutine after every run slice, with
// the hart index and the instructions it retired in that slice. A VMM uses
// it to account host CPU time and to duty-cycle the hart (CPU caps and
// weights) by blocking. The machine cannot finish a Pause or Close while a
// hook blocks, so a hook must return promptly when its VMM asks it to.
type SliceHook func(hart int, retired uint64)

// runThrottled runs one slice of hart i and then calls the slice hook.
func (m *Machine) runThrottled(i int, h *riscv.Hart) {
	n := h.Run(runSlice)
	m.leftRun(i)
	if m.cfg.Throttle != nil {
		m.cfg.Throttle(i, n)
	}
}
