package board

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// segment is a piece of a program to copy into RAM; memSize >= len(data),
// the rest is zero (BSS).
type segment struct {
	addr    uint64
	data    []byte
	memSize uint64
	// gz, when set, replaces data: a gzip stream of at most memSize bytes
	// that load decompresses straight into RAM, so that no decompressed
	// copy of a kernel ever sits on the Go heap.
	gz []byte
}

// program is a loadable image: a kernel, firmware or bare-metal ELF.
type program struct {
	kind     string // "Image", "ELF" or "raw", for messages
	segments []segment
	entry    uint64
	// toHost is the address of the ELF's HTIF tohost word, 0 if none.
	toHost uint64
}

// span returns the lowest and one-past-highest address the program occupies.
func (p *program) span() (lo, hi uint64) {
	lo = ^uint64(0)
	for _, s := range p.segments {
		lo = min(lo, s.addr)
		hi = max(hi, s.addr+s.memSize)
	}
	return lo, hi
}

// Magic numbers recognised to tell kernels apart.
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	elfMagic   = []byte("\x7fELF")
	riscvMagic = []byte("RISCV\x00\x00\x00") // deprecated, at 0x30
	rscMagic   = []byte("RSC\x05")           // at 0x38
	arm64Magic = []byte("ARM\x64")           // at 0x38 in arm64 Images
	bzImageHdr = []byte("HdrS")              // at 0x202 in x86 bzImages
)

// gunzipLimit decompresses a gzip stream, refusing output larger than limit
// so a compressed bomb cannot exhaust host memory.
func gunzipLimit(data []byte, limit uint64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt gzip data: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("corrupt gzip data: %v", err)
	}
	if uint64(len(out)) > limit {
		return nil, fmt.Errorf("decompresses to more than the %d MiB of RAM", limit>>20)
	}
	return out, nil
}

// kernelPlacement says where a Linux Image goes.
type kernelPlacement int

const (
	// placeByHeader honours text_offset (direct boot: DRAM + text_offset).
	placeByHeader kernelPlacement = iota
	// placeForFirmware puts it at 0x80200000, where OpenSBI jumps.
	placeForFirmware
)

// gunzipHead decompresses at most n bytes from the start of a gzip stream.
// It checks nothing beyond them.
func gunzipHead(data []byte, n int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt gzip data: %v", err)
	}
	head := make([]byte, n)
	k, err := io.ReadFull(zr, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("corrupt gzip data: %v", err)
	}
	return head[:k], nil
}

// gunzipInto decompresses a gzip stream into dst, which it must fit, and
// returns the number of bytes written; the stream's checksum is verified.
func gunzipInto(dst, data []byte) (int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("corrupt gzip data: %v", err)
	}
	// Not io.ReadFull: a truncated stream also ends in ErrUnexpectedEOF,
	// and only io.EOF means the trailer was read and matched.
	n := 0
	for n < len(dst) {
		k, err := zr.Read(dst[n:])
		n += k
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("corrupt gzip data: %v", err)
		}
	}
	// dst is full: the stream must end here.
	for {
		var one [1]byte
		k, err := zr.Read(one[:])
		switch {
		case k > 0:
			return n, fmt.Errorf("decompresses to more than the %#x bytes its header reserves", len(dst))
		case err == io.EOF:
			return n, nil
		case err != nil:
			return n, fmt.Errorf("corrupt gzip data: %v", err)
		}
	}
}

// isLinuxImage reports whether data starts with a RISC-V Image header.
func isLinuxImage(data []byte) bool {
	return len(data) >= imageHeaderSize && (bytes.Equal(data[0x38:0x3c], rscMagic) || bytes.Equal(data[0x30:0x38], riscvMagic))
}

// kernelHead is how much of a gzip'd kernel is decompressed to recognise
// it: past the x86 bzImage signature, the farthest magic looked at.
const kernelHead = 0x206

// parseKernel recognises a Linux Image, Image.gz or RISC-V ELF; after
// firmware, any other file is a raw binary.
func parseKernel(data []byte, place kernelPlacement, ramSize uint64) (*program, error) {
	if bytes.HasPrefix(data, gzipMagic) {
		head, err := gunzipHead(data, kernelHead)
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(head, gzipMagic) {
			return nil, errors.New("doubly gzip-compressed kernel")
		}
		if isLinuxImage(head) {
			h, err := decodeImageHeader(head)
			if err != nil {
				return nil, err
			}
			if h.imageSize != 0 {
				// image_size bounds the decompressed file, so the Image
				// can be decompressed at load time, straight into RAM.
				p, err := parseLinuxImage(head, place)
				if err != nil {
					return nil, err
				}
				p.segments[0].data, p.segments[0].gz = nil, data
				return p, nil
			}
		}
		raw, err := gunzipLimit(data, ramSize)
		if err != nil {
			return nil, err
		}
		data = raw
	}
	if bytes.HasPrefix(data, elfMagic) {
		return parseELF(data)
	}
	if isLinuxImage(data) {
		return parseLinuxImage(data, place)
	}
	switch {
	case len(data) >= 0x3c && bytes.Equal(data[0x38:0x3c], arm64Magic):
		return nil, errors.New("this is an arm64 Linux Image; popek needs a RISC-V (riscv64) kernel")
	case len(data) >= 0x206 && bytes.Equal(data[0x202:0x206], bzImageHdr):
		return nil, errors.New("this is an x86 bzImage; popek needs a RISC-V (riscv64) kernel")
	}
	if place == placeForFirmware && len(data) > 0 {
		// As QEMU's -kernel after firmware: anything else is a raw binary
		// (U-Boot's u-boot.bin, say) at the address the firmware jumps to.
		return &program{kind: "raw", entry: KernelBase,
			segments: []segment{{addr: KernelBase, data: data, memSize: uint64(len(data))}}}, nil
	}
	return nil, errors.New("not a RISC-V Linux Image, Image.gz or ELF file")
}

// parseFirmware accepts an ELF or a raw binary to run from DRAM base.
func parseFirmware(data []byte) (*program, error) {
	if bytes.HasPrefix(data, elfMagic) {
		return parseELF(data)
	}
	if len(data) == 0 {
		return nil, errors.New("empty firmware file")
	}
	return &program{kind: "raw", entry: DRAMBase,
		segments: []segment{{addr: DRAMBase, data: data, memSize: uint64(len(data))}}}, nil
}
