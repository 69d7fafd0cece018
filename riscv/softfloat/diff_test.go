package softfloat

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var diffCases = flag.Int("softfloat.n", 0,
	"cases per operation for TestDifferentialQEMU (default 20000; also $SOFTFLOAT_N)")

var diffSeed = flag.Uint64("softfloat.seed", 20260101, "random seed for TestDifferentialQEMU")

const defaultDiffCases = 20000

func diffCaseCount(t *testing.T) int {
	if *diffCases > 0 {
		return *diffCases
	}
	if s := os.Getenv("SOFTFLOAT_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("SOFTFLOAT_N=%q: want a positive integer", s)
		}
		return n
	}
	return defaultDiffCases
}

// opsInclude renders the reference program's switch cases from ops.
func opsInclude() string {
	var sb strings.Builder
	for i, op := range ops {
		var in, out string
		switch op.in {
		case kindF32:
			in = `"fmv.w.x ft0, %[a]\n\tfmv.w.x ft1, %[b]\n\tfmv.w.x ft2, %[c]\n\t"`
		case kindF64:
			in = `"fmv.d.x ft0, %[a]\n\tfmv.d.x ft1, %[b]\n\tfmv.d.x ft2, %[c]\n\t"`
		}
		switch op.out {
		case kindF32:
			out = `"\n\tfmv.x.w %[r], ft3"`
		case kindF64:
			out = `"\n\tfmv.x.d %[r], ft3"`
		}
		fmt.Fprintf(&sb, "\tcase %d: /* %s */\n\t\tasm volatile(%s PRE %q POST %s OPERANDS);\n", i, op.name, in, op.insn, out)
		if op.out.is32() {
			sb.WriteString("\t\tr &= 0xffffffffu;\n")
		}
		sb.WriteString("\t\tbreak;\n")
	}
	return sb.String()
}

// buildReference compiles testdata/fpref.c for riscv64 Linux into dir.
func buildReference(t *testing.T, gcc, dir string) string {
	src, err := os.ReadFile(filepath.Join("testdata", "fpref.c"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"fpref.c": string(src), "ops.inc": opsInclude()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "fpref")
	cmd := exec.Command(gcc, "-static", "-O2", "-march=rv64gc", "-mabi=lp64d", "-o", bin, filepath.Join(dir, "fpref.c"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building reference: %v\n%s", err, out)
	}
	return bin
}

// reference is a running fpref under qemu-riscv64.
type reference struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out io.Reader
}

type diffCase struct {
	op      int
	rm      uint8
	a, b, c uint64
}

const (
	reqSize  = 32
	respSize = 16
)

// run sends a batch and returns the reference's (result, flags) pairs.
func (r *reference) run(batch []diffCase) ([]uint64, []uint8, error) {
	req := make([]byte, 0, len(batch)*reqSize)
	for _, c := range batch {
		req = binary.LittleEndian.AppendUint32(req, uint32(c.op))
		req = binary.LittleEndian.AppendUint32(req, uint32(c.rm))
		req = binary.LittleEndian.AppendUint64(req, c.a)
		req = binary.LittleEndian.AppendUint64(req, c.b)
		req = binary.LittleEndian.AppendUint64(req, c.c)
	}
	werr := make(chan error, 1)
	go func() { _, err := r.in.Write(req); werr <- err }()
	resp := make([]byte, len(batch)*respSize)
	_, rerr := io.ReadFull(r.out, resp)
	if err := <-werr; err != nil {
		return nil, nil, err
	}
	if rerr != nil {
		return nil, nil, rerr
	}
	res := make([]uint64, len(batch))
	fl := make([]uint8, len(batch))
	for i := range batch {
		res[i] = binary.LittleEndian.Uint64(resp[i*respSize:])
		f := binary.LittleEndian.Uint64(resp[i*respSize+8:])
		if f > 0x1f {
			return nil, nil, fmt.Errorf("reference rejected case %+v", batch[i])
		}
		fl[i] = uint8(f)
	}
	return res, fl, nil
}

func flagString(fl uint8) string {
	if fl == 0 {
		return "-"
	}
	var s []string
	for _, n := range []struct {
		bit  uint8
		name string
	}{{FlagNV, "NV"}, {FlagDZ, "DZ"}, {FlagOF, "OF"}, {FlagUF, "UF"}, {FlagNX, "NX"}} {
		if fl&n.bit != 0 {
			s = append(s, n.name)
		}
	}
	return strings.Join(s, "|")
}

// TestDifferentialQEMU compares every operation against QEMU's RISC-V FPU
// (its softfloat is bit-exact) on biased random operands in all five
// rounding modes.
func TestDifferentialQEMU(t *testing.T) {
	gcc, err := exec.LookPath("riscv64-linux-gnu-gcc")
	if err != nil {
		t.Skip("riscv64-linux-gnu-gcc not installed: skipping differential test against QEMU")
	}
	qemu, err := exec.LookPath("qemu-riscv64")
	if err != nil {
		t.Skip("qemu-riscv64 not installed: skipping differential test against QEMU")
	}
	n := diffCaseCount(t)
	bin := buildReference(t, gcc, t.TempDir())

	cmd := exec.Command(qemu, bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ref := &reference{cmd: cmd, in: stdin, out: stdout}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("reference exited: %v\n%s", err, stderr.String())
		}
	}()

	gen := newCaseGen(*diffSeed)
	const batchSize = 1 << 14
	total := 0
	for i, op := range ops {
		fixed := fixedCases(i, op)
		count := len(fixed) + n
		mismatches := 0
		for done := 0; done < count; {
			batch := make([]diffCase, min(batchSize, count-done))
			for j := range batch {
				if k := done + j; k < len(fixed) {
					batch[j] = fixed[k]
					continue
				}
				a, b, c := gen.operands(op)
				batch[j] = diffCase{op: i, rm: gen.rm(), a: a, b: b, c: c}
			}
			want, wantFl, err := ref.run(batch)
			if err != nil {
				t.Fatalf("%s: reference: %v\n%s", op.name, err, stderr.String())
			}
			for j, c := range batch {
				got, gotFl := op.eval(c.a, c.b, c.c, c.rm)
				if got == want[j] && gotFl == wantFl[j] {
					continue
				}
				if mismatches < 10 {
					t.Errorf("%s rm=%d a=%#x b=%#x c=%#x: got %#x %s, QEMU %#x %s",
						op.name, c.rm, c.a, c.b, c.c, got, flagString(gotFl), want[j], flagString(wantFl[j]))
				}
				mismatches++
			}
			done += len(batch)
		}
		total += count
		if mismatches > 0 {
			t.Errorf("%s: %d of %d cases differ from QEMU", op.name, mismatches, count)
		}
	}
	t.Logf("%d cases over %d operations compared with QEMU", total, len(ops))
}

// fixedCases are run before the random ones: the hand-checked corner
// cases, then every combination of special operands in every rounding
// mode.
func fixedCases(i int, op opSpec) []diffCase {
	var cs []diffCase
	for _, tc := range cornerCases {
		if tc.op == op.name {
			cs = append(cs, diffCase{op: i, rm: tc.rm, a: tc.a, b: tc.b, c: tc.c})
		}
	}
	var vals []uint64
	if op.in.isFloat() {
		vals = specialValues(formatOf(op.in))
	} else {
		vals = specialInts(op.in)
	}
	bs, c3 := []uint64{0}, []uint64{0}
	if op.arity >= 2 {
		bs = vals
	}
	if op.arity == 3 {
		c3 = vals
	}
	for rm := RNE; rm <= RMM; rm++ {
		for _, a := range vals {
			for _, b := range bs {
				for _, c := range c3 {
					cs = append(cs, diffCase{op: i, rm: rm, a: a, b: b, c: c})
				}
			}
		}
	}
	return cs
}
