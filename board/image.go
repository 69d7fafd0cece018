package board

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Linux RISC-V boot image header (Documentation/riscv/boot-image-header.rst).
const (
	imageHeaderSize = 64
	imageAlign      = 2 << 20 // the kernel must start on a 2 MiB boundary
)

// imageHeader is the decoded boot header of a Linux RISC-V Image.
type imageHeader struct {
	textOffset uint64 // load offset from the start of DRAM
	imageSize  uint64 // effective size including BSS; 0 in very old kernels
	flags      uint64
	version    uint32
}

func decodeImageHeader(data []byte) (imageHeader, error) {
	if len(data) < imageHeaderSize {
		return imageHeader{}, errors.New("Image shorter than its 64-byte header")
	}
	h := imageHeader{
		textOffset: binary.LittleEndian.Uint64(data[8:]),
		imageSize:  binary.LittleEndian.Uint64(data[16:]),
		flags:      binary.LittleEndian.Uint64(data[24:]),
		version:    binary.LittleEndian.Uint32(data[32:]),
	}
	if h.flags&1 != 0 {
		return h, errors.New("big-endian RISC-V Image; popek is little-endian")
	}
	if h.textOffset%imageAlign != 0 {
		return h, fmt.Errorf("corrupt Image header: text_offset %#x is not 2 MiB aligned", h.textOffset)
	}
	if h.imageSize != 0 && h.imageSize < uint64(len(data)) {
		return h, fmt.Errorf("corrupt Image header: image_size %#x is smaller than the file (%#x bytes)", h.imageSize, len(data))
	}
	return h, nil
}

// parseLinuxImage turns an Image into a program at its load address.
func parseLinuxImage(data []byte, place kernelPlacement) (*program, error) {
	h, err := decodeImageHeader(data)
	if err != nil {
		return nil, err
	}
	addr := uint64(KernelBase)
	if place == placeByHeader && h.textOffset != 0 {
		addr = DRAMBase + h.textOffset
		if addr < DRAMBase {
			return nil, fmt.Errorf("corrupt Image header: text_offset %#x overflows", h.textOffset)
		}
	}
	size := max(h.imageSize, uint64(len(data)))
	if addr+size < addr {
		return nil, fmt.Errorf("corrupt Image header: image_size %#x overflows", h.imageSize)
	}
	return &program{kind: "Image", entry: addr,
		segments: []segment{{addr: addr, data: data, memSize: size}}}, nil
}
