package isatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// isaPrograms lists the test programs in testdata (everything but the
// runtime, which is linked into each).
func isaPrograms(t *testing.T) []string {
	t.Helper()
	srcs, err := filepath.Glob(filepath.Join("testdata", "*.S"))
	if err != nil {
		t.Fatal(err)
	}
	var progs []string
	for _, s := range srcs {
		if name := strings.TrimSuffix(filepath.Base(s), ".S"); name != "runtime" {
			progs = append(progs, name)
		}
	}
	if len(progs) == 0 {
		t.Fatal("no test programs in testdata")
	}
	return progs
}

// needCC returns the cross compiler or skips the test.
func needCC(t *testing.T) string {
	t.Helper()
	cc, err := FindCC()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	return cc
}

// useQEMU reports whether QEMU runs are wanted and possible.
func useQEMU(t *testing.T) (string, bool) {
	if os.Getenv("POPEK_ISATEST_QEMU") == "0" {
		return "", false
	}
	q, err := FindQEMU()
	if err != nil {
		t.Logf("qemu-system-riscv64 not found: programs are not validated on QEMU")
		return "", false
	}
	return q, true
}

// caseSource finds the source line that defines test case n of program
// name, looking in the program and the files it includes.
func caseSource(name string, n uint64) string {
	re := regexp.MustCompile(fmt.Sprintf(`^\s*[A-Z_0-9]+\(\s*%d\s*,`, n))
	files := []string{name + ".S"}
	if strings.HasPrefix(name, "sv") {
		files = append(files, "mmu_common.inc")
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			if re.MatchString(line) {
				return fmt.Sprintf("%s:%d: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	return "(case not found in source)"
}

var abiNames = [32]string{"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
	"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
	"s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"}

// TestISA builds every program and runs it on QEMU (which validates the
// program) and on popek's hart. Subtests: TestISA/<prog>/{qemu,hart}.
func TestISA(t *testing.T) {
	cc := needCC(t)
	qemu, haveQEMU := useQEMU(t)
	dir := t.TempDir()
	for _, name := range isaPrograms(t) {
		elfPath := filepath.Join(dir, name+".elf")
		buildErr := Build(cc, "testdata", elfPath, filepath.Join("testdata", name+".S"))
		t.Run(name, func(t *testing.T) {
			if buildErr != nil {
				t.Fatal(buildErr)
			}
			t.Run("qemu", func(t *testing.T) {
				if !haveQEMU {
					t.Skip("QEMU not available")
				}
				res, err := RunQEMU(qemu, elfPath, 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if res.Code != 0 {
					t.Errorf("the test program itself fails on QEMU: case %d (%s)\n%s",
						res.Code, caseSource(name, uint64(res.Code)), res.Output)
				}
			})
			t.Run("board", func(t *testing.T) {
				popek := os.Getenv("POPEK_ISATEST_BOARD")
				if popek == "" {
					t.Skip("set POPEK_ISATEST_BOARD=/path/to/popek to run through the real board")
				}
				code, out, err := runOnBoard(popek, elfPath)
				if err != nil {
					t.Fatal(err)
				}
				if code != 0 {
					t.Errorf("case %d failed: %s\n%s", code, caseSource(name, uint64(code)), out)
				}
			})
			t.Run("hart", func(t *testing.T) {
				res, err := runOnHart(elfPath)
				if err != nil {
					t.Fatal(err)
				}
				defer res.ram.Close()
				switch {
				case !res.finished:
					t.Errorf("%s; pc=%#x priv=%d retired=%d\nUART: %s", res.reason, res.pc, res.priv, res.retired, res.uart)
				case !res.passed:
					t.Errorf("case %d failed: %s\n%s%s", res.code, caseSource(name, res.code),
						strings.TrimSpace(res.uart), regReport(res))
				}
			})
		})
	}
}

// runOnBoard runs the program with `popek run --bios none --kernel`, whose
// exit status is the tohost code.
func runOnBoard(popek, elfPath string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wallGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, popek, "run", "--bios", "none", "--kernel", elfPath, "-m", "128M")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return 0, string(out), fmt.Errorf("popek: no result after %v: %s", wallGuard, out)
	case err == nil:
		return 0, string(out), nil
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out), nil
	}
	return 0, string(out), err
}

// regReport shows the registers at the failure (t6 holds the expected
// value of a failed TEST_CASE, the checked register the result).
func regReport(res *hartResult) string {
	regs, ok := res.failRegs()
	if !ok {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nregisters at fail:")
	for i := 1; i < 32; i++ {
		if i%4 == 1 {
			b.WriteString("\n ")
		}
		fmt.Fprintf(&b, " %-4s=0x%016x", abiNames[i], regs[i])
	}
	return b.String()
}
