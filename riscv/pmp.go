package riscv

import "math/bits"

// Physical memory protection: 16 entries, granularity 4 bytes (G=0).
const (
	pmpEntries = 16

	pmpR     = 1 << 0
	pmpW     = 1 << 1
	pmpX     = 1 << 2
	pmpAMask = 3 << 3
	pmpL     = 1 << 7

	pmpOff   = 0
	pmpTOR   = 1
	pmpNA4   = 2
	pmpNAPOT = 3

	pmpAddrMask = 1<<54 - 1 // pmpaddr holds bits 55:2 of an address
)

// pmpUnit is the PMP CSR state plus the decoded ranges the checks use.
type pmpUnit struct {
	cfg  [pmpEntries]uint8
	addr [pmpEntries]uint64

	// Decoded [lo, hi) for each active entry; hi may exceed 2^56.
	lo, hi [pmpEntries]uint64
	active [pmpEntries]bool
}

// access kinds, shared by PMP, the MMU and the TLB.
type access uint8

const (
	accFetch access = iota
	accLoad
	accStore
)

func (a access) pmpBit() uint8 {
	switch a {
	case accFetch:
		return pmpX
	case accLoad:
		return pmpR
	}
	return pmpW
}

// decode recomputes the ranges after a pmpcfg or pmpaddr write.
func (p *pmpUnit) decode() {
	for i := 0; i < pmpEntries; i++ {
		p.active[i] = false
		a := p.addr[i] & pmpAddrMask
		switch (p.cfg[i] & pmpAMask) >> 3 {
		case pmpTOR:
			var lo uint64
			if i > 0 {
				lo = (p.addr[i-1] & pmpAddrMask) << 2
			}
			p.lo[i], p.hi[i] = lo, a<<2
			p.active[i] = lo < a<<2
		case pmpNA4:
			p.lo[i], p.hi[i] = a<<2, a<<2+4
			p.active[i] = true
		case pmpNAPOT:
			t := uint(bits.TrailingZeros64(^a)) // trailing ones
			size := uint64(1) << (t + 3)
			lo := (a &^ (1<<t - 1)) << 2
			p.lo[i], p.hi[i] = lo&^(size-1), lo&^(size-1)+size
			p.active[i] = true
		}
	}
}

// locked reports whether entry i ignores writes: its own lock, or the lock
// of entry i+1 when that is TOR (which uses pmpaddr i as its base).
func (p *pmpUnit) addrLocked(i int) bool {
	if p.cfg[i]&pmpL != 0 {
		return true
	}
	return i+1 < pmpEntries && p.cfg[i+1]&pmpL != 0 && (p.cfg[i+1]&pmpAMask)>>3 == pmpTOR
}

// writeCfg writes the eight entries of pmpcfg register n (0 or 2).
func (p *pmpUnit) writeCfg(n int, v uint64) {
	base := n * 4
	for j := 0; j < 8; j++ {
		i := base + j
		if i >= pmpEntries || p.cfg[i]&pmpL != 0 {
			continue
		}
		c := uint8(v>>(8*j)) & (pmpL | pmpAMask | pmpX | pmpW | pmpR)
		if c&pmpR == 0 && c&pmpW != 0 { // reserved R=0 W=1
			c &^= pmpW
		}
		p.cfg[i] = c
	}
	p.decode()
}

func (p *pmpUnit) readCfg(n int) uint64 {
	var v uint64
	for j := 0; j < 8; j++ {
		if i := n*4 + j; i < pmpEntries {
			v |= uint64(p.cfg[i]) << (8 * j)
		}
	}
	return v
}

func (p *pmpUnit) writeAddr(i int, v uint64) {
	if i >= pmpEntries || p.addrLocked(i) {
		return
	}
	p.addr[i] = v & pmpAddrMask
	p.decode()
}

func (p *pmpUnit) readAddr(i int) uint64 {
	if i >= pmpEntries {
		return 0
	}
	return p.addr[i]
}

// check reports whether an access of n bytes at pa by privilege priv is
// allowed. The lowest-numbered entry matching any byte decides, and must
// match all of them.
func (p *pmpUnit) check(pa, n uint64, priv Priv, acc access) bool {
	end := pa + n
	for i := 0; i < pmpEntries; i++ {
		if !p.active[i] || end <= p.lo[i] || pa >= p.hi[i] {
			continue
		}
		if pa < p.lo[i] || end > p.hi[i] || end < pa {
			return false // partial match
		}
		return p.allows(i, priv, acc)
	}
	return priv == PrivM
}

func (p *pmpUnit) allows(i int, priv Priv, acc access) bool {
	if priv == PrivM && p.cfg[i]&pmpL == 0 {
		return true
	}
	return p.cfg[i]&acc.pmpBit() != 0
}

// pageOK reports whether every access of kind acc inside the 4 KiB page at
// pa is allowed, with one entry (or none) deciding the whole page, so that
// the TLB may cache the page.
func (p *pmpUnit) pageOK(pa uint64, priv Priv, acc access) bool {
	pa &^= pageMask
	end := pa + pageSize
	for i := 0; i < pmpEntries; i++ {
		if !p.active[i] || end <= p.lo[i] || pa >= p.hi[i] {
			continue
		}
		if pa < p.lo[i] || end > p.hi[i] {
			return false
		}
		return p.allows(i, priv, acc)
	}
	return priv == PrivM
}
