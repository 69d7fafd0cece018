// Package sbi is the RISC-V Supervisor Binary Interface (spec v2.0) served by
// the VMM itself: when popek boots a kernel directly there is no M-mode
// firmware, and every S-mode ECALL arrives here as a hypercall.
//
// The package knows the SBI calling convention and the semantics of each
// extension; the board supplies the harts and machine-level actions through
// the Platform interface, so the logic is testable without a real hart.
package sbi

import (
	"sync/atomic"

	"github.com/popek-vm/popek/mem"
)

// Error is an SBI error code as returned in a0.
type Error int64

// SBI error codes (spec v2.0, table 1).
const (
	Success         Error = 0
	ErrFailed       Error = -1
	ErrNotSupported Error = -2
	ErrInvalidParam Error = -3
	ErrDenied       Error = -4
	ErrInvalidAddr  Error = -5
	ErrAlreadyAvail Error = -6
	ErrAlreadyStart Error = -7
	ErrAlreadyStop  Error = -8
	ErrNoShmem      Error = -9
)

// Extension IDs.
const (
	extLegacySetTimer     = 0x00
	extLegacyPutchar      = 0x01
	extLegacyGetchar      = 0x02
	extLegacyClearIPI     = 0x03
	extLegacySendIPI      = 0x04
	extLegacyFenceI       = 0x05
	extLegacySfenceVMA    = 0x06
	extLegacySfenceVMAASI = 0x07
	extLegacyShutdown     = 0x08
	extBase               = 0x10
	extTime               = 0x54494D45
	extIPI                = 0x735049
	extRFence             = 0x52464E43
	extHSM                = 0x48534D
	extSRST               = 0x53525354
	extPMU                = 0x504D55
	extDBCN               = 0x4442434E
)

// Identity reported by the BASE extension.
const (
	// SpecVersion is SBI v2.0: major in bits 30:24, minor in 23:0.
	SpecVersion = 2 << 24
	// ImplID is popek's SBI implementation ID: ASCII "popek". The SBI
	// registry assigns small numbers (0 BBL, 1 OpenSBI, ... 11 bhyve), so a
	// 40-bit value cannot collide with a registered implementation.
	ImplID = 0x706f70656b
	// ImplVersion is this implementation's version, 1.0.
	ImplVersion = 1 << 16
)

// HartState is an HSM hart state (spec v2.0, table 6).
type HartState int64

// HSM hart states.
const (
	HartStarted        HartState = 0
	HartStopped        HartState = 1
	HartStartPending   HartState = 2
	HartStopPending    HartState = 3
	HartSuspended      HartState = 4
	HartSuspendPending HartState = 5
	HartResumePending  HartState = 6
)

// ResetType is an SRST reset type.
type ResetType uint32

// SRST reset types.
const (
	ResetShutdown   ResetType = 0
	ResetColdReboot ResetType = 1
	ResetWarmReboot ResetType = 2
)

// Target is what the SBI does to a hart; *riscv.Hart implements it. Calls
// may come from another hart's goroutine.
type Target interface {
	SetSupervisorTimer(v uint64)
	SetInterrupt(bit uint, level bool)
	RequestFlushTLB()
	RequestFenceI()
}

// Platform is the machine around the harts. Hart IDs are 0..NumHarts()-1.
type Platform interface {
	NumHarts() int
	Hart(id uint64) Target
	// HartStart starts a STOPPED hart in S-mode at addr with a0=id,
	// a1=opaque; ErrAlreadyAvail when the hart is not STOPPED.
	HartStart(id, addr, opaque uint64) Error
	// HartStop parks the calling hart until it is started again.
	HartStop(caller uint64) Error
	HartStatus(id uint64) HartState
	// HartSuspend suspends the caller until an interrupt is pending. A
	// retentive suspend then returns from the ECALL; a non-retentive one
	// resumes in S-mode at resumeAddr with a0=caller, a1=opaque.
	HartSuspend(caller uint64, nonRetentive bool, resumeAddr, opaque uint64) Error
	// SystemReset powers the machine off or reboots it; the calling hart
	// is stopped and does not execute further guest instructions.
	SystemReset(kind ResetType, reason uint32)
	// ConsoleWrite writes to the console and returns the bytes accepted.
	ConsoleWrite(p []byte) int
	// ConsoleRead reads pending console input without blocking.
	ConsoleRead(p []byte) int
	// LoadUlong reads an XLEN word at a supervisor virtual address of the
	// caller (legacy calls pass hart masks by pointer).
	LoadUlong(caller, vaddr uint64) (uint64, bool)
	// AwaitFences returns once every hart in mask (bit i = hart i) other
	// than the caller has passed an instruction boundary, so the TLB and
	// instruction fences requested on it are in effect: a remote fence is
	// complete when the SBI call returns, as the spec requires and Linux
	// relies on before it reuses a page.
	AwaitFences(caller, mask uint64)
}

// Config selects the platform and the machine identity the SBI reports.
type Config struct {
	Platform Platform
	RAM      *mem.RAM
	// MVendorID, MArchID and MImpID are the harts' identification CSRs.
	MVendorID, MArchID, MImpID uint64
}

// SBI serves S-mode ECALLs for one machine. Safe for concurrent use by all
// harts: it holds no mutable state of its own.
type SBI struct {
	cfg   Config
	calls [numCallKinds]atomic.Uint64 // by callKind, for monitoring
}

// callKind buckets SBI calls by extension for the exit counters.
type callKind int

const (
	callLegacy callKind = iota
	callBase
	callTime
	callIPI
	callRFence
	callHSM
	callSRST
	callDBCN
	callOther
	numCallKinds
)

var callKindNames = [numCallKinds]string{"legacy", "base", "time", "ipi", "rfence", "hsm", "srst", "dbcn", "other"}

func kindOf(eid uint64) callKind {
	switch eid {
	case extBase:
		return callBase
	case extTime:
		return callTime
	case extIPI:
		return callIPI
	case extRFence:
		return callRFence
	case extHSM:
		return callHSM
	case extSRST:
		return callSRST
	case extDBCN:
		return callDBCN
	}
	if eid <= extLegacyShutdown {
		return callLegacy
	}
	return callOther
}

// Calls returns how many SBI calls (hypercalls) each extension has served.
// Safe from any goroutine.
func (s *SBI) Calls() map[string]uint64 {
	out := make(map[string]uint64, numCallKinds)
	for k := range s.calls {
		if n := s.calls[k].Load(); n != 0 {
			out[callKindNames[k]] = n
		}
	}
	return out
}

// New returns the SBI for a machine.
func New(cfg Config) *SBI { return &SBI{cfg: cfg} }

// Result is what an ECALL returns: a0 and, for non-legacy calls, a1.
type Result struct {
	A0, A1 uint64
	SetA1  bool
}

func ret(err Error, val uint64) Result {
	return Result{A0: uint64(err), A1: val, SetA1: true}
}

func legacyRet(v int64) Result { return Result{A0: uint64(v)} }

// Call handles one ECALL from hart caller; a holds a0..a7 (a7 = EID,
// a6 = FID).
func (s *SBI) Call(caller uint64, a *[8]uint64) Result {
	eid, fid := a[7], a[6]
	s.calls[kindOf(eid)].Add(1)
	switch eid {
	case extBase:
		return s.base(fid, a)
	case extTime:
		return s.time(caller, fid, a)
	case extIPI:
		return s.ipi(fid, a)
	case extRFence:
		return s.rfence(caller, fid, a)
	case extHSM:
		return s.hsm(caller, fid, a)
	case extSRST:
		return s.srst(fid, a)
	case extDBCN:
		return s.dbcn(fid, a)
	}
	if eid <= extLegacyShutdown {
		return s.legacy(caller, eid, a)
	}
	return ret(ErrNotSupported, 0)
}

// supported reports whether probe_extension should answer available.
func supported(eid uint64) bool {
	switch eid {
	case extBase, extTime, extIPI, extRFence, extHSM, extSRST, extDBCN:
		return true
	}
	return eid <= extLegacyShutdown
}
