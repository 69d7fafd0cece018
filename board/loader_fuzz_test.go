package board

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/mem"
)

// fuzzRAM is the guest RAM the loader fuzzers load into: the smallest a
// machine accepts, so that most headers point outside it.
const fuzzRAM = MinMemSize

// fuzzFDT stands in for the device tree planLayout places.
var fuzzFDT = []byte("fdt!")

// loadFuzzed plans and loads p into fresh RAM, as New does, and checks the
// result: every byte outside the program's segments and the device tree
// is untouched, and each segment holds its data followed by zeros.
func loadFuzzed(t *testing.T, p *program, want func(s segment) []byte) {
	t.Helper()
	if p.kind == "" || len(p.segments) == 0 {
		t.Fatalf("parsed a %q program with %d segments", p.kind, len(p.segments))
	}
	for _, s := range p.segments {
		if s.data != nil && uint64(len(s.data)) > s.memSize {
			t.Fatalf("segment %#x holds %d bytes in %#x", s.addr, len(s.data), s.memSize)
		}
	}
	l, err := planLayout(DRAMBase, fuzzRAM, nil, p, nil, func(_, _ uint64) ([]byte, error) { return fuzzFDT, nil })
	if err != nil {
		if msg := err.Error(); msg == "" || strings.Contains(msg, "%!") {
			t.Fatalf("unclear layout error %q", msg)
		}
		return
	}
	segs := append([]segment(nil), p.segments...)
	if p.toHost != 0 && (p.toHost%8 != 0 || !containsRange(DRAMBase, fuzzRAM, p.toHost, 8)) {
		t.Fatalf("tohost %#x is not an aligned word in RAM", p.toHost)
	}
	ram, err := mem.New(DRAMBase, fuzzRAM)
	if err != nil {
		t.Fatal(err)
	}
	defer ram.Close()
	// Fill RAM so that a segment's BSS not cleared shows up.
	pattern := bytes.Repeat([]byte{0xa5}, fuzzRAM)
	copy(ram.Bytes(), pattern)
	if err := l.load(ram); err != nil {
		if s := segs[0]; s.gz == nil {
			t.Fatalf("load of a planned program without gzip data failed: %v", err)
		}
		if !strings.Contains(err.Error(), "gzip") && !strings.Contains(err.Error(), "decompresses") {
			t.Fatalf("load error %q does not say what is wrong", err)
		}
		return
	}
	areas := []area{{"device tree", l.fdtAddr, l.fdtAddr + uint64(len(fuzzFDT))}}
	for _, s := range segs {
		got, ok := ram.Slice(s.addr, s.memSize)
		if !ok {
			t.Fatalf("planned segment %#x+%#x is outside RAM", s.addr, s.memSize)
		}
		data := want(s)
		if !bytes.Equal(got[:len(data)], data) || !allZero(got[len(data):]) {
			t.Fatalf("segment %#x+%#x does not hold its %d bytes followed by zeros", s.addr, s.memSize, len(data))
		}
		areas = append(areas, area{"segment", s.addr, s.addr + s.memSize})
	}
	sort.Slice(areas, func(i, j int) bool { return areas[i].start < areas[j].start })
	at := uint64(DRAMBase)
	for _, a := range append(areas, area{"end", DRAMBase + fuzzRAM, DRAMBase + fuzzRAM}) {
		if a.start > at {
			gap, _ := ram.Slice(at, a.start-at)
			if !bytes.Equal(gap, pattern[:len(gap)]) {
				t.Fatalf("load wrote into %#x-%#x, outside every segment", at, a.start)
			}
		}
		at = max(at, a.end)
	}
}

// segmentData is what a parsed segment must leave in RAM.
func segmentData(t *testing.T) func(s segment) []byte {
	return func(s segment) []byte {
		if s.gz == nil {
			return s.data
		}
		zr, err := gzip.NewReader(bytes.NewReader(s.gz))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// kernelHeadImage is the real guest kernel's first KiB: a genuine header
// (its image_size is larger than fuzzRAM).
func kernelHeadImage(f *testing.F) []byte {
	head, err := gunzipHead(images.Kernel(), 1024)
	if err != nil {
		f.Fatal(err)
	}
	return head
}

// corrupt returns truncated and bit-flipped variants of b.
func corrupt(b []byte) [][]byte {
	var out [][]byte
	for _, n := range []int{len(b) / 2, len(b) - 1, 64, 63, 20} {
		if n >= 0 && n < len(b) {
			out = append(out, b[:n])
		}
	}
	for _, off := range []int{0x08, 0x10, 0x12, 0x18, 0x20, 0x28, 0x30, 0x38, len(b) - 4} {
		if off >= 0 && off < len(b) {
			c := bytes.Clone(b)
			c[off] ^= 0x80
			out = append(out, c)
		}
	}
	return out
}

// FuzzLoadImage feeds kernels (Linux Image, Image.gz, ELF, raw after
// firmware) to parseKernel with a small RAM: no panic, errors that say
// what is wrong, and a program that planLayout accepts loads exactly
// inside its segments.
func FuzzLoadImage(f *testing.F) {
	seeds := [][]byte{
		fakeImage(4096, 0x200000, 0x10000),
		fakeImage(4096, 0, 0),
		fakeImage(512, 0x400000, 0x3000),
		gz(fakeImage(8192, 0x200000, 0x4000)),
		gz(fakeImage(8192, 0x200000, 0)),
		gz(noisyImage(64<<10, 128<<10)),
		gz(gz(fakeImage(256, 0x200000, 0))),
		kernelHeadImage(f),
		gz(kernelHeadImage(f)),
		buildELF(elf.EM_RISCV, 0x80200000, []testSeg{{vaddr: 0x80200000, paddr: 0x80200000, data: []byte{0x13, 0, 0, 0}, memSize: 0x2000}}, nil),
		[]byte("u-boot.bin, a raw binary"),
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
		for _, c := range corrupt(s) {
			f.Add(c, false)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, afterFirmware bool) {
		place := placeByHeader
		if afterFirmware {
			place = placeForFirmware
		}
		p, err := parseKernel(data, place, fuzzRAM)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "%!") {
				t.Fatalf("unclear error %q", msg)
			}
			return
		}
		loadFuzzed(t, p, segmentData(t))
	})
}

// FuzzLoadELF feeds ELF files to the firmware and kernel loaders.
func FuzzLoadELF(f *testing.F) {
	code := []byte{0x13, 0, 0, 0, 0x73, 0, 0x50, 0x10}
	seeds := [][]byte{
		buildELF(elf.EM_RISCV, 0x80000000, []testSeg{
			{vaddr: 0x80000000, paddr: 0x80000000, data: code, memSize: 0x1000},
			{vaddr: 0xffffffff80001000, paddr: 0x80001000, data: []byte{1, 2}, memSize: 8},
		}, map[string]uint64{"tohost": 0xffffffff80001000}),
		buildELF(elf.EM_RISCV, 0x80200000, []testSeg{{vaddr: 0x80200000, paddr: 0x80200000, data: code, memSize: 0x20000}}, nil),
		buildELF(elf.EM_RISCV, 0x80000000, []testSeg{{vaddr: 0x80000000, paddr: 0x80000000, data: code, memSize: 8 << 20}}, nil),
		buildELF(elf.EM_X86_64, 0x80000000, []testSeg{{vaddr: 0x80000000, paddr: 0x80000000, data: code, memSize: 8}}, nil),
		elf32Header(),
	}
	for _, s := range seeds {
		f.Add(s)
		for _, c := range corrupt(s) {
			f.Add(c)
		}
		// The first program header's offset, file size and memory size.
		for _, off := range []int{64 + 8, 64 + 32, 64 + 40, 64 + 47} {
			if off < len(s) {
				c := bytes.Clone(s)
				c[off] ^= 0x40
				f.Add(c)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseFirmware(data)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "%!") {
				t.Fatalf("unclear error %q", msg)
			}
			return
		}
		if p.kind == "ELF" {
			for _, s := range p.segments {
				if !containsData(data, s.data) {
					t.Fatalf("segment %#x holds bytes that are not in the file", s.addr)
				}
			}
		}
		loadFuzzed(t, p, segmentData(t))
	})
}

// containsData reports whether seg is a piece of file.
func containsData(file, seg []byte) bool {
	return len(seg) == 0 || bytes.Contains(file, seg)
}

// TestToHostOutsideSegments checks that a tohost symbol the HTIF watcher
// could not read from RAM (past its segment by address wrap-around, or
// misaligned after translation) is ignored, not followed.
func TestToHostOutsideSegments(t *testing.T) {
	code := []byte{0x13, 0, 0, 0}
	tests := []struct {
		name   string
		seg    testSeg
		tohost uint64
		want   uint64
	}{
		{"inside", testSeg{vaddr: 0x1000, paddr: 0x80000000, data: code, memSize: 0x100}, 0x1010, 0x80000010},
		{"wraps past the segment", testSeg{vaddr: 0, paddr: 0x80000000, data: code, memSize: 0x10}, 0xfffffffffffffff8, 0},
		{"last word cut", testSeg{vaddr: 0x1000, paddr: 0x80000000, data: code, memSize: 0x14}, 0x1010, 0},
		{"misaligned physical", testSeg{vaddr: 0x1000, paddr: 0x80000004, data: code, memSize: 0x100}, 0x1010, 0},
	}
	for _, tc := range tests {
		p, err := parseELF(buildELF(elf.EM_RISCV, 0x80000000, []testSeg{tc.seg}, map[string]uint64{"tohost": tc.tohost}))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p.toHost != tc.want {
			t.Errorf("%s: tohost %#x, want %#x", tc.name, p.toHost, tc.want)
		}
	}
}
