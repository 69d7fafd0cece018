package board

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"
)

// testSeg is a PT_LOAD segment for buildELF.
type testSeg struct {
	vaddr, paddr uint64
	data         []byte
	memSize      uint64
}

// buildELF writes a minimal ELF64 little-endian executable with the given
// segments and, when syms is non-empty, a symbol table.
func buildELF(machine elf.Machine, entry uint64, segs []testSeg, syms map[string]uint64) []byte {
	le := binary.LittleEndian
	const ehsize, phsize, shsize = 64, 56, 64
	var body bytes.Buffer
	dataOff := uint64(ehsize + phsize*len(segs))
	offsets := make([]uint64, len(segs))
	for i, s := range segs {
		offsets[i] = dataOff + uint64(body.Len())
		body.Write(s.data)
	}
	var shdrs []byte
	shnum, shstrndx := 0, 0
	var shoff uint64
	if len(syms) > 0 {
		// Sections: null, .symtab, .strtab, .shstrtab.
		strtab := []byte{0}
		symtab := make([]byte, 24) // null symbol
		for name, val := range syms {
			sym := make([]byte, 24)
			le.PutUint32(sym[0:], uint32(len(strtab)))
			sym[4] = byte(elf.STB_GLOBAL)<<4 | byte(elf.STT_OBJECT)
			le.PutUint16(sym[6:], uint16(elf.SHN_ABS))
			le.PutUint64(sym[8:], val)
			le.PutUint64(sym[16:], 8)
			symtab = append(symtab, sym...)
			strtab = append(append(strtab, name...), 0)
		}
		shstr := []byte("\x00.symtab\x00.strtab\x00.shstrtab\x00")
		symOff := dataOff + uint64(body.Len())
		body.Write(symtab)
		strOff := dataOff + uint64(body.Len())
		body.Write(strtab)
		shstrOff := dataOff + uint64(body.Len())
		body.Write(shstr)
		for body.Len()%8 != 0 {
			body.WriteByte(0)
		}
		shoff = dataOff + uint64(body.Len())
		sh := func(name uint32, typ elf.SectionType, off, size uint64, link, info uint32, entsize uint64) {
			b := make([]byte, shsize)
			le.PutUint32(b[0:], name)
			le.PutUint32(b[4:], uint32(typ))
			le.PutUint64(b[24:], off)
			le.PutUint64(b[32:], size)
			le.PutUint32(b[40:], link)
			le.PutUint32(b[44:], info)
			le.PutUint64(b[48:], 1)
			le.PutUint64(b[56:], entsize)
			shdrs = append(shdrs, b...)
		}
		sh(0, elf.SHT_NULL, 0, 0, 0, 0, 0)
		sh(1, elf.SHT_SYMTAB, symOff, uint64(len(symtab)), 2, 1, 24)
		sh(9, elf.SHT_STRTAB, strOff, uint64(len(strtab)), 0, 0, 0)
		sh(17, elf.SHT_STRTAB, shstrOff, uint64(len(shstr)), 0, 0, 0)
		shnum, shstrndx = 4, 3
	}
	hdr := make([]byte, ehsize)
	copy(hdr, "\x7fELF")
	hdr[4], hdr[5], hdr[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1
	le.PutUint16(hdr[16:], uint16(elf.ET_EXEC))
	le.PutUint16(hdr[18:], uint16(machine))
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[24:], entry)
	le.PutUint64(hdr[32:], ehsize)
	le.PutUint64(hdr[40:], shoff)
	le.PutUint16(hdr[52:], ehsize)
	le.PutUint16(hdr[54:], phsize)
	le.PutUint16(hdr[56:], uint16(len(segs)))
	le.PutUint16(hdr[58:], shsize)
	le.PutUint16(hdr[60:], uint16(shnum))
	le.PutUint16(hdr[62:], uint16(shstrndx))
	out := hdr
	for i, s := range segs {
		ph := make([]byte, phsize)
		le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
		le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
		le.PutUint64(ph[8:], offsets[i])
		le.PutUint64(ph[16:], s.vaddr)
		le.PutUint64(ph[24:], s.paddr)
		le.PutUint64(ph[32:], uint64(len(s.data)))
		le.PutUint64(ph[40:], s.memSize)
		le.PutUint64(ph[48:], 8)
		out = append(out, ph...)
	}
	out = append(out, body.Bytes()...)
	return append(out, shdrs...)
}

// elf32Header is a valid, segment-less ELF32 RISC-V header.
func elf32Header() []byte {
	le := binary.LittleEndian
	h := make([]byte, 52)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), 1
	le.PutUint16(h[16:], uint16(elf.ET_EXEC))
	le.PutUint16(h[18:], uint16(elf.EM_RISCV))
	le.PutUint32(h[20:], 1)
	le.PutUint16(h[40:], 52)
	le.PutUint16(h[42:], 32)
	le.PutUint16(h[46:], 40)
	return h
}

func TestParseELF(t *testing.T) {
	code := []byte{0x13, 0, 0, 0, 0x73, 0, 0x50, 0x10}
	prog, err := parseELF(buildELF(elf.EM_RISCV, 0x80000000, []testSeg{
		{vaddr: 0x80000000, paddr: 0x80000000, data: code, memSize: 0x1000},
		{vaddr: 0xffffffff80001000, paddr: 0x80001000, data: []byte{1, 2}, memSize: 8},
	}, map[string]uint64{"tohost": 0xffffffff80001000}))
	if err != nil {
		t.Fatal(err)
	}
	if prog.entry != 0x80000000 || len(prog.segments) != 2 {
		t.Fatalf("entry %#x, %d segments", prog.entry, len(prog.segments))
	}
	if s := prog.segments[0]; s.addr != 0x80000000 || s.memSize != 0x1000 || !bytes.Equal(s.data, code) {
		t.Errorf("segment 0 = %#x+%#x %x", s.addr, s.memSize, s.data)
	}
	if prog.toHost != 0x80001000 {
		t.Errorf("tohost at %#x, want the physical 0x80001000", prog.toHost)
	}
	if lo, hi := prog.span(); lo != 0x80000000 || hi != 0x80001008 {
		t.Errorf("span %#x-%#x", lo, hi)
	}

	plain, err := parseELF(buildELF(elf.EM_RISCV, 0x80000000, []testSeg{{vaddr: 0x80000000, paddr: 0x80000000, data: code, memSize: 8}}, nil))
	if err != nil || plain.toHost != 0 {
		t.Errorf("ELF without symbols: tohost %#x, err %v", plain.toHost, err)
	}
}

func TestParseELFRejects(t *testing.T) {
	seg := []testSeg{{vaddr: 0x80000000, paddr: 0x80000000, data: []byte{1, 2, 3, 4}, memSize: 4}}
	good := buildELF(elf.EM_RISCV, 0x80000000, seg, nil)
	truncated := append([]byte(nil), good[:len(good)-2]...)
	bigFile := buildELF(elf.EM_RISCV, 0x80000000, []testSeg{{vaddr: 0, paddr: 0x80000000, data: []byte{1, 2, 3, 4}, memSize: 2}}, nil)
	wrap := buildELF(elf.EM_RISCV, 0x80000000, []testSeg{{vaddr: 0, paddr: ^uint64(0) - 1, data: []byte{1}, memSize: 8}}, nil)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"x86-64", buildELF(elf.EM_X86_64, 0, seg, nil), "EM_X86_64, not RISC-V"},
		{"aarch64", buildELF(elf.EM_AARCH64, 0, seg, nil), "EM_AARCH64, not RISC-V"},
		{"rv32", elf32Header(), "ELFCLASS32"},
		{"truncated segment", truncated, "corrupt ELF"},
		{"filesz > memsz", bigFile, "file size"},
		{"wrapping segment", wrap, "wraps"},
		{"no segments", buildELF(elf.EM_RISCV, 0, nil, nil), "no loadable segments"},
		{"garbage", []byte("\x7fELF garbage"), "corrupt ELF"},
	}
	for _, tc := range tests {
		_, err := parseELF(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
