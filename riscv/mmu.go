package riscv

import (
	"sync/atomic"
	"unsafe"
)

// PTE bits.
const (
	pteV = 1 << 0
	pteR = 1 << 1
	pteW = 1 << 2
	pteX = 1 << 3
	pteU = 1 << 4
	pteG = 1 << 5
	pteA = 1 << 6
	pteD = 1 << 7

	ptePPNShift = 10
	ptePPNMask  = 1<<44 - 1
	// Bits 63:54 (N, PBMT and reserved): Svnapot and Svpbmt are not
	// implemented, so any of them set makes the PTE invalid.
	pteReservedShift = 54
)

func pageFaultCause(acc access) uint64 {
	switch acc {
	case accFetch:
		return excInstPage
	case accLoad:
		return excLoadPage
	}
	return excStorePage
}

func accessFaultCause(acc access) uint64 {
	switch acc {
	case accFetch:
		return excInstAccess
	case accLoad:
		return excLoadAccess
	}
	return excStoreAccess
}

// translate maps va for an access of kind acc at privilege priv, walking the
// page table when satp asks for it. It returns the physical address and the
// size of the page that maps it (for the TLB). On failure it records the
// exception in h.exc and returns ok=false.
func (h *Hart) translate(va uint64, acc access, priv Priv) (pa, pageBytes uint64, ok bool) {
	mode := h.csr.satp >> satpModeShift
	if priv == PrivM || mode == satpBare {
		return va, pageSize, true
	}
	levels := int(mode) - satpSv39 + 3
	vaBits := uint(pageShift + 9*levels)
	if uint64(int64(va<<(64-vaBits))>>(64-vaBits)) != va {
		return 0, 0, h.fail(pageFaultCause(acc), va)
	}
	mxr := h.csr.mstatus&msMXR != 0
	sum := h.csr.mstatus&msSUM != 0
walk:
	a := (h.csr.satp & satpPPNMask) << pageShift
	for i := levels - 1; i >= 0; i-- {
		pteAddr := a + ((va>>(pageShift+9*uint(i)))&0x1ff)*8
		if !h.ptAccessOK(pteAddr, accLoad) {
			return 0, 0, h.fail(accessFaultCause(acc), va)
		}
		p := h.ptePtr(pteAddr)
		pte := atomic.LoadUint64(p)
		if pte&pteV == 0 || (pte&pteR == 0 && pte&pteW != 0) || pte>>pteReservedShift != 0 {
			return 0, 0, h.fail(pageFaultCause(acc), va)
		}
		if pte&(pteR|pteX) == 0 {
			// Pointer to the next level; D, A and U are reserved here.
			if pte&(pteD|pteA|pteU) != 0 {
				break
			}
			a = ((pte >> ptePPNShift) & ptePPNMask) << pageShift
			continue
		}
		if !leafAllows(pte, acc, priv, sum, mxr) {
			break
		}
		shift := uint(pageShift + 9*i)
		ppn := (pte >> ptePPNShift) & ptePPNMask
		if i > 0 && ppn&(1<<(9*uint(i))-1) != 0 {
			break // misaligned superpage
		}
		if pte&pteA == 0 || (acc == accStore && pte&pteD == 0) {
			// Hardware A/D update, atomic against other harts' walks and
			// stores: if the PTE changed under us, walk again.
			if !h.ptAccessOK(pteAddr, accStore) {
				return 0, 0, h.fail(accessFaultCause(acc), va)
			}
			upd := pte | pteA
			if acc == accStore {
				upd |= pteD
			}
			if !atomic.CompareAndSwapUint64(p, pte, upd) {
				goto walk
			}
			h.noteRAMWrite(pteAddr, 8)
		}
		size := uint64(1) << shift
		return ppn<<pageShift&^(size-1) | va&(size-1), size, true
	}
	return 0, 0, h.fail(pageFaultCause(acc), va)
}

// leafAllows applies the R/W/X/U permission rules of a leaf PTE.
func leafAllows(pte uint64, acc access, priv Priv, sum, mxr bool) bool {
	if priv == PrivU {
		if pte&pteU == 0 {
			return false
		}
	} else if pte&pteU != 0 {
		// S-mode never executes user pages and touches their data only
		// with SUM.
		if acc == accFetch || !sum {
			return false
		}
	}
	switch acc {
	case accFetch:
		return pte&pteX != 0
	case accLoad:
		return pte&pteR != 0 || (mxr && pte&pteX != 0)
	}
	return pte&pteW != 0
}

// ptAccessOK checks that a page-table access at pa hits RAM and passes PMP
// (page-table walks are S-mode accesses).
func (h *Hart) ptAccessOK(pa uint64, acc access) bool {
	return h.inRAM(pa, 8) && h.pmp.check(pa, 8, PrivS, acc)
}

// ptePtr returns the host pointer to the 8-byte-aligned RAM word at pa.
func (h *Hart) ptePtr(pa uint64) *uint64 {
	return (*uint64)(unsafe.Add(h.ramPtr, pa-h.ramBase))
}

// inRAM reports whether [pa, pa+n) is guest RAM (overflow-safe).
func (h *Hart) inRAM(pa, n uint64) bool {
	off := pa - h.ramBase
	return pa >= h.ramBase && off < h.ramSize && n <= h.ramSize-off
}
