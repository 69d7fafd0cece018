package board

import (
	"sync/atomic"
)

// htif watches the tohost word of bare-metal test programs (riscv-tests,
// riscv-arch-test): odd values from device 0 end the run with value>>1 as
// the exit code; device 1 command 1 prints a character.
type htif struct {
	toHost uint64 // guest-physical address, 0 when the ELF has no tohost
}

func (m *Machine) pollHTIF() {
	p := (*uint64)(m.ram.Ptr(m.htif.toHost))
	v := atomic.LoadUint64(p)
	if v == 0 {
		return
	}
	dev, cmd := v>>56, v>>48&0xff
	switch {
	case dev == 0 && v&1 == 1:
		m.requestExit(ExitStatus{Kind: ExitToHost, Code: int(v << 16 >> 17)}, nil)
	case dev == 1 && cmd == 1:
		m.out.Write([]byte{byte(v)})
	}
	// Acknowledge so the guest may send the next request.
	atomic.StoreUint64(p, 0)
}
