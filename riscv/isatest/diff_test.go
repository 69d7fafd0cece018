package isatest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Differential test sizes; POPEK_SLOW=1 (test.sh --slow) selects the long
// run, and POPEK_DIFF_N / POPEK_DIFF_LEN / POPEK_DIFF_SEED override either
// (e.g. to reproduce one stream).
const (
	defaultDiffStreams = 50
	defaultDiffLen     = 200
	slowDiffStreams    = 400
	slowDiffLen        = 500
	defaultDiffSeed    = 1
)

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// differ runs stream prefixes on QEMU and on the hart.
type differ struct {
	t    *testing.T
	cc   string
	qemu string
	dir  string
}

// build writes and builds the program for the first prefix instructions.
func (d *differ) build(s *Stream, prefix int) (string, error) {
	base := filepath.Join(d.dir, fmt.Sprintf("diff_%d_%d", s.Seed, prefix))
	if err := os.WriteFile(base+".S", []byte(s.Program(prefix)), 0o644); err != nil {
		return "", err
	}
	return base + ".elf", Build(d.cc, "testdata", base+".elf", base+".S")
}

// parseDump reads the hex words the program printed.
func parseDump(out string) ([]uint64, error) {
	var words []uint64
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if len(line) != 16 {
			continue
		}
		v, err := strconv.ParseUint(line, 16, 64)
		if err != nil {
			continue
		}
		words = append(words, v)
	}
	if len(words) != StateWords {
		return nil, fmt.Errorf("dump has %d words, want %d; output:\n%s", len(words), StateWords, out)
	}
	return words, nil
}

func (d *differ) onQEMU(elfPath string) ([]uint64, error) {
	res, err := RunQEMU(d.qemu, elfPath, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, fmt.Errorf("program fails on QEMU (code %d):\n%s", res.Code, res.Output)
	}
	return parseDump(res.Output)
}

func (d *differ) onHart(elfPath string) ([]uint64, error) {
	res, err := runOnHart(elfPath)
	if err != nil {
		return nil, err
	}
	defer res.ram.Close()
	if !res.finished {
		return nil, fmt.Errorf("hart: %s; pc=%#x\nUART: %s", res.reason, res.pc, res.uart)
	}
	if !res.passed {
		return nil, fmt.Errorf("hart: program failed (an unexpected trap):\n%s", res.uart)
	}
	dump, err := res.img.Symbol("diff_dump")
	if err != nil {
		return nil, err
	}
	scratch, err := res.img.Symbol("diff_scratch")
	if err != nil {
		return nil, err
	}
	words := make([]uint64, 0, StateWords)
	for i := range DumpWords {
		words = append(words, res.word(dump+8*uint64(i)))
	}
	for i := range ScratchSize / 8 {
		words = append(words, res.word(scratch+8*uint64(i)))
	}
	return words, nil
}

// compare runs a prefix on both and returns the differing state slots
// (nil when equal) or an error when either side did not complete.
func (d *differ) compare(s *Stream, prefix int) ([]string, error) {
	elfPath, err := d.build(s, prefix)
	if err != nil {
		return nil, err
	}
	want, err := d.onQEMU(elfPath)
	if err != nil {
		return nil, err
	}
	got, hartErr := d.onHart(elfPath)
	if hartErr != nil {
		return []string{hartErr.Error()}, nil
	}
	var diffs []string
	for i := range want {
		if i == 0 {
			continue // x0 slot is not stored
		}
		if want[i] != got[i] {
			diffs = append(diffs, fmt.Sprintf("%s: qemu=%#x hart=%#x", StateName(i), want[i], got[i]))
		}
	}
	return diffs, nil
}

// bisect finds the shortest prefix whose state differs (the full stream
// differs, the empty one is assumed not to) and describes it.
func (d *differ) bisect(s *Stream) string {
	lo, hi := 0, len(s.Insns) // differs(hi) is known true
	var last []string
	for lo+1 < hi {
		mid := (lo + hi) / 2
		diffs, err := d.compare(s, mid)
		if err != nil {
			return fmt.Sprintf("bisect stopped: %v", err)
		}
		if diffs != nil {
			hi, last = mid, diffs
		} else {
			lo = mid
		}
	}
	if last == nil {
		last, _ = d.compare(s, hi)
	}
	return fmt.Sprintf("first differing instruction #%d: %s\n  %s", hi-1, s.Insns[hi-1].Text, strings.Join(last, "\n  "))
}

// TestDifferential runs random instruction streams on QEMU and on the hart
// and compares x1..x31, f0..f31, fcsr and the scratch memory.
func TestDifferential(t *testing.T) {
	cc := needCC(t)
	qemu, ok := useQEMU(t)
	if !ok {
		t.Skip("the differential test needs qemu-system-riscv64")
	}
	streams, length := defaultDiffStreams, defaultDiffLen
	if os.Getenv("POPEK_SLOW") != "" {
		streams, length = slowDiffStreams, slowDiffLen
	}
	n := envInt(t, "POPEK_DIFF_N", streams)
	length = envInt(t, "POPEK_DIFF_LEN", length)
	seed := envInt(t, "POPEK_DIFF_SEED", defaultDiffSeed)
	d := &differ{t: t, cc: cc, qemu: qemu, dir: t.TempDir()}
	failures := 0
	for i := range n {
		s := Generate(int64(seed+i), length)
		t.Run(fmt.Sprintf("seed%d", s.Seed), func(t *testing.T) {
			diffs, err := d.compare(s, len(s.Insns))
			if err != nil {
				t.Fatal(err)
			}
			if diffs != nil {
				failures++
				t.Errorf("state differs from QEMU (reproduce: POPEK_DIFF_SEED=%d POPEK_DIFF_N=1 POPEK_DIFF_LEN=%d)\n%s",
					s.Seed, length, d.bisect(s))
			}
		})
	}
	if failures > 0 {
		t.Logf("%d of %d streams differ", failures, n)
	}
}
