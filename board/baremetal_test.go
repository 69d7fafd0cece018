package board

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
)

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

// TestBareMetalPrograms boots small assembly programs through each boot
// path and checks how the machine ends.
func TestBareMetalPrograms(t *testing.T) {
	tests := []struct {
		name   string
		boot   Boot
		harts  int
		want   ExitStatus
		output string
	}{
		{"mtimer", BootBare, 1, ExitStatus{Kind: ExitToHost}, ""},
		{"tohost_fail", BootBare, 1, ExitStatus{Kind: ExitToHost, Code: 21}, "htif ok\n"},
		{"mtimer", BootBare, 3, ExitStatus{Kind: ExitToHost}, ""}, // other harts run it too
		// tohost written while, or just before, every hart sleeps for good.
		{"tohost_wfi", BootBare, 2, ExitStatus{Kind: ExitToHost, Code: 7}, ""},
		{"tohost_wfi", BootBare, 4, ExitStatus{Kind: ExitToHost, Code: 7}, ""},
		{"tohost_wfi0", BootBare, 1, ExitStatus{Kind: ExitToHost, Code: 9}, ""},
		{"storefault", BootDirect, 1, ExitStatus{Kind: ExitPoweroff}, ""},
		{"fetchfault", BootDirect, 1, ExitStatus{Kind: ExitPoweroff}, ""},
		{"uirq", BootDirect, 1, ExitStatus{Kind: ExitPoweroff}, ""},
		{"hsm", BootDirect, 2, ExitStatus{Kind: ExitPoweroff}, ""},
		{"rfence", BootDirect, 2, ExitStatus{Kind: ExitPoweroff}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			elf := buildTestProgram(t, tc.name)
			log := newConsoleLog()
			m, err := New(Config{Harts: tc.harts, MemSize: 32 << 20, Boot: tc.boot, Kernel: elf, Console: log})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			// A safety net against a hang, not a timing assertion: a run
			// that never ends fails as canceled.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res := <-start(ctx, m, log)
			if res.err != nil || res.st != tc.want {
				t.Errorf("Run = %v, %v; want %v (console %q)", res.st, res.err, tc.want, log.String())
			}
			if tc.output != "" && !strings.Contains(log.String(), tc.output) {
				t.Errorf("console %q lacks %q", log.String(), tc.output)
			}
		})
	}
}

// panicDevice is a virtio device model with a bug: reading its config
// space panics.
type panicDevice struct{ virtio.RNG }

func (panicDevice) ReadConfig(off uint64, p []byte) { panic("config read bug") }

// TestELFHeadersBelowRAM runs a program linked as riscv-tests links its
// tests with Debian's toolchain: its first LOAD segment starts a page below
// DRAM with the ELF headers, which no section holds. popek leaves them out,
// as QEMU does, instead of refusing the file.
func TestELFHeadersBelowRAM(t *testing.T) {
	elf := buildTestProgramWith(t, "tohost_fail", "testdata/link_headers.ld")
	p, err := parseELF(elf)
	if err != nil {
		t.Fatal(err)
	}
	if p.segments[0].addr < DRAMBase {
		t.Fatalf("first segment at %#x, below RAM", p.segments[0].addr)
	}
	log := newConsoleLog()
	m, err := New(Config{Harts: 1, MemSize: 32 << 20, Boot: BootBare, Kernel: elf, Console: log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
	defer cancel()
	if res := <-start(ctx, m, log); res.err != nil || res.st != (ExitStatus{Kind: ExitToHost, Code: 21}) {
		t.Errorf("Run = %v, %v; want tohost code 21 (console %q)", res.st, res.err, log.String())
	}
}

func TestHartPanicBecomesError(t *testing.T) {
	elf := buildTestProgram(t, "vpanic")
	m, err := New(Config{Harts: 1, MemSize: 16 << 20, Boot: BootBare, Kernel: elf, Devices: []virtio.Device{&panicDevice{}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res := <-start(context.Background(), m, nil)
	var pe *PanicError
	if res.st.Kind != ExitError || !errors.As(res.err, &pe) || !strings.Contains(res.err.Error(), "config read bug") ||
		strings.Contains(res.err.Error(), "\n") || len(pe.Stack) == 0 {
		t.Fatalf("Run = %v, %v; want a one-line emulator error naming the panic", res.st, res.err)
	}
}

// spin is an M-mode program that loops forever: "j ." at DRAM base.
func spinProgram(t *testing.T) []byte {
	return buildTestProgram(t, "spin")
}

func TestPauseResumeAndCancel(t *testing.T) {
	m, err := New(Config{Harts: 4, MemSize: 16 << 20, Boot: BootBare, Kernel: spinProgram(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := start(ctx, m, nil)

	for round := 0; round < 20; round++ {
		// Concurrent and repeated Pause calls are fine and all return with
		// every hart parked.
		ch := make(chan struct{})
		for i := 0; i < 3; i++ {
			go func() { m.Pause(); ch <- struct{}{} }()
		}
		for i := 0; i < 3; i++ {
			<-ch
		}
		m.Pause()
		if !m.Paused() {
			t.Fatal("not paused after Pause")
		}
		t0 := m.Clock().Now()
		pcs := make([]uint64, len(m.Harts()))
		for i, h := range m.Harts() {
			pcs[i] = h.State().Retired
		}
		t1 := m.Clock().Now()
		if t0 != t1 {
			t.Fatalf("guest time moved while paused: %d -> %d", t0, t1)
		}
		for i, h := range m.Harts() {
			if r := h.State().Retired; r != pcs[i] {
				t.Fatalf("hart %d retired instructions while paused", i)
			}
		}
		m.Resume()
		m.Resume()
		if m.Paused() {
			t.Fatal("paused after Resume")
		}
	}
	cancel()
	res := <-done
	if res.err != nil || res.st.Kind != ExitCanceled {
		t.Fatalf("Run after cancel = %v, %v", res.st, res.err)
	}
	if _, err := m.Run(context.Background()); err == nil {
		t.Error("a machine ran twice")
	}
}

func TestCancelWhilePaused(t *testing.T) {
	m, err := New(Config{Harts: 2, MemSize: 16 << 20, Boot: BootBare, Kernel: spinProgram(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := start(ctx, m, nil)
	m.Pause()
	cancel()
	if res := <-done; res.st.Kind != ExitCanceled {
		t.Fatalf("Run = %v, %v", res.st, res.err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseStopsRun(t *testing.T) {
	log := newConsoleLog()
	m, err := New(Config{Harts: 2, MemSize: 16 << 20, Boot: BootBare, Kernel: spinProgram(t), Console: log})
	if err != nil {
		t.Fatal(err)
	}
	done := start(context.Background(), m, log)
	if _, _, ok := log.waitFor("up", 0); !ok {
		t.Fatal("guest never ran")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.st.Kind != ExitCanceled {
		t.Fatalf("Run after Close = %v, %v", res.st, res.err)
	}
}

// closeCounter is a device that counts Close calls.
type closeCounter struct {
	virtio.RNG
	closed *int
}

func (c *closeCounter) Close() error { *c.closed++; return nil }

func TestNewErrors(t *testing.T) {
	kernel := fakeImage(4096, 0x200000, 0x10000)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no harts", Config{Harts: 0, MemSize: 64 << 20, Kernel: kernel}, "harts"},
		{"too many harts", Config{Harts: 33, MemSize: 64 << 20, Kernel: kernel}, "harts"},
		{"tiny memory", Config{Harts: 1, MemSize: 1 << 20, Kernel: kernel}, "too small"},
		{"odd memory", Config{Harts: 1, MemSize: 64<<20 + 1, Kernel: kernel}, "multiple of 4 KiB"},
		{"no kernel", Config{Harts: 1, MemSize: 64 << 20}, "needs a kernel"},
		{"no firmware", Config{Harts: 1, MemSize: 64 << 20, Boot: BootFirmware}, "firmware"},
		{"initrd without kernel", Config{Harts: 1, MemSize: 64 << 20, Boot: BootFirmware, Firmware: []byte{1, 2, 3, 4}, Initrd: []byte{1}}, "initrd needs a kernel"},
		{"bad mmu", Config{Harts: 1, MemSize: 64 << 20, Kernel: kernel, MMU: "sv32"}, "MMU"},
		{"not a kernel", Config{Harts: 1, MemSize: 64 << 20, Kernel: []byte("hello")}, "kernel: not a RISC-V"},
		{"bare Image", Config{Harts: 1, MemSize: 64 << 20, Boot: BootBare, Kernel: kernel}, "needs an ELF"},
		{"kernel too big", Config{Harts: 1, MemSize: 4 << 20, Kernel: fakeImage(4096, 0x200000, 8<<20)}, "too big"},
		{"initrd too big", Config{Harts: 1, MemSize: 8 << 20, Kernel: kernel, Initrd: make([]byte, 6<<20)}, "initrd"},
	}
	for _, tc := range tests {
		closed := 0
		tc.cfg.Devices = []virtio.Device{&closeCounter{closed: &closed}}
		m, err := New(tc.cfg)
		if err == nil {
			m.Close()
			t.Errorf("%s: New succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q, want one line containing %q", tc.name, err, tc.want)
		}
		if closed != 1 {
			t.Errorf("%s: device closed %d times, want 1", tc.name, closed)
		}
	}
	closed := 0
	devs := make([]virtio.Device, 9)
	for i := range devs {
		devs[i] = &closeCounter{closed: &closed}
	}
	if _, err := New(Config{Harts: 1, MemSize: 64 << 20, Kernel: kernel, Devices: devs}); err == nil || closed != 9 {
		t.Errorf("9 devices: err %v, %d closed", err, closed)
	}
}

// TestMemMerge: guest RAM is offered to KSM unless Config.NoMemMerge.
func TestMemMerge(t *testing.T) {
	elf := buildTestProgram(t, "spin")
	for _, no := range []bool{false, true} {
		m, err := New(Config{Harts: 1, MemSize: 8 << 20, Boot: BootBare, Kernel: elf, NoMemMerge: no})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ram.Mergeable(); got == no {
			t.Errorf("NoMemMerge %v: RAM mergeable %v", no, got)
		}
		m.Close()
	}
}
