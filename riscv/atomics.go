package riscv

import (
	"sync/atomic"
	"unsafe"
)

// The A extension. All RAM accesses use host atomics on the mmapped guest
// RAM so that harts on other goroutines see them atomically. SC is a
// compare-and-swap against the value LR loaded, as QEMU does. AMOs and
// LR/SC on anything but RAM raise access faults.

// amoPtr returns the host pointer for an aligned atomic access of size
// bytes at va. store selects the store/AMO permission and fault causes.
func (h *Hart) amoPtr(va, size uint64, store bool) (unsafe.Pointer, int) {
	if va&(size-1) != 0 {
		if store {
			h.fail(excStoreMisaligned, va)
		} else {
			h.fail(excLoadMisaligned, va)
		}
		return nil, storeFail
	}
	tag := va &^ pageMask
	arr := h.ld
	if store {
		arr = h.st
	}
	if e := &arr[(va>>pageShift)&tlbMask]; e.tag == tag {
		return unsafe.Add(h.ramPtr, va+e.add), storeOK
	}
	h.stats.TLBMisses++
	acc := accLoad
	if store {
		acc = accStore
	}
	pa, ok := h.dataPA(va, size, acc)
	if !ok {
		return nil, storeFail
	}
	if !h.inRAM(pa, size) {
		h.fail(accessFaultCause(acc), va)
		return nil, storeFail
	}
	res := storeOK
	if store && h.noteRAMWrite(pa, size) {
		res = storeExit
	}
	return unsafe.Add(h.ramPtr, pa-h.ramBase), res
}

// execAMO executes an LR, SC or AMO at va (already computed from rs1).
func (h *Hart) execAMO(in *inst, va uint64) int {
	word := in.op < opLRD
	size := uint64(8)
	op := in.op
	if word {
		size = 4
	} else {
		op -= opLRD - opLRW
	}
	p, res := h.amoPtr(va, size, op != opLRW)
	if res == storeFail {
		return res
	}
	src := h.X[in.rs2&31]
	var old uint64
	switch op {
	case opLRW:
		if word {
			old = uint64(int32(atomic.LoadUint32((*uint32)(p))))
		} else {
			old = atomic.LoadUint64((*uint64)(p))
		}
		h.resValid, h.resAddr, h.resVal, h.resWord = true, h.hostToPA(p), old, word
	case opSCW:
		old = 1
		if h.resValid && h.resAddr == h.hostToPA(p) && h.resWord == word {
			var ok bool
			if word {
				ok = atomic.CompareAndSwapUint32((*uint32)(p), uint32(h.resVal), uint32(src))
			} else {
				ok = atomic.CompareAndSwapUint64((*uint64)(p), h.resVal, src)
			}
			if ok {
				old = 0
			}
		}
		h.resValid = false
	default:
		if word {
			old = uint64(int32(amo32((*uint32)(p), uint32(src), op)))
		} else {
			old = amo64((*uint64)(p), src, op)
		}
	}
	h.X[in.rd&31] = old
	h.X[0] = 0
	return res
}

// hostToPA converts a host pointer into guest RAM back to its address.
func (h *Hart) hostToPA(p unsafe.Pointer) uint64 {
	return uint64(uintptr(p)-uintptr(h.ramPtr)) + h.ramBase
}

// amo32 applies a read-modify-write AMO (the .W opcode) and returns the
// old value.
func amo32(p *uint32, v uint32, op opcode) uint32 {
	switch op {
	case opAMOSWAPW:
		return atomic.SwapUint32(p, v)
	case opAMOADDW:
		return atomic.AddUint32(p, v) - v
	case opAMOANDW:
		return atomic.AndUint32(p, v)
	case opAMOORW:
		return atomic.OrUint32(p, v)
	}
	for {
		old := atomic.LoadUint32(p)
		var n uint32
		switch op {
		case opAMOXORW:
			n = old ^ v
		case opAMOMINW:
			n = old
			if int32(v) < int32(old) {
				n = v
			}
		case opAMOMAXW:
			n = old
			if int32(v) > int32(old) {
				n = v
			}
		case opAMOMINUW:
			n = min(old, v)
		default: // opAMOMAXUW
			n = max(old, v)
		}
		if atomic.CompareAndSwapUint32(p, old, n) {
			return old
		}
	}
}

// amo64 is amo32 for the .D forms (op is given as the .W opcode).
func amo64(p *uint64, v uint64, op opcode) uint64 {
	switch op {
	case opAMOSWAPW:
		return atomic.SwapUint64(p, v)
	case opAMOADDW:
		return atomic.AddUint64(p, v) - v
	case opAMOANDW:
		return atomic.AndUint64(p, v)
	case opAMOORW:
		return atomic.OrUint64(p, v)
	}
	for {
		old := atomic.LoadUint64(p)
		var n uint64
		switch op {
		case opAMOXORW:
			n = old ^ v
		case opAMOMINW:
			n = old
			if int64(v) < int64(old) {
				n = v
			}
		case opAMOMAXW:
			n = old
			if int64(v) > int64(old) {
				n = v
			}
		case opAMOMINUW:
			n = min(old, v)
		default: // opAMOMAXUW
			n = max(old, v)
		}
		if atomic.CompareAndSwapUint64(p, old, n) {
			return old
		}
	}
}
