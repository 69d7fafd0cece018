package smptest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/popek-vm/popek/board"
)

// bareProgram is an M-mode test program built from testdata/bare: the
// ELF image and where its params and results structs are.
type bareProgram struct {
	image           []byte
	params, results uint64 // guest-physical addresses
	paramsOff       int    // file offset of params
	paramsSize      uint64
	resultsSize     uint64
}

// buildBare compiles testdata/bare/crt.S and name.c into an ELF linked at
// DRAM base, skipping the test when the cross compiler is missing.
func buildBare(t *testing.T, name string) *bareProgram {
	t.Helper()
	gcc, err := exec.LookPath("riscv64-linux-gnu-gcc")
	if err != nil {
		t.Skip("riscv64-linux-gnu-gcc not installed")
	}
	out := filepath.Join(t.TempDir(), name+".elf")
	cmd := exec.Command(gcc, "-O2", "-Wall", "-Wextra", "-Werror",
		"-march=rv64ima_zicsr_zifencei", "-mabi=lp64", "-mcmodel=medany", "-fno-pic",
		"-ffreestanding", "-fno-builtin", "-nostdlib", "-nostartfiles", "-static", "-no-pie",
		"-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-T", "testdata/bare/link.ld",
		"testdata/bare/crt.S", "testdata/bare/"+name+".c", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, msg)
	}
	p := &bareProgram{}
	if p.image, err = os.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		switch s.Name {
		case "params":
			p.params, p.paramsSize = s.Value, s.Size
			sec := f.Sections[s.Section]
			p.paramsOff = int(sec.Offset + s.Value - sec.Addr)
		case "results":
			p.results, p.resultsSize = s.Value, s.Size
		}
	}
	if p.params == 0 || p.results == 0 {
		t.Fatalf("%s has no params or results symbol", name)
	}
	return p
}

// withParams returns the ELF image with the params struct set to vals.
func (p *bareProgram) withParams(t *testing.T, vals ...uint64) []byte {
	t.Helper()
	if uint64(len(vals))*8 != p.paramsSize {
		t.Fatalf("%d params for a %d-byte struct", len(vals), p.paramsSize)
	}
	img := append([]byte(nil), p.image...)
	for i, v := range vals {
		binary.LittleEndian.PutUint64(img[p.paramsOff+8*i:], v)
	}
	return img
}

// bareRun is how one run of a bare program ended.
type bareRun struct {
	status  board.ExitStatus
	results []uint64 // the results struct as words, read after the run
}

// runBare runs image on harts harts in M-mode until it exits.
func runBare(t *testing.T, p *bareProgram, harts int, image []byte) bareRun {
	t.Helper()
	m, err := board.New(board.Config{Harts: harts, MemSize: 16 << 20, Boot: board.BootBare, Kernel: image})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Run(bareContext(t))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	raw, ok := m.RAM().Slice(p.results, p.resultsSize)
	if !ok {
		t.Fatalf("results at %#x are outside RAM", p.results)
	}
	r := bareRun{status: st, results: make([]uint64, p.resultsSize/8)}
	for i := range r.results {
		r.results[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	if st.Kind == board.ExitCanceled {
		t.Fatalf("the program did not finish; results %v", r.results)
	}
	return r
}

// ipiRing's results layout (ipi_ring.c).
const maxBareHarts = 8

type ipiResults struct {
	timer, ipi, done                     [maxBareHarts]uint64
	earlyTimer, msipStuck, badTrap, laps uint64
}

func decodeIPI(t *testing.T, w []uint64) ipiResults {
	t.Helper()
	if len(w) != 28 {
		t.Fatalf("ipi_ring.c results are %d words, this test knows 28", len(w))
	}
	var r ipiResults
	copy(r.timer[:], w[0:8])
	copy(r.ipi[:], w[8:16])
	copy(r.done[:], w[16:24])
	r.earlyTimer, r.msipStuck, r.badTrap, r.laps = w[24], w[25], w[26], w[27]
	return r
}

// TestIPIRing: every hart takes its own CLINT timer interrupts and passes
// an IPI token round the ring; hart 0 reports through HTIF tohost and the
// host checks every count.
func TestIPIRing(t *testing.T) {
	p := buildBare(t, "ipi_ring")
	tests := []struct {
		harts               int
		laps, ticks, period uint64
	}{
		{1, 10, 5, 2000},
		{2, 200, 10, 1000},
		{3, 100, 20, 1000},
		{4, 300, 30, 500},
		{8, 50, 5, 5000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%dharts-%dlaps", tc.harts, tc.laps), func(t *testing.T) {
			img := p.withParams(t, uint64(tc.harts), tc.laps, tc.ticks, tc.period)
			run := runBare(t, p, tc.harts, img)
			r := decodeIPI(t, run.results)
			if run.status != (board.ExitStatus{Kind: board.ExitToHost}) {
				t.Errorf("exit %v, want tohost pass; results %+v", run.status, r)
			}
			for h := 0; h < tc.harts; h++ {
				if r.timer[h] != tc.ticks || r.ipi[h] != tc.laps || r.done[h] != 1 {
					t.Errorf("hart %d: %d timer interrupts, %d IPIs, done %d; want %d, %d, 1",
						h, r.timer[h], r.ipi[h], r.done[h], tc.ticks, tc.laps)
				}
			}
			if r.earlyTimer != 0 || r.msipStuck != 0 || r.badTrap != 0 || r.laps != tc.laps {
				t.Errorf("early timer %d, stuck MSIP %d, bad traps %d, laps %d (want %d)",
					r.earlyTimer, r.msipStuck, r.badTrap, r.laps, tc.laps)
			}
		})
	}
}

// TestIPIRingThroughCLI runs the ring with the real binary's
// `--bios none --kernel ... --smp 3`, whose exit status is the verdict.
func TestIPIRingThroughCLI(t *testing.T) {
	p := buildBare(t, "ipi_ring")
	dir := t.TempDir()
	popek := filepath.Join(dir, "popek")
	build := exec.Command(goTool(), "build", "-o", popek, "github.com/popek-vm/popek/cmd/popek")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building popek: %v\n%s", err, msg)
	}
	for _, tc := range []struct {
		laps uint64
		want int
	}{{100, 0}, {0, 6}} { // laps 0: the program's parameter check fails with code 6
		k := filepath.Join(dir, fmt.Sprintf("ring%d.elf", tc.laps))
		if err := os.WriteFile(k, p.withParams(t, 3, tc.laps, 20, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(bareContext(t), popek, "run", "--bios", "none", "--kernel", k, "--smp", "3", "--rng=false")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("laps %d: exit code %d, want %d; output %q", tc.laps, code, tc.want, out)
		}
	}
}

// litmus.c's tests and results layout.
const (
	litmusAmoaddW = iota
	litmusAmoaddD
	litmusLRSCW
	litmusLRSCD
	litmusSpinlock
	litmusMP
	litmusSB
)

type litmusResults struct {
	counter, violations uint64
	observed            [maxBareHarts]uint64
	scFailures          uint64
}

func decodeLitmus(t *testing.T, w []uint64) litmusResults {
	t.Helper()
	if len(w) != 11 {
		t.Fatalf("litmus.c results are %d words, this test knows 11", len(w))
	}
	var r litmusResults
	r.counter, r.violations = w[0], w[1]
	copy(r.observed[:], w[2:10])
	r.scFailures = w[10]
	return r
}

// TestLitmus runs each atomicity and ordering test on all harts at once,
// several times with different iteration counts. The counters must be
// exact, computed here independently of the guest's own check.
func TestLitmus(t *testing.T) {
	p := buildBare(t, "litmus")
	counts := []uint64{1, 1000, 100000, 1000000}
	// A hand-off needs the other hart to run: with more harts than host
	// cores, each one can cost a host scheduling quantum.
	rounds, crowded := []uint64{1, 3000, 60000}, []uint64{1, 100}
	if raceDetector {
		counts, rounds = []uint64{1, 1000, 20000}, []uint64{1, 3000}
	}
	tests := []struct {
		name  string
		test  uint64
		harts int
		iters []uint64
		// counter is the expected final counter for total increments.
		counter func(total uint64) uint64
	}{
		{"amoadd.w", litmusAmoaddW, 4, counts, func(n uint64) uint64 { return uint64(uint32(n)) }},
		{"amoadd.d", litmusAmoaddD, 4, counts, func(n uint64) uint64 { return n * 0x100000001 }},
		{"lr-sc.w", litmusLRSCW, 4, counts, func(n uint64) uint64 { return uint64(uint32(n)) }},
		{"lr-sc.d", litmusLRSCD, 4, counts, func(n uint64) uint64 { return n * 0x100000001 }},
		{"spinlock", litmusSpinlock, 4, counts, func(n uint64) uint64 { return n }},
		{"spinlock-8harts", litmusSpinlock, 8, counts[:len(counts)-1], func(n uint64) uint64 { return n }},
		{"mp", litmusMP, 2, rounds, nil},
		{"mp-3harts", litmusMP, 3, crowded, nil},
		{"sb", litmusSB, 2, counts, nil},
	}
	for _, tc := range tests {
		for _, n := range tc.iters {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				run := runBare(t, p, tc.harts, p.withParams(t, uint64(tc.harts), n, tc.test))
				r := decodeLitmus(t, run.results)
				if run.status != (board.ExitStatus{Kind: board.ExitPoweroff}) {
					t.Errorf("exit %v, want the test device's pass; results %+v", run.status, r)
				}
				if tc.counter != nil {
					if want := tc.counter(n * uint64(tc.harts)); r.counter != want {
						t.Errorf("counter %#x, want %#x", r.counter, want)
					}
				}
				if r.violations != 0 {
					t.Errorf("%d ordering or exclusion violations", r.violations)
				}
				switch tc.test {
				case litmusLRSCW, litmusLRSCD:
					t.Logf("%d failed store-conditionals", r.scFailures)
				case litmusMP:
					for h := 1; h < tc.harts; h++ {
						if r.observed[h] != n {
							t.Errorf("reader %d completed %d rounds, want %d", h, r.observed[h], n)
						}
					}
				case litmusSB:
					// How often the harts overlapped: without overlap the
					// test cannot see a reordering.
					t.Logf("rounds where hart 0 / hart 1 read the other's store: %d / %d of %d", r.observed[0], r.observed[1], n)
				}
			})
		}
	}
}
