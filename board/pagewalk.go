package board

import (
	"encoding/binary"

	"github.com/popek-vm/popek/mem"
)

// walkPageTable translates a supervisor virtual address through the page
// table rooted in satp (Sv39/48/57), reading PTEs from RAM without setting
// A/D bits. The legacy SBI calls hand over hart masks by virtual address;
// this lets the SBI read them. It returns false for any fault.
func walkPageTable(ram *mem.RAM, satp, va uint64) (uint64, bool) {
	levels := 0
	switch satp >> 60 {
	case 0:
		return va, true // Bare: no translation
	case 8:
		levels = 3
	case 9:
		levels = 4
	case 10:
		levels = 5
	default:
		return 0, false
	}
	// The address must be sign-extended from its top translated bit.
	vaBits := uint(12 + 9*levels)
	if top := int64(va) >> (vaBits - 1); top != 0 && top != -1 {
		return 0, false
	}
	table := (satp & (1<<44 - 1)) << 12
	for i := levels - 1; i >= 0; i-- {
		shift := uint(12 + 9*i)
		b, ok := ram.Slice(table+(va>>shift&0x1ff)*8, 8)
		if !ok {
			return 0, false
		}
		pte := binary.LittleEndian.Uint64(b)
		v, r, w, x := pte&1 != 0, pte&2 != 0, pte&4 != 0, pte&8 != 0
		if !v || (w && !r) {
			return 0, false
		}
		ppn := pte >> 10 & (1<<44 - 1)
		if r || x {
			pageMask := uint64(1)<<shift - 1
			if (ppn<<12)&pageMask != 0 || !r {
				return 0, false // misaligned superpage, or not readable
			}
			return ppn<<12 | va&pageMask, true
		}
		table = ppn << 12
	}
	return 0, false
}
