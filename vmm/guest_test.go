package vmm

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bare-metal guests for tests, as RV64 machine code run in M-mode from
// DRAM base (bios: none), so lifecycle tests need no Linux boot.
var (
	// busyLoop spins: j .
	busyLoop = []uint32{0x0000006f}
	// idleLoop sleeps: wfi; j .-4
	idleLoop = []uint32{0x10500073, 0xffdff06f}
	// poweroff writes FINISHER_PASS to the SiFive test device.
	poweroff = []uint32{0x001002b7, 0x00005337, 0x55530313, 0x0062a023, 0x0000006f}
	// echo prints '>' and then echoes UART input back, polling LSR.DR.
	echo = []uint32{
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

// bareELF wraps code in a minimal ELF64 RISC-V executable loaded at
// 0x80000000.
func bareELF(code []uint32) []byte {
	const base = 0x80000000
	const ehsize, phsize = 64, 56
	var text bytes.Buffer
	for _, w := range code {
		binary.Write(&text, binary.LittleEndian, w)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(2))   // ET_EXEC
	binary.Write(&b, le, uint16(243)) // EM_RISCV
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, uint64(base))          // entry
	binary.Write(&b, le, uint64(ehsize))        // phoff
	binary.Write(&b, le, uint64(0))             // shoff
	binary.Write(&b, le, uint32(0))             // flags
	binary.Write(&b, le, uint16(ehsize))        // ehsize
	binary.Write(&b, le, uint16(phsize))        // phentsize
	binary.Write(&b, le, uint16(1))             // phnum
	binary.Write(&b, le, [3]uint16{64, 0, 0})   // shentsize, shnum, shstrndx
	binary.Write(&b, le, uint32(1))             // PT_LOAD
	binary.Write(&b, le, uint32(5))             // R+X
	binary.Write(&b, le, uint64(ehsize+phsize)) // offset
	binary.Write(&b, le, uint64(base))          // vaddr
	binary.Write(&b, le, uint64(base))          // paddr
	binary.Write(&b, le, uint64(text.Len()))    // filesz
	binary.Write(&b, le, uint64(text.Len()))    // memsz
	binary.Write(&b, le, uint64(4))             // align
	b.Write(text.Bytes())
	return b.Bytes()
}

// writeGuest stores a bare-metal guest in dir and returns its path.
func writeGuest(t testing.TB, dir, name string, code []uint32) string {
	t.Helper()
	p := filepath.Join(dir, name+".elf")
	if err := os.WriteFile(p, bareELF(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// bareConfig is a small bare-metal VM running kernel.
func bareConfig(name, kernel string) *Config {
	off := false
	return &Config{Name: name, Kernel: kernel, BIOS: "none", Memory: "16M", RNG: &off}
}

// newTestManager opens a manager on a fresh state directory.
func newTestManager(t testing.TB, opts Options) *Manager {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	m, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// waitFor polls cond until it holds or the test's deadline approaches.
// Tests wait for events, never for amounts of time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	if d, ok := t.(*testing.T); ok {
		if dl, ok := d.Deadline(); ok && time.Until(dl) < 3*time.Minute {
			deadline = dl.Add(-20 * time.Second)
		}
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitConsole waits until the VM's console output since pos contains
// want and returns the offset just past it.
func waitConsole(t testing.TB, m *Manager, name string, pos uint64, want string) uint64 {
	t.Helper()
	cs, err := m.Console(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var seen []byte
	buf := make([]byte, 4096)
	for {
		n, next, _, err := cs.ReadAt(ctx, buf, pos)
		if err != nil {
			t.Fatalf("waiting for %q on %s's console: %v; got %q", want, name, err, tail(seen))
		}
		seen = append(seen, buf[:n]...)
		pos = next
		if i := strings.Index(string(seen), want); i >= 0 {
			return pos - uint64(len(seen)-i-len(want))
		}
		if keep := len(want) + 4096; len(seen) > 2*keep {
			seen = append(seen[:0], seen[len(seen)-keep:]...) // bounded: the console may flood
		}
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
