// Package testguest builds tiny bare-metal RV64 guests for tests of the
// VMM, the API and the CLI: machine code run in M-mode from DRAM base
// (config bios: none), so lifecycle tests need no Linux boot.
package testguest

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
)

// Programs, as RV64 instruction words.
var (
	// Busy spins: j .
	Busy = []uint32{0x0000006f}
	// Idle sleeps: wfi; j .-4
	Idle = []uint32{0x10500073, 0xffdff06f}
	// Poweroff writes FINISHER_PASS to the SiFive test device.
	Poweroff = []uint32{0x001002b7, 0x00005337, 0x55530313, 0x0062a023, 0x0000006f}
	// Echo prints '>' and then echoes UART input back, polling LSR.DR.
	Echo = []uint32{
		0x100002b7, // lui  t0, 0x10000      UART base
		0x03e00313, // li   t1, '>'
		0x00628023, // sb   t1, 0(t0)
		0x0052c303, // loop: lbu t1, 5(t0)   LSR
		0x00137313, // andi t1, t1, 1        data ready
		0xfe030ce3, // beqz t1, loop
		0x0002c383, // lbu  t2, 0(t0)        RBR
		0x00728023, // sb   t2, 0(t0)        THR
		0xfedff06f, // j    loop
	}
)

// Base is where the program is loaded and entered.
const Base = 0x80000000

// ELF wraps code in a minimal ELF64 RISC-V executable loaded at Base.
func ELF(code []uint32) []byte {
	const ehsize, phsize = 64, 56
	var text bytes.Buffer
	for _, w := range code {
		binary.Write(&text, binary.LittleEndian, w)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	put := func(v any) { binary.Write(&b, le, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}) // ELF64, little-endian, version 1
	b.Write(make([]byte, 8))
	put(uint16(2))   // ET_EXEC
	put(uint16(243)) // EM_RISCV
	put(uint32(1))
	put(uint64(Base))            // entry
	put(uint64(ehsize))          // phoff
	put(uint64(0))               // shoff
	put(uint32(0))               // flags
	put(uint16(ehsize))          // ehsize
	put(uint16(phsize))          // phentsize
	put(uint16(1))               // phnum
	put([3]uint16{64, 0, 0})     // shentsize, shnum, shstrndx
	put(uint32(1))               // PT_LOAD
	put(uint32(5))               // R+X
	put(uint64(ehsize + phsize)) // offset
	put(uint64(Base))            // vaddr
	put(uint64(Base))            // paddr
	put(uint64(text.Len()))      // filesz
	put(uint64(text.Len()))      // memsz
	put(uint64(4))               // align
	b.Write(text.Bytes())
	return b.Bytes()
}

// Write stores program code as dir/name.elf and returns the path.
func Write(dir, name string, code []uint32) (string, error) {
	p := filepath.Join(dir, name+".elf")
	return p, os.WriteFile(p, ELF(code), 0o644)
}
