package board

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/popek-vm/popek/mem"
)

// fakeImage returns a Linux RISC-V Image of n bytes with the given header.
func fakeImage(n int, textOffset, imageSize uint64) []byte {
	b := make([]byte, n)
	binary.LittleEndian.PutUint32(b[0:], 0x0000006f) // j .
	binary.LittleEndian.PutUint64(b[8:], textOffset)
	binary.LittleEndian.PutUint64(b[16:], imageSize)
	binary.LittleEndian.PutUint32(b[32:], 2)
	copy(b[0x30:], riscvMagic)
	copy(b[0x38:], rscMagic)
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestParseKernelImage(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		place     kernelPlacement
		wantAddr  uint64
		wantSize  uint64
		wantBytes int
	}{
		{"text_offset 2M", fakeImage(4096, 0x200000, 0x10000), placeByHeader, 0x80200000, 0x10000, 4096},
		{"text_offset 4M", fakeImage(4096, 0x400000, 0x10000), placeByHeader, 0x80400000, 0x10000, 4096},
		{"text_offset 0 defaults to 2M", fakeImage(4096, 0, 0x2000), placeByHeader, 0x80200000, 0x2000, 4096},
		{"image_size 0 uses file size", fakeImage(4096, 0x200000, 0), placeByHeader, 0x80200000, 4096, 4096},
		{"firmware boot ignores text_offset", fakeImage(4096, 0x400000, 0x2000), placeForFirmware, 0x80200000, 0x2000, 4096},
		{"gzip", gz(fakeImage(8192, 0x200000, 0x4000)), placeByHeader, 0x80200000, 0x4000, 8192},
		{"gzip, image_size 0", gz(fakeImage(8192, 0x200000, 0)), placeByHeader, 0x80200000, 8192, 8192},
	}
	for _, tc := range tests {
		p, err := parseKernel(tc.data, tc.place, 64<<20)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		s := p.segments[0]
		if p.kind != "Image" || p.entry != tc.wantAddr || s.addr != tc.wantAddr || s.memSize != tc.wantSize {
			t.Errorf("%s: kind %s entry %#x segment %#x+%#x", tc.name, p.kind, p.entry, s.addr, s.memSize)
			continue
		}
		got, err := loadedBytes(p, 64<<20)
		if err != nil {
			t.Errorf("%s: load: %v", tc.name, err)
			continue
		}
		raw := tc.data
		if bytes.HasPrefix(raw, gzipMagic) {
			zr, _ := gzip.NewReader(bytes.NewReader(raw))
			raw, _ = io.ReadAll(zr)
		}
		if !bytes.Equal(got[:len(raw)], raw) || len(raw) != tc.wantBytes || !allZero(got[len(raw):]) {
			t.Errorf("%s: RAM does not hold the %d-byte Image followed by zeros", tc.name, tc.wantBytes)
		}
	}
}

// loadedBytes loads p into fresh RAM of ramSize and returns its span.
func loadedBytes(p *program, ramSize uint64) ([]byte, error) {
	ram, err := mem.New(DRAMBase, ramSize)
	if err != nil {
		return nil, err
	}
	defer ram.Close()
	lo, hi := p.span()
	l := &layout{kernel: p, fdtAddr: DRAMBase}
	if err := l.load(ram); err != nil {
		return nil, err
	}
	b, _ := ram.Slice(lo, hi-lo)
	return append([]byte(nil), b...), nil
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestGzipImageLoadsWithoutHeapCopy checks that a gzip'd Image with an
// image_size is decompressed at load time only, straight into RAM, and
// that the layout keeps no image afterwards.
func TestGzipImageLoadsWithoutHeapCopy(t *testing.T) {
	img := noisyImage(1<<20, 2<<20)
	p, err := parseKernel(gz(img), placeByHeader, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	if s := p.segments[0]; s.data != nil || s.gz == nil || s.memSize != 2<<20 {
		t.Fatalf("segment holds %d decompressed bytes, gz %v, memSize %#x", len(s.data), s.gz != nil, s.memSize)
	}
	ram, err := mem.New(DRAMBase, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer ram.Close()
	l := &layout{kernel: p, fdt: []byte{1, 2, 3}, fdtAddr: DRAMBase + 60<<20}
	if err := l.load(ram); err != nil {
		t.Fatal(err)
	}
	got, _ := ram.Slice(0x80200000, 2<<20)
	if !bytes.Equal(got[:len(img)], img) || !allZero(got[len(img):]) {
		t.Error("RAM does not hold the Image")
	}
	if l.kernel.segments != nil || l.kernel.entry != 0x80200000 {
		t.Errorf("after load: %d segments kept, entry %#x", len(l.kernel.segments), l.kernel.entry)
	}
}

// noisyImage is an Image of n bytes whose body does not compress to
// nothing, so that a cut gzip stream is cut inside the body.
func noisyImage(n int, imageSize uint64) []byte {
	img := fakeImage(n, 0x200000, imageSize)
	x := uint32(1)
	for i := imageHeaderSize; i < len(img); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img[i] = byte(x)
	}
	return img
}

// TestGzipImageLoadRejects covers what only decompressing the whole Image
// at load time can find.
func TestGzipImageLoadRejects(t *testing.T) {
	big := gz(noisyImage(16<<10, 8<<10))
	good := gz(noisyImage(16<<10, 32<<10))
	badSum := append([]byte(nil), good...)
	badSum[len(badSum)-5] ^= 1 // CRC-32 in the trailer
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"file larger than image_size", big, "more than the 0x2000 bytes"},
		{"truncated after the header", good[:len(good)/2], "corrupt gzip"},
		{"bad checksum", badSum, "corrupt gzip"},
	}
	for _, tc := range tests {
		p, err := parseKernel(tc.data, placeByHeader, 64<<20)
		if err != nil {
			t.Errorf("%s: parse: %v", tc.name, err)
			continue
		}
		if _, err := loadedBytes(p, 64<<20); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "kernel: ") {
			t.Errorf("%s: load err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestParseKernelRejects(t *testing.T) {
	onlyOldMagic := fakeImage(4096, 0x200000, 0)
	copy(onlyOldMagic[0x38:], "\x00\x00\x00\x00")
	arm64 := make([]byte, 4096)
	copy(arm64[0x38:], arm64Magic)
	bz := make([]byte, 4096)
	copy(bz[0x202:], bzImageHdr)
	bigEndian := fakeImage(4096, 0x200000, 0)
	bigEndian[24] = 1
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a RISC-V"},
		{"text file", []byte("hello, world, this is not a kernel at all..........................."), "not a RISC-V"},
		{"arm64 Image", arm64, "arm64"},
		{"x86 bzImage", bz, "x86"},
		{"misaligned text_offset", fakeImage(4096, 0x1000, 0), "not 2 MiB aligned"},
		{"image_size below file size", fakeImage(4096, 0x200000, 100), "smaller than the file"},
		{"image_size overflow", fakeImage(4096, 0x200000, ^uint64(0)-10), "overflows"},
		{"text_offset overflow", fakeImage(4096, 0xffffffff80000000, 0), "overflows"},
		{"big-endian", bigEndian, "big-endian"},
		{"corrupt gzip", []byte{0x1f, 0x8b, 8, 0, 1, 2, 3}, "corrupt gzip"},
		{"truncated gzip", gz(fakeImage(8192, 0x200000, 0))[:40], "corrupt gzip"},
		{"gzip bomb", gz(make([]byte, 2<<20)), "more than"},
		{"double gzip", gz(gz(fakeImage(4096, 0x200000, 0))), "doubly"},
	}
	for _, tc := range tests {
		_, err := parseKernel(tc.data, placeByHeader, 1<<20)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if p, err := parseKernel(onlyOldMagic, placeByHeader, 1<<20); err != nil || p.kind != "Image" {
		t.Errorf("Image with only the deprecated magic: %v", err)
	}
}

func TestParseFirmware(t *testing.T) {
	p, err := parseFirmware([]byte{0x73, 0, 0x50, 0x10})
	if err != nil || p.kind != "raw" || p.entry != DRAMBase || p.segments[0].addr != DRAMBase {
		t.Fatalf("raw firmware: %+v, %v", p, err)
	}
	if _, err := parseFirmware(nil); err == nil {
		t.Error("empty firmware accepted")
	}
}

// TestParseKernelRawAfterFirmware: after firmware, as with QEMU's -kernel,
// a file that is no Image or ELF is a raw binary at 0x80200000; popek's
// own SBI boot still refuses it.
func TestParseKernelRawAfterFirmware(t *testing.T) {
	raw := []byte{0x73, 0x00, 0x50, 0x10, 0x6f, 0x00, 0x00, 0x00} // wfi; j .
	p, err := parseKernel(raw, placeForFirmware, 64<<20)
	if err != nil || p.kind != "raw" || p.entry != KernelBase || p.segments[0].addr != KernelBase || p.segments[0].memSize != uint64(len(raw)) {
		t.Fatalf("raw kernel after firmware: %+v, %v", p, err)
	}
	if _, err := parseKernel(raw, placeByHeader, 64<<20); err == nil || !strings.Contains(err.Error(), "not a RISC-V") {
		t.Errorf("raw kernel for direct boot: err = %v, want a refusal", err)
	}
	if _, err := parseKernel(nil, placeForFirmware, 64<<20); err == nil {
		t.Error("empty kernel accepted after firmware")
	}
}
