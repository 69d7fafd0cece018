package isatest

import (
	"debug/elf"
	"fmt"

	"github.com/popek-vm/popek/mem"
)

// Image is a loaded bare-metal program.
type Image struct {
	Entry   uint64
	Symbols map[string]uint64 // every named symbol, local ones included
}

// LoadELF copies the PT_LOAD segments of the RISC-V ELF at path into ram
// (zero-filling past the file size) and returns its entry and symbols.
func LoadELF(path string, ram *mem.RAM) (*Image, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Machine != elf.EM_RISCV || f.Class != elf.ELFCLASS64 {
		return nil, fmt.Errorf("%s: not a 64-bit RISC-V ELF", path)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		dst, ok := ram.Slice(p.Paddr, p.Memsz)
		if !ok {
			return nil, fmt.Errorf("%s: segment [%#x, +%#x) outside RAM", path, p.Paddr, p.Memsz)
		}
		n, err := p.ReadAt(dst[:p.Filesz], 0)
		if err != nil || uint64(n) != p.Filesz {
			return nil, fmt.Errorf("%s: read segment at %#x: %v", path, p.Paddr, err)
		}
		clear(dst[p.Filesz:])
		ram.MarkDirtyRange(p.Paddr, p.Memsz)
	}
	img := &Image{Entry: f.Entry, Symbols: map[string]uint64{}}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: symbols: %w", path, err)
	}
	for _, s := range syms {
		if s.Name != "" {
			img.Symbols[s.Name] = s.Value
		}
	}
	return img, nil
}

// Symbol returns the address of name or an error naming the program.
func (img *Image) Symbol(name string) (uint64, error) {
	a, ok := img.Symbols[name]
	if !ok {
		return 0, fmt.Errorf("symbol %q not in image", name)
	}
	return a, nil
}
