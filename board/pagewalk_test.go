package board

import (
	"encoding/binary"
	"testing"

	"github.com/popek-vm/popek/mem"
)

func TestWalkPageTable(t *testing.T) {
	ram, err := mem.New(DRAMBase, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	defer ram.Close()
	put := func(pa, v uint64) { binary.LittleEndian.PutUint64(ram.Bytes()[pa-DRAMBase:], v) }
	const (
		root       = DRAMBase + 0x1000
		l1         = DRAMBase + 0x2000
		l0         = DRAMBase + 0x3000
		v, r, w, x = 1, 2, 4, 8
	)
	ptr := func(pa uint64) uint64 { return pa>>12<<10 | v }
	leaf := func(pa, perm uint64) uint64 { return pa>>12<<10 | perm | v }
	// Sv39: va 0x40201000 -> root[1] -> l1[1] -> l0[1] = 4K page at DRAM+0x10000.
	put(root+1*8, ptr(l1))
	put(l1+1*8, ptr(l0))
	put(l0+1*8, leaf(DRAMBase+0x10000, r|w))
	// A 1 GiB gigapage at va 0x80000000 (root[2]) mapping DRAM identity.
	put(root+2*8, leaf(DRAMBase, r|w|x))
	// A misaligned gigapage at root[3], an execute-only page at l0[2],
	// a W-without-R PTE at l0[3].
	put(root+3*8, leaf(DRAMBase+0x200000, r))
	put(l0+2*8, leaf(DRAMBase+0x11000, x))
	put(l0+3*8, leaf(DRAMBase+0x12000, w))
	sv39 := uint64(8)<<60 | root>>12
	tests := []struct {
		name string
		satp uint64
		va   uint64
		want uint64
		ok   bool
	}{
		{"bare", 0, 0x80001234, 0x80001234, true},
		{"4K page", sv39, 0x40201008, DRAMBase + 0x10008, true},
		{"gigapage", sv39, 0x80123456, 0x80123456, true},
		{"misaligned superpage", sv39, 0xc0000000, 0, false},
		{"execute-only", sv39, 0x40202000, 0, false},
		{"write without read", sv39, 0x40203000, 0, false},
		{"invalid pte", sv39, 0x40204000, 0, false},
		{"non-canonical", sv39, 0x0000008000000000, 0, false},
		{"negative canonical unmapped", sv39, 0xffffffffc0000000, 0, false},
		{"unknown mode", uint64(5) << 60, 0x1000, 0, false},
		{"root outside RAM", uint64(8) << 60, 0x1000, 0, false},
	}
	for _, tc := range tests {
		got, ok := walkPageTable(ram, tc.satp, tc.va)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: walk(%#x) = %#x,%v want %#x,%v", tc.name, tc.va, got, ok, tc.want, tc.ok)
		}
	}
}
