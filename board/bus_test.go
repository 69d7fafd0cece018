package board

import (
	"fmt"
	"testing"
)

// recorder is a device that logs accesses and answers with its tag.
type recorder struct {
	tag uint64
	log *[]string
}

func (r recorder) Read(off uint64, size int) uint64 {
	*r.log = append(*r.log, fmt.Sprintf("%d r %#x/%d", r.tag, off, size))
	return r.tag
}
func (r recorder) Write(off uint64, size int, val uint64) {
	*r.log = append(*r.log, fmt.Sprintf("%d w %#x/%d=%#x", r.tag, off, size, val))
}

func TestBusRouting(t *testing.T) {
	var log []string
	var b Bus
	for i, w := range []struct{ base, size uint64 }{{UARTBase, UARTSize}, {CLINTBase, CLINTSize}, {TestBase, TestSize}, {VirtioSlotBase(1), VirtioStride}} {
		if err := b.Map(w.base, w.size, recorder{uint64(i + 1), &log}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		paddr  uint64
		size   int
		wantOK bool
		want   uint64
		log    string
	}{
		{UARTBase, 1, true, 1, "1 r 0x0/1"},
		{UARTBase + 5, 1, true, 1, "1 r 0x5/1"},
		{UARTBase + UARTSize - 4, 4, true, 1, "1 r 0xfc/4"},
		{UARTBase + UARTSize - 2, 4, false, 0, ""}, // straddles the end
		{UARTBase + UARTSize, 1, false, 0, ""},
		{CLINTBase + 0xbff8, 8, true, 2, "2 r 0xbff8/8"},
		{TestBase, 4, true, 3, "3 r 0x0/4"},
		{TestBase - 1, 1, false, 0, ""},
		{VirtioSlotBase(1) + 0x70, 4, true, 4, "4 r 0x70/4"},
		{VirtioSlotBase(0), 4, false, 0, ""},
		{0, 8, false, 0, ""},
		{^uint64(0), 8, false, 0, ""},
		{^uint64(0) - 3, 4, false, 0, ""},
	}
	for _, tc := range tests {
		log = nil
		v, ok := b.Read(tc.paddr, tc.size)
		if ok != tc.wantOK || v != tc.want {
			t.Errorf("Read(%#x,%d) = %d,%v want %d,%v", tc.paddr, tc.size, v, ok, tc.want, tc.wantOK)
		}
		if got := fmt.Sprint(log); (tc.log == "" && len(log) != 0) || (tc.log != "" && got != "["+tc.log+"]") {
			t.Errorf("Read(%#x,%d) log %v, want %q", tc.paddr, tc.size, log, tc.log)
		}
		log = nil
		if ok := b.Write(tc.paddr, tc.size, 0x42); ok != tc.wantOK {
			t.Errorf("Write(%#x,%d) ok=%v", tc.paddr, tc.size, ok)
		}
	}
}

func TestBusRejectsOverlaps(t *testing.T) {
	var log []string
	var b Bus
	dev := recorder{0, &log}
	if err := b.Map(0x1000, 0x1000, dev); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ base, size uint64 }{{0x1800, 0x1000}, {0x800, 0x1000}, {0x1000, 1}, {0x0, 0x10000}, {0x5000, 0}, {^uint64(0), 2}} {
		if err := b.Map(w.base, w.size, dev); err == nil {
			t.Errorf("Map(%#x,%#x) accepted", w.base, w.size)
		}
	}
	if err := b.Map(0x2000, 0x1000, dev); err != nil {
		t.Errorf("adjacent window rejected: %v", err)
	}
	if err := b.Map(0, 0x1000, dev); err != nil {
		t.Errorf("adjacent window below rejected: %v", err)
	}
}

func TestResetROM(t *testing.T) {
	rom := resetROM(0x80000000, 0x8fe00000, 0x80200000)
	tests := []struct {
		off  uint64
		size int
		want uint64
	}{
		{0, 4, 0x00000297},
		{20, 4, 0x00028067},
		{24, 8, 0x80000000},     // firmware entry
		{32, 8, 0x8fe00000},     // fdt
		{40, 8, fwDynamicMagic}, // fw_dynamic_info.magic
		{48, 8, 2},              // version
		{56, 8, 0x80200000},     // next_addr
		{64, 8, 1},              // next_mode = S
		{72, 8, 0},              // options
		{80, 8, 0},              // boot_hart
		{88, 8, 0},              // past the image
		{0x5000, 4, 0},
		{24, 4, 0x80000000},
		{28, 2, 0},
	}
	for _, tc := range tests {
		if got := rom.Read(tc.off, tc.size); got != tc.want {
			t.Errorf("ROM[%#x]/%d = %#x, want %#x", tc.off, tc.size, got, tc.want)
		}
	}
	rom.Write(0, 4, 0)
	if rom.Read(0, 4) != 0x00000297 {
		t.Error("ROM is writable")
	}
}

func TestBusCountsExitsByDevice(t *testing.T) {
	var log []string
	var b Bus
	if err := b.MapNamed("uart", 0x1000, 0x100, recorder{1, &log}); err != nil {
		t.Fatal(err)
	}
	if err := b.MapNamed("plic", 0x2000, 0x100, recorder{2, &log}); err != nil {
		t.Fatal(err)
	}
	b.Read(0x1000, 1)
	b.Write(0x1004, 1, 7)
	b.Read(0x2000, 4)
	b.Read(0x9000, 4) // unmapped: an access fault, not an exit
	got := b.Exits()
	if got["uart"] != 2 || got["plic"] != 1 || len(got) != 2 {
		t.Fatalf("Exits() = %v, want uart:2 plic:1", got)
	}
}
