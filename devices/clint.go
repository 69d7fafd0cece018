package devices

import (
	"fmt"
	"sync"

	"github.com/popek-vm/popek/vclock"
)

// CLINT is the SiFive core-local interruptor of QEMU's virt board: a
// software-interrupt bit per hart, each hart's mtimecmp and the shared
// mtime. mtimecmp itself lives in the hart (which raises MTIP), so the
// CLINT's only own state is the msip bits.
//
// Accesses are 32-bit or naturally aligned 64-bit; 64-bit registers take
// 32-bit halves separately. Other sizes and absent harts read zero.
type CLINT struct {
	mu    sync.Mutex
	harts []Hart
	clock *vclock.Clock
	msip  []bool
}

// CLINT register layout.
const (
	clintMSIPBase     = 0x0000 // 4 bytes per hart
	clintMtimecmpBase = 0x4000 // 8 bytes per hart
	clintMtime        = 0xbff8
)

// CLINTState is the CLINT's serialisable state. mtime is the VM clock's and
// mtimecmp each hart's, so they are saved with those.
type CLINTState struct {
	MSIP []bool // per hart
}

// NewCLINT returns a CLINT driving harts (index = hart ID) and reading
// mtime from clock.
func NewCLINT(harts []Hart, clock *vclock.Clock) *CLINT {
	return &CLINT{harts: harts, clock: clock, msip: make([]bool, len(harts))}
}

// Read implements Device.
func (c *CLINT) Read(off uint64, size int) uint64 {
	if !clintAccessOK(off, size) {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.readLane(off &^ 7)
	if size == 4 {
		return (v >> ((off & 4) * 8)) & 0xffffffff
	}
	return v
}

// Write implements Device.
func (c *CLINT) Write(off uint64, size int, val uint64) {
	if !clintAccessOK(off, size) {
		return
	}
	mask := ^uint64(0)
	if size == 4 {
		shift := (off & 4) * 8
		mask = 0xffffffff << shift
		val = (val & 0xffffffff) << shift
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeLane(off&^7, val, mask)
}

func clintAccessOK(off uint64, size int) bool {
	return (size == 4 || size == 8) && off%uint64(size) == 0
}

// readLane reads the aligned 64-bit lane at off.
func (c *CLINT) readLane(off uint64) uint64 {
	n := uint64(len(c.harts))
	switch {
	case off == clintMtime:
		return c.clock.Now()
	case off >= clintMtimecmpBase && off < clintMtimecmpBase+8*n:
		return c.harts[(off-clintMtimecmpBase)/8].Mtimecmp()
	case off < clintMSIPBase+4*n:
		i := (off - clintMSIPBase) / 4
		v := b2u(c.msip[i])
		if i+1 < n {
			v |= b2u(c.msip[i+1]) << 32
		}
		return v
	}
	return 0
}

// writeLane merges val into the bits of the aligned 64-bit lane at off that
// mask selects, so a 32-bit half write leaves the other half alone.
func (c *CLINT) writeLane(off, val, mask uint64) {
	n := uint64(len(c.harts))
	switch {
	case off == clintMtime:
		// mtime is one register shared by every hart (and rdtime), so a
		// write moves the VM clock. Harts sleeping on an mtimecmp deadline
		// computed before the write wake at the old host instant.
		c.clock.Set(c.clock.Now()&^mask | val&mask)
	case off >= clintMtimecmpBase && off < clintMtimecmpBase+8*n:
		h := c.harts[(off-clintMtimecmpBase)/8]
		h.SetMtimecmp(h.Mtimecmp()&^mask | val&mask) // one update: no transient value
	case off < clintMSIPBase+4*n:
		i := (off - clintMSIPBase) / 4
		if mask&0xffffffff != 0 {
			c.setMSIP(i, val&1 != 0)
		}
		if mask>>32 != 0 && i+1 < n {
			c.setMSIP(i+1, val>>32&1 != 0)
		}
	}
}

func (c *CLINT) setMSIP(i uint64, level bool) {
	c.msip[i] = level
	c.harts[i].SetInterrupt(MSIP, level)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// SaveState returns a copy of the CLINT's state.
func (c *CLINT) SaveState() CLINTState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CLINTState{MSIP: append([]bool(nil), c.msip...)}
}

// RestoreState replaces the msip bits and drives every hart's MSIP to match.
func (c *CLINT) RestoreState(s CLINTState) error {
	if len(s.MSIP) != len(c.harts) {
		return fmt.Errorf("clint: state has %d harts, machine has %d", len(s.MSIP), len(c.harts))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, level := range s.MSIP {
		c.setMSIP(uint64(i), level)
	}
	return nil
}
