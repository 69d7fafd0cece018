package board

import (
	"bytes"
	"debug/elf"
	"fmt"
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
		// Checked before anything is allocated: Filesz is the file's word,
		// and a huge one must not reach make.
		if ph.Off > uint64(len(data)) || ph.Filesz > uint64(len(data))-ph.Off {
			return nil, fmt.Errorf("corrupt ELF file: segment %d (%#x bytes at offset %#x) runs past the end of the %#x-byte file", i, ph.Filesz, ph.Off, len(data))
		}
		buf := data[ph.Off : ph.Off+ph.Filesz]
		seg := segment{addr: ph.Paddr, data: buf, memSize: ph.Memsz}
		if trim := headerPrefix(f, ph); trim > 0 && ph.Paddr < DRAMBase && ph.Paddr+trim >= DRAMBase {
			// Linkers put the ELF and program headers in the first
			// segment, before its first section: with a build-id note
			// at the start of RAM they land below it. No section holds
			// them, so, as QEMU does, leave them out instead of
			// refusing the file.
			seg = segment{addr: ph.Paddr + trim, data: buf[trim:], memSize: ph.Memsz - trim}
		}
		p.segments = append(p.segments, seg)
	}
	if len(p.segments) == 0 {
		return nil, fmt.Errorf("ELF file has no loadable segments")
	}
	p.toHost = toHostAddr(f, p.segments)
	return p, nil
}

// toHostAddr returns the physical address of the tohost symbol (translated
// through the segment holding it), or 0 when there is none. The word must
// be aligned and inside a loaded segment: the HTIF watcher reads it from
// RAM, which holds every loaded segment and nothing else is guaranteed.
func toHostAddr(f *elf.File, loaded []segment) uint64 {
	syms, err := f.Symbols()
	if err != nil {
		return 0
	}
	for _, s := range syms {
		if s.Name != "tohost" || s.Value%8 != 0 {
			continue
		}
		for _, ph := range f.Progs {
			if ph.Type != elf.PT_LOAD || s.Value < ph.Vaddr || s.Value-ph.Vaddr >= ph.Memsz || ph.Memsz-(s.Value-ph.Vaddr) < 8 {
				continue
			}
			addr := s.Value - ph.Vaddr + ph.Paddr
			for _, seg := range loaded {
				if addr%8 == 0 && addr >= seg.addr && addr-seg.addr < seg.memSize && seg.memSize-(addr-seg.addr) >= 8 {
					return addr
				}
			}
		}
	}
	return 0
}

// headerPrefix is how many bytes at the start of a segment that begins at
// file offset 0 no allocated section covers (the headers), or 0.
func headerPrefix(f *elf.File, ph *elf.Prog) uint64 {
	if ph.Off != 0 {
		return 0
	}
	lo := uint64(0)
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Addr < ph.Vaddr || s.Addr >= ph.Vaddr+ph.Memsz {
			continue
		}
		if off := s.Addr - ph.Vaddr; lo == 0 || off < lo {
			lo = off
		}
	}
	if lo > ph.Filesz {
		return 0
	}
	return lo
}
