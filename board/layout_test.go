package board

import (
	"bytes"
	"strings"
	"testing"

	"github.com/popek-vm/popek/mem"
)

func rawProgram(addr, size uint64) *program {
	return &program{kind: "raw", entry: addr, segments: []segment{{addr: addr, data: bytes.Repeat([]byte{0xaa}, int(min(size, 64))), memSize: size}}}
}

// fixedTree is a stand-in device tree of a fixed size.
func fixedTree(size int) func(uint64, uint64) ([]byte, error) {
	return func(s, e uint64) ([]byte, error) { return bytes.Repeat([]byte{0xdd}, size), nil }
}

func TestPlanLayout(t *testing.T) {
	const ramSize = 64 << 20
	ramEnd := uint64(DRAMBase + ramSize)
	initrd := bytes.Repeat([]byte{0x11}, 5000)
	l, err := planLayout(DRAMBase, ramSize, nil, rawProgram(KernelBase, 1<<20), initrd, fixedTree(3000))
	if err != nil {
		t.Fatal(err)
	}
	// As on QEMU: at a 2 MiB boundary, leaving firmware room to grow it.
	if l.fdtAddr != ramEnd-fdtAlign {
		t.Errorf("fdt at %#x, want %#x", l.fdtAddr, ramEnd-fdtAlign)
	}
	// Without room for that, page aligned with fdtSlack above it.
	tight, err := planLayout(DRAMBase, ramSize, nil, rawProgram(KernelBase, ramSize-3<<20), nil, fixedTree(3000))
	if err != nil {
		t.Fatal(err)
	}
	if want := alignDown(ramEnd-pageSize-fdtSlack, pageSize); tight.fdtAddr != want {
		t.Errorf("tight fdt at %#x, want %#x", tight.fdtAddr, want)
	}
	if l.initrdStart%pageSize != 0 || l.initrdEnd != l.initrdStart+5000 || l.initrdEnd > l.fdtAddr {
		t.Errorf("initrd %#x-%#x vs fdt %#x", l.initrdStart, l.initrdEnd, l.fdtAddr)
	}

	ram, err := mem.New(DRAMBase, ramSize)
	if err != nil {
		t.Fatal(err)
	}
	defer ram.Close()
	if err := l.load(ram); err != nil {
		t.Fatal(err)
	}
	b := ram.Bytes()
	checks := []struct {
		name string
		addr uint64
		want byte
	}{
		{"kernel start", KernelBase, 0xaa},
		{"kernel bss zeroed", KernelBase + 64, 0},
		{"initrd", l.initrdStart, 0x11},
		{"initrd end", l.initrdEnd - 1, 0x11},
		{"fdt", l.fdtAddr + 2999, 0xdd},
	}
	for _, c := range checks {
		if got := b[c.addr-DRAMBase]; got != c.want {
			t.Errorf("%s at %#x = %#x, want %#x", c.name, c.addr, got, c.want)
		}
	}
}

func TestPlanLayoutErrors(t *testing.T) {
	const ramSize = 16 << 20
	tests := []struct {
		name     string
		firmware *program
		kernel   *program
		initrd   int
		tree     int
		want     string
	}{
		{"kernel too big", nil, rawProgram(KernelBase, 32<<20), 0, 100, "too big for 16 MiB"},
		{"kernel below RAM", nil, rawProgram(0x1000, 16), 0, 100, "needs 0x1000"},
		{"initrd too big", nil, rawProgram(KernelBase, 1<<20), 15 << 20, 100, "initrd"},
		{"no room for fdt", nil, rawProgram(KernelBase, ramSize-0x200000), 0, 100, "device tree"},
		{"firmware overlaps kernel", rawProgram(DRAMBase, 0x300000), rawProgram(KernelBase, 1<<20), 0, 100, "overlaps"},
	}
	for _, tc := range tests {
		_, err := planLayout(DRAMBase, ramSize, tc.firmware, tc.kernel, make([]byte, tc.initrd), fixedTree(tc.tree))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
