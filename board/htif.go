package board

import (
	"sync/atomic"
	"time"
)

// htif watches the tohost word of bare-metal test programs (riscv-tests,
// riscv-arch-test): odd values from device 0 end the run with value>>1 as
// the exit code; device 1 command 1 prints a character.
type htif struct {
	toHost uint64 // guest-physical address, 0 when the ELF has no tohost
}

// htifTick is how often a watcher looks at tohost besides the harts' own
// looks after every run slice. It catches a write after which no slice
// ends: every hart sleeps in WFI with interrupts off, or is stopped.
const htifTick = time.Millisecond

// claimHTIF takes a pending tohost request and acknowledges it by clearing
// the word, so the guest may send the next one. The compare-and-swap makes
// each request go to exactly one of the goroutines polling.
func (m *Machine) claimHTIF() (uint64, bool) {
	p := (*uint64)(m.ram.Ptr(m.htif.toHost))
	v := atomic.LoadUint64(p)
	return v, v != 0 && atomic.CompareAndSwapUint64(p, v, 0)
}

// handleHTIF carries out a claimed request.
func (m *Machine) handleHTIF(v uint64) {
	dev, cmd := v>>56, v>>48&0xff
	switch {
	case dev == 0 && v&1 == 1:
		m.requestExit(ExitStatus{Kind: ExitToHost, Code: int(v << 16 >> 17)}, nil)
	case dev == 1 && cmd == 1:
		m.out.Write([]byte{byte(v)})
	}
}

// pollHTIF is a hart's look at tohost after its run slice, before it can
// park for a pause.
func (m *Machine) pollHTIF() {
	if v, ok := m.claimHTIF(); ok {
		m.handleHTIF(v)
	}
}

// watchHTIF polls tohost every htifTick until done is closed, but not
// while the machine is paused, when its RAM must not change.
func (m *Machine) watchHTIF(done <-chan struct{}) {
	t := time.NewTicker(htifTick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		// Claiming under mu orders the RAM write before any Pause that
		// follows; the request is handled after unlocking, since
		// requestExit takes mu and console output may block.
		m.mu.Lock()
		var v uint64
		ok := false
		if !m.pauseReq && m.exit == nil {
			v, ok = m.claimHTIF()
		}
		m.mu.Unlock()
		if ok {
			m.handleHTIF(v)
		}
	}
}
