package devices

import (
	"fmt"
	"math/bits"
	"sync"
)

// PLIC is the RISC-V platform-level interrupt controller of QEMU's virt
// board: level-triggered sources 1..nsources-1 (0 is reserved), 3-bit
// priorities, and two contexts per hart: 2*i drives hart i's MEIP, 2*i+1
// its SEIP. Registers are 32-bit; other access sizes read zero.
//
// The gateway is modelled by the claimed bits: a source is pending while
// its line is high and it is not claimed, so after a claim it cannot be
// pending again until completed, and a line still high at completion makes
// it pending at once.
type PLIC struct {
	mu        sync.Mutex
	harts     []Hart
	nsources  int
	words     int      // 32-bit words per source bitmap
	priority  []uint32 // per source
	level     []uint32 // bitmap: source line is high
	claimed   []uint32 // bitmap: claimed, not yet completed
	enable    []uint32 // words per context, contexts back to back
	threshold []uint32 // per context
	out       []bool   // per context: level last driven on the hart
}

// PLIC register layout.
const (
	plicPriorityBase  = 0x000000
	plicPendingBase   = 0x001000
	plicEnableBase    = 0x002000
	plicEnableStride  = 0x80
	plicContextBase   = 0x200000
	plicContextStride = 0x1000
	plicClaim         = 4 // within a context: threshold at 0, claim/complete at 4

	plicMaxSources   = 1024
	plicPriorityMask = 7 // 3 priority bits, as on QEMU virt
)

// PLICState is the PLIC's serialisable state.
type PLICState struct {
	NumSources int
	Priority   []uint32   // per source
	Level      []uint32   // bitmap of lines held high
	Claimed    []uint32   // bitmap of claimed sources
	Enable     [][]uint32 // per context, a source bitmap
	Threshold  []uint32   // per context
}

// NewPLIC returns a PLIC with nsources sources (including reserved source
// 0; clamped to 1..1024) and two contexts for each of harts.
func NewPLIC(harts []Hart, nsources int) *PLIC {
	nsources = max(1, min(nsources, plicMaxSources))
	words := (nsources + 31) / 32
	nctx := 2 * len(harts)
	return &PLIC{
		harts:     harts,
		nsources:  nsources,
		words:     words,
		priority:  make([]uint32, nsources),
		level:     make([]uint32, words),
		claimed:   make([]uint32, words),
		enable:    make([]uint32, words*nctx),
		threshold: make([]uint32, nctx),
		out:       make([]bool, nctx),
	}
}

// plicSource is one PLIC input line.
type plicSource struct {
	p *PLIC
	n int
}

func (s plicSource) SetLevel(high bool) { s.p.setLevel(s.n, high) }

// Source returns the line a device drives for source n. Source 0 and
// numbers beyond the PLIC's are wired to nothing.
func (p *PLIC) Source(n int) IRQ {
	if n <= 0 || n >= p.nsources {
		return noIRQ{}
	}
	return plicSource{p, n}
}

func (p *PLIC) setLevel(n int, high bool) {
	w, bit := n/32, uint32(1)<<(n%32)
	p.mu.Lock()
	defer p.mu.Unlock()
	if (p.level[w]&bit != 0) == high {
		return
	}
	p.level[w] ^= bit
	p.update()
}

// Read implements Device.
func (p *PLIC) Read(off uint64, size int) uint64 {
	if size != 4 || off%4 != 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	nctx := uint64(len(p.threshold))
	switch {
	case off < plicPendingBase:
		if src := off / 4; src < uint64(p.nsources) {
			return uint64(p.priority[src])
		}
	case off < plicEnableBase:
		if w := (off - plicPendingBase) / 4; w < uint64(p.words) {
			return uint64(p.pending(int(w)))
		}
	case off < plicContextBase:
		ctx, w := (off-plicEnableBase)/plicEnableStride, (off-plicEnableBase)%plicEnableStride/4
		if ctx < nctx && w < uint64(p.words) {
			return uint64(p.enable[ctx*uint64(p.words)+w])
		}
	default:
		ctx, reg := (off-plicContextBase)/plicContextStride, (off-plicContextBase)%plicContextStride
		if ctx >= nctx {
			return 0
		}
		switch reg {
		case 0:
			return uint64(p.threshold[ctx])
		case plicClaim:
			return uint64(p.claim(int(ctx)))
		}
	}
	return 0
}

// Write implements Device. Pending bits are read-only.
func (p *PLIC) Write(off uint64, size int, val uint64) {
	if size != 4 || off%4 != 0 {
		return
	}
	v := uint32(val)
	p.mu.Lock()
	defer p.mu.Unlock()
	nctx := uint64(len(p.threshold))
	switch {
	case off < plicPendingBase:
		// Source 0 has no priority register.
		if src := off / 4; src > 0 && src < uint64(p.nsources) {
			p.priority[src] = v & plicPriorityMask
			p.update()
		}
	case off < plicEnableBase:
	case off < plicContextBase:
		ctx, w := (off-plicEnableBase)/plicEnableStride, (off-plicEnableBase)%plicEnableStride/4
		if ctx < nctx && w < uint64(p.words) {
			p.enable[ctx*uint64(p.words)+w] = v & p.validSources(int(w))
			p.update()
		}
	default:
		ctx, reg := (off-plicContextBase)/plicContextStride, (off-plicContextBase)%plicContextStride
		if ctx >= nctx {
			return
		}
		switch reg {
		case 0:
			p.threshold[ctx] = v & plicPriorityMask
			p.update()
		case plicClaim:
			p.complete(int(ctx), v)
		}
	}
}

// validSources masks bitmap word w to the sources that exist.
func (p *PLIC) validSources(w int) uint32 {
	m := ^uint32(0)
	if w == 0 {
		m &^= 1 // source 0 is reserved
	}
	if rest := p.nsources - 32*w; rest < 32 {
		m &= uint32(1)<<rest - 1
	}
	return m
}

func (p *PLIC) pending(w int) uint32 { return p.level[w] &^ p.claimed[w] }

// best returns the pending source enabled for ctx with the highest priority
// above its threshold, the lowest-numbered on ties, or 0 if none.
func (p *PLIC) best(ctx int) int {
	src, prio := 0, p.threshold[ctx]
	en := p.enable[ctx*p.words : (ctx+1)*p.words]
	for w, e := range en {
		for m := p.pending(w) & e; m != 0; m &= m - 1 {
			n := 32*w + bits.TrailingZeros32(m)
			if p.priority[n] > prio {
				src, prio = n, p.priority[n]
			}
		}
	}
	return src
}

func (p *PLIC) claim(ctx int) uint32 {
	src := p.best(ctx)
	if src != 0 {
		p.claimed[src/32] |= 1 << (src % 32)
		p.update()
	}
	return uint32(src)
}

// complete ends a claim. IDs not claimed, or not enabled for the context,
// are ignored as the PLIC spec says.
func (p *PLIC) complete(ctx int, id uint32) {
	if id == 0 || id >= uint32(p.nsources) {
		return
	}
	w, bit := id/32, uint32(1)<<(id%32)
	if p.claimed[w]&bit == 0 || p.enable[ctx*p.words+int(w)]&bit == 0 {
		return
	}
	p.claimed[w] &^= bit
	p.update()
}

// update drives each context's hart line whose level changed.
func (p *PLIC) update() {
	for ctx := range p.out {
		if level := p.best(ctx) != 0; level != p.out[ctx] {
			p.out[ctx] = level
			p.drive(ctx)
		}
	}
}

func (p *PLIC) drive(ctx int) {
	bit := uint(MEIP)
	if ctx%2 == 1 {
		bit = SEIP
	}
	p.harts[ctx/2].SetInterrupt(bit, p.out[ctx])
}

// SaveState returns a copy of the PLIC's state.
func (p *PLIC) SaveState() PLICState {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PLICState{
		NumSources: p.nsources,
		Priority:   append([]uint32(nil), p.priority...),
		Level:      append([]uint32(nil), p.level...),
		Claimed:    append([]uint32(nil), p.claimed...),
		Enable:     make([][]uint32, len(p.threshold)),
		Threshold:  append([]uint32(nil), p.threshold...),
	}
	for ctx := range s.Enable {
		s.Enable[ctx] = append([]uint32(nil), p.enable[ctx*p.words:(ctx+1)*p.words]...)
	}
	return s
}

// RestoreState replaces the PLIC's state and drives every context's line.
func (p *PLIC) RestoreState(s PLICState) error {
	nctx := len(p.threshold)
	switch {
	case s.NumSources != p.nsources:
		return fmt.Errorf("plic: state has %d sources, machine has %d", s.NumSources, p.nsources)
	case len(s.Priority) != p.nsources || len(s.Level) != p.words || len(s.Claimed) != p.words:
		return fmt.Errorf("plic: source arrays do not match %d sources", p.nsources)
	case len(s.Enable) != nctx || len(s.Threshold) != nctx:
		return fmt.Errorf("plic: state has %d/%d contexts, machine has %d", len(s.Enable), len(s.Threshold), nctx)
	}
	for ctx, e := range s.Enable {
		if len(e) != p.words {
			return fmt.Errorf("plic: context %d enable bitmap has %d words, want %d", ctx, len(e), p.words)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, v := range s.Priority {
		p.priority[i] = v & plicPriorityMask
	}
	p.priority[0] = 0
	for w := range p.words {
		valid := p.validSources(w)
		p.level[w] = s.Level[w] & valid
		p.claimed[w] = s.Claimed[w] & valid
		for ctx := range nctx {
			p.enable[ctx*p.words+w] = s.Enable[ctx][w] & valid
		}
	}
	for ctx := range nctx {
		p.threshold[ctx] = s.Threshold[ctx] & plicPriorityMask
		p.out[ctx] = p.best(ctx) != 0
		p.drive(ctx)
	}
	return nil
}
