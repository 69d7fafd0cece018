package board

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
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
	}
	for _, tc := range tests {
		p, err := parseKernel(tc.data, tc.place, 64<<20)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		s := p.segments[0]
		if p.kind != "Image" || p.entry != tc.wantAddr || s.addr != tc.wantAddr || s.memSize != tc.wantSize || len(s.data) != tc.wantBytes {
			t.Errorf("%s: kind %s entry %#x segment %#x+%#x (%d bytes)", tc.name, p.kind, p.entry, s.addr, s.memSize, len(s.data))
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
