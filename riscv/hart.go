package riscv

import (
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/vclock"
)

// Priv is a privilege mode as encoded in mstatus.MPP.
type Priv uint8

// Privilege modes.
const (
	PrivU Priv = 0
	PrivS Priv = 1
	PrivM Priv = 3
)

// Hart is one RV64GC processor (M, S and U modes, Sv39/48/57, Sstc).
//
// Run executes on one goroutine. The exported register files may be used by
// the SBI handler (which runs on that goroutine) or while Run is not
// executing; X[0] must stay zero. SetInterrupt, SetMtimecmp, Mtimecmp,
// SetSupervisorTimer, Stop, ClearStop, RequestFlushTLB and RequestFenceI are
// safe from any goroutine; everything else belongs to the Run goroutine or
// to a stopped hart.
//
// Dirty tracking: the hart marks a RAM page dirty when it enters the page
// into its store TLB and on every store that bypasses the TLB, so stores
// through a cached entry are not marked again. To collect dirty pages while
// harts run, stop them, call mem.RAM.TakeDirty, call RequestFlushTLB on
// every hart, and let them run again: the flush is applied before their next
// instruction, to every address space the hart caches, and their next store
// to each page marks it.
//
// The fast paths access guest RAM through host pointers in host byte order,
// so the host must be little-endian (amd64, arm64, riscv64...).
type Hart struct {
	X  [32]uint64
	F  [32]uint64
	PC uint64

	priv Priv

	hartID uint64
	ram    *mem.RAM
	bus    Bus
	clock  *vclock.Clock
	sbi    SBI

	// Guest RAM as seen by the fast paths: ramPtr is guest-physical ramBase.
	ramPtr  unsafe.Pointer
	ramBase uint64
	ramSize uint64

	csr      csrFile
	counters counterFile
	pmp      pmpUnit

	// LR/SC reservation: the aligned address and the value LR loaded, for
	// the compare-and-swap that implements SC.
	resValid bool
	resAddr  uint64
	resVal   uint64
	resWord  bool // the LR was LR.W

	// Software TLB: one set per translation context, the translated ones
	// per address space (tlb.go); fe/ld/st point into the set of the
	// current fetch and data context in the current address space.
	tlbM       tlbSet
	spaces     [numAS]addrSpace
	cur        *addrSpace
	asClock    uint64
	fe, ld, st *tlbArray
	// stPages has a bit for every RAM page that may have a store TLB
	// entry, so that a page becoming code is searched for only if needed.
	stPages  []uint64
	dataCtx  int
	fetchCtx int

	// Decoded-block cache, keyed by guest-physical address.
	blocks blockCache

	// Pending exception details set by slow paths before they fail.
	exc excInfo

	// Timer bits (MTIP, STIP from comparators) as last evaluated.
	timerBits uint64
	// sysRetired reports whether the last system instruction retired.
	sysRetired bool
	// waiting is true between a WFI and the wake-up condition.
	waiting bool

	// Cross-goroutine state. attn asks the run loop to leave the fast path
	// at the next block boundary; the other fields say why.
	attn     atomic.Uint32
	stop     atomic.Bool
	ext      atomic.Uint64 // externally driven mip bits (MSIP, SEIP, MEIP)
	ssipReq  atomic.Uint32 // ssipSet or ssipClear from SetInterrupt
	mtimecmp atomic.Uint64
	sbiTimer atomic.Uint64
	wake     chan struct{}
	asleep   atomic.Bool // blocked in WFI (observable by other goroutines)
	sleepT   *time.Timer

	stats Stats
	// traps counts every trap taken; Run charges them to its budget.
	traps uint64
	// memOps counts executed loads/stores so that TLB hits need no counter
	// on the fast path (hits = memOps - misses).
	memOps      uint64
	fetchHits   uint64 // fetch TLB hits (one per block lookup)
	fetchMisses uint64
}

// Attention reasons, OR'ed into Hart.attn.
const (
	attnStop uint32 = 1 << iota
	attnIRQ
	attnFlushTLB
	attnFenceI
	attnTimer
)

// SSIP requests from other goroutines.
const (
	ssipSet   = 1
	ssipClear = 2
)

// New creates a hart in its reset state with PC 0; call Reset to choose
// the reset vector.
func New(cfg Config) *Hart {
	h := &Hart{
		hartID: cfg.HartID,
		ram:    cfg.RAM,
		bus:    cfg.Bus,
		clock:  cfg.Clock,
		sbi:    cfg.SBI,
		wake:   make(chan struct{}, 1),
	}
	if h.clock == nil {
		h.clock = vclock.New()
	}
	if h.ram != nil && h.ram.Size() > 0 {
		h.ramPtr = h.ram.Ptr(h.ram.Base())
		h.ramBase = h.ram.Base()
		h.ramSize = h.ram.Size()
	}
	h.blocks.init(h.ramSize)
	h.stPages = make([]uint64, len(h.blocks.code))
	h.cur = &h.spaces[0]
	h.tlbM.forget()
	for i := range h.spaces {
		for j := range h.spaces[i].sets {
			h.spaces[i].sets[j].forget()
		}
	}
	h.sleepT = time.NewTimer(time.Hour)
	h.sleepT.Stop()
	h.Reset(0)
	return h
}

// Reset performs a power-on reset: M-mode, every CSR at its reset value,
// registers cleared, caches flushed, PC = pc.
func (h *Hart) Reset(pc uint64) {
	h.X = [32]uint64{}
	h.F = [32]uint64{}
	h.PC = pc
	h.priv = PrivM
	h.csr = csrFile{}
	h.csr.mstatus = mstatusReset
	h.counters = counterFile{}
	h.pmp = pmpUnit{}
	h.resValid = false
	h.timerBits = 0
	h.waiting = false
	h.ext.Store(0)
	h.ssipReq.Store(0)
	h.mtimecmp.Store(^uint64(0))
	h.sbiTimer.Store(^uint64(0))
	h.csr.stimecmp = ^uint64(0)
	h.flushTLB()
	h.blocks.flushAll()
	h.updateContext()
	h.attn.Or(attnIRQ)
}

// Priv returns the current privilege mode.
func (h *Hart) Priv() Priv { return h.priv }

// SetPriv sets the privilege mode directly (the board enters a kernel in
// S-mode this way). Values other than U, S and M are ignored.
func (h *Hart) SetPriv(p Priv) {
	if p != PrivU && p != PrivS && p != PrivM {
		return
	}
	h.priv = p
	h.updateContext()
	h.attn.Or(attnIRQ)
}

// HartID returns the mhartid of this hart.
func (h *Hart) HartID() uint64 { return h.hartID }

// Stop makes Run return at the next block boundary, or wakes it from WFI.
// Safe from any goroutine; it stays in effect until ClearStop.
func (h *Hart) Stop() {
	h.stop.Store(true)
	h.kick(attnStop)
}

// ClearStop cancels a Stop so that Run executes again.
func (h *Hart) ClearStop() { h.stop.Store(false) }

// kick records an event for the run loop and wakes a sleeping WFI.
func (h *Hart) kick(reason uint32) {
	h.attn.Or(reason)
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// RequestFlushTLB asks the hart to perform a full SFENCE.VMA at its next
// instruction boundary. Safe from any goroutine.
func (h *Hart) RequestFlushTLB() { h.kick(attnFlushTLB) }

// RequestFenceI asks the hart to drop its decoded instructions at its next
// instruction boundary. Safe from any goroutine.
func (h *Hart) RequestFenceI() { h.kick(attnFenceI) }

// excInfo describes the exception a failed slow path wants raised.
type excInfo struct {
	cause uint64
	tval  uint64
}

// fail records an exception for the caller to raise and returns false.
func (h *Hart) fail(cause, tval uint64) bool {
	h.exc = excInfo{cause: cause, tval: tval}
	return false
}
