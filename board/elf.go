package board

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
)

// parseELF loads an ELF64 little-endian RISC-V executable's PT_LOAD
// segments by physical address and finds its HTIF tohost symbol, if any.
func parseELF(data []byte) (p *program, err error) {
	// debug/elf is hardened but not guaranteed panic-free on hostile input.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("corrupt ELF file: %v", r)
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt ELF file: %v", err)
	}
	if f.Machine != elf.EM_RISCV {
		return nil, fmt.Errorf("ELF file is for %v, not RISC-V", f.Machine)
	}
	if f.Class != elf.ELFCLASS64 {
		return nil, fmt.Errorf("ELF file is %v; popek runs 64-bit RISC-V (RV64) only", f.Class)
	}
	if f.Data != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("ELF file is %v; RISC-V is little-endian", f.Data)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("ELF file is %v, not an executable", f.Type)
	}
	p = &program{kind: "ELF", entry: f.Entry}
	for i, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD || ph.Memsz == 0 {
			continue
		}
		if ph.Filesz > ph.Memsz {
			return nil, fmt.Errorf("corrupt ELF file: segment %d has file size %#x > memory size %#x", i, ph.Filesz, ph.Memsz)
		}
		if ph.Paddr+ph.Memsz < ph.Paddr {
			return nil, fmt.Errorf("corrupt ELF file: segment %d wraps the address space", i)
		}
		buf := make([]byte, ph.Filesz)
		if _, err := io.ReadFull(ph.Open(), buf); err != nil {
			return nil, fmt.Errorf("corrupt ELF file: segment %d: %v", i, err)
		}
		p.segments = append(p.segments, segment{addr: ph.Paddr, data: buf, memSize: ph.Memsz})
	}
	if len(p.segments) == 0 {
		return nil, fmt.Errorf("ELF file has no loadable segments")
	}
	p.toHost = toHostAddr(f)
	return p, nil
}

// toHostAddr returns the physical address of the tohost symbol (translated
// through the segment holding it), or 0 when there is none.
func toHostAddr(f *elf.File) uint64 {
	syms, err := f.Symbols()
	if err != nil {
		return 0
	}
	for _, s := range syms {
		if s.Name != "tohost" || s.Value%8 != 0 {
			continue
		}
		for _, ph := range f.Progs {
			if ph.Type == elf.PT_LOAD && s.Value >= ph.Vaddr && s.Value-ph.Vaddr+8 <= ph.Memsz {
				return s.Value - ph.Vaddr + ph.Paddr
			}
		}
	}
	return 0
}
