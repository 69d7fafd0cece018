package riscv

import "testing"

func napot(base, size uint64) uint64 { return base>>2 | (size/8 - 1) }

func TestPMPCheck(t *testing.T) {
	type entry struct {
		cfg  uint8
		addr uint64
	}
	const region = 0x80010000
	cases := []struct {
		name    string
		entries []entry
		pa, n   uint64
		priv    Priv
		acc     access
		allowed bool
	}{
		{"no entries: M allowed", nil, region, 8, PrivM, accStore, true},
		{"no entries: S denied", nil, region, 8, PrivS, accLoad, false},
		{"NAPOT R: S load", []entry{{pmpNAPOT<<3 | pmpR, napot(region, 0x1000)}}, region + 8, 8, PrivS, accLoad, true},
		{"NAPOT R: S store", []entry{{pmpNAPOT<<3 | pmpR, napot(region, 0x1000)}}, region + 8, 8, PrivS, accStore, false},
		{"NAPOT R: U fetch", []entry{{pmpNAPOT<<3 | pmpR, napot(region, 0x1000)}}, region, 4, PrivU, accFetch, false},
		{"NAPOT unlocked does not bind M", []entry{{pmpNAPOT << 3, napot(region, 0x1000)}}, region, 8, PrivM, accStore, true},
		{"NAPOT locked binds M", []entry{{pmpL | pmpNAPOT<<3 | pmpR, napot(region, 0x1000)}}, region, 8, PrivM, accStore, false},
		{"outside NAPOT: S denied", []entry{{pmpNAPOT<<3 | pmpR | pmpW, napot(region, 0x1000)}}, region + 0x1000, 8, PrivS, accLoad, false},
		{"TOR from zero", []entry{{pmpTOR<<3 | pmpR | pmpW | pmpX, region >> 2}}, region - 8, 8, PrivS, accStore, true},
		{"TOR top is exclusive", []entry{{pmpTOR<<3 | pmpR | pmpW | pmpX, region >> 2}}, region, 8, PrivS, accLoad, false},
		{"TOR with base", []entry{{0, region >> 2}, {pmpTOR<<3 | pmpX, (region + 0x100) >> 2}}, region + 0xfc, 4, PrivU, accFetch, true},
		{"TOR empty when base >= top", []entry{{0, region >> 2}, {pmpTOR<<3 | pmpX, region >> 2}}, region, 4, PrivU, accFetch, false},
		{"NA4", []entry{{pmpNA4<<3 | pmpW | pmpR, region >> 2}}, region, 4, PrivS, accStore, true},
		{"NA4 partial match fails", []entry{{pmpNA4<<3 | pmpW | pmpR, region >> 2}}, region, 8, PrivS, accStore, false},
		{"partial match fails even in M", []entry{{pmpNA4 << 3, region >> 2}}, region, 8, PrivM, accLoad, false},
		{"lowest entry wins", []entry{{pmpNAPOT << 3, napot(region, 0x1000)}, {pmpNAPOT<<3 | pmpR, napot(region, 0x10000)}}, region, 8, PrivS, accLoad, false},
		{"second entry when first misses", []entry{{pmpNAPOT << 3, napot(region, 0x1000)}, {pmpNAPOT<<3 | pmpR, napot(region, 0x10000)}}, region + 0x1000, 8, PrivS, accLoad, true},
		{"all of memory", []entry{{pmpNAPOT<<3 | pmpR, pmpAddrMask}}, 0xffff_ffff_fff0, 8, PrivU, accLoad, true},
		{"off entries are skipped", []entry{{pmpR, napot(region, 0x1000)}}, region, 8, PrivS, accLoad, false},
	}
	for _, c := range cases {
		var p pmpUnit
		for i, e := range c.entries {
			p.cfg[i], p.addr[i] = e.cfg, e.addr
		}
		p.decode()
		if got := p.check(c.pa, c.n, c.priv, c.acc); got != c.allowed {
			t.Errorf("%s: allowed = %v", c.name, got)
		}
	}
}

func TestPMPExecution(t *testing.T) {
	const data = ramBase + 0x10000
	// Entry 0: data page read-only; entry 1: everything RWX.
	setup := func(h *Hart) {
		h.pmp.cfg[0], h.pmp.addr[0] = pmpNAPOT<<3|pmpR, napot(data, 0x1000)
		h.pmp.cfg[1], h.pmp.addr[1] = pmpNAPOT<<3|pmpR|pmpW|pmpX, pmpAddrMask
		h.pmp.decode()
		h.flushTLB()
	}
	cases := []struct {
		name  string
		words []uint32
		cause uint64
		tval  uint64
	}{
		{"load allowed", cat(la(s0, data), w(ld(a0, s0, 8))), 0xbad, 0},
		{"store denied", cat(la(s0, data), w(sd(a0, s0, 8))), excStoreAccess, data + 8},
		{"AMO denied", cat(la(s0, data), w(amo(1, 3, a0, s0, a1))), excStoreAccess, data},
		{"fetch denied", cat(la(s0, data), w(jalr(zero, s0, 0))), excInstAccess, data},
	}
	for _, c := range cases {
		h := trapEnv(t, PrivS, setup, c.words...)
		if c.cause == 0xbad {
			// The S-mode halt store reached the bus: no trap recorded.
			if h.csr.mcause != 0xbad {
				t.Errorf("%s: trapped %d", c.name, h.csr.mcause)
			}
			continue
		}
		if h.csr.mcause != c.cause || h.csr.mtval != c.tval {
			t.Errorf("%s: mcause %d mtval %#x, want %d %#x", c.name, h.csr.mcause, h.csr.mtval, c.cause, c.tval)
		}
	}
}

func TestPMPSubPageIsNotCached(t *testing.T) {
	// A 4-byte no-access hole inside an otherwise accessible page: after a
	// load from the page fills the TLB, a load from the hole still faults.
	const data = ramBase + 0x10000
	h := trapEnv(t, PrivS, func(h *Hart) {
		h.pmp.cfg[0], h.pmp.addr[0] = pmpNA4<<3, (data+0x100)>>2
		h.pmp.cfg[1], h.pmp.addr[1] = pmpNAPOT<<3|pmpR|pmpW|pmpX, pmpAddrMask
		h.pmp.decode()
		h.flushTLB()
	}, cat(la(s0, data), w(lw(a0, s0, 0), lw(a0, s0, 4), lw(a1, s0, 0x100)))...)
	if h.csr.mcause != excLoadAccess || h.csr.mtval != data+0x100 {
		t.Errorf("mcause %d mtval %#x", h.csr.mcause, h.csr.mtval)
	}
}

func TestPMPLockedAppliesToMAndMPRV(t *testing.T) {
	const data = ramBase + 0x10000
	// M-mode store to a locked read-only region faults.
	h := trapEnv(t, PrivM, func(h *Hart) {
		h.pmp.cfg[0], h.pmp.addr[0] = pmpL|pmpNAPOT<<3|pmpR, napot(data, 0x1000)
		h.pmp.decode()
	}, cat(la(s0, data), w(sd(a0, s0, 0)))...)
	if h.csr.mcause != excStoreAccess {
		t.Errorf("locked: mcause %d", h.csr.mcause)
	}
	// M-mode load with MPRV=1, MPP=U is checked as U: no entry matches,
	// so it fails.
	h = trapEnv(t, PrivM, func(h *Hart) {
		h.csr.mstatus |= msMPRV
		h.pmp = pmpUnit{}
		h.flushTLB()
	}, cat(la(s0, data), w(ld(a0, s0, 0)))...)
	if h.csr.mcause != excLoadAccess {
		t.Errorf("MPRV: mcause %d", h.csr.mcause)
	}
}
