package board

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// consoleLog captures guest console output and lets a test wait for text.
type consoleLog struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  bytes.Buffer
	done bool
}

func newConsoleLog() *consoleLog {
	c := &consoleLog{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	c.cond.Broadcast()
	return len(p), nil
}

// finish wakes waiters for good: the machine has stopped.
func (c *consoleLog) finish() {
	c.mu.Lock()
	c.done = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// waitFor blocks until s appears at or after offset from, and returns the
// text between from and s and the offset just past s. ok is false if the
// machine stopped first.
func (c *consoleLog) waitFor(s string, from int) (before string, next int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		out := c.buf.String()
		if i := strings.Index(out[from:], s); i >= 0 {
			return out[from : from+i], from + i + len(s), true
		}
		if c.done {
			return out[from:], len(out), false
		}
		c.cond.Wait()
	}
}

// runResult is what Machine.Run returned.
type runResult struct {
	st  ExitStatus
	err error
}

// start runs m in the background; the channel yields Run's result, after
// which the console log is finished.
func start(ctx context.Context, m *Machine, log *consoleLog) <-chan runResult {
	ch := make(chan runResult, 1)
	go func() {
		st, err := m.Run(ctx)
		if log != nil {
			log.finish()
		}
		ch <- runResult{st, err}
	}()
	return ch
}

// buildTestProgram assembles testdata/name.S into a bare-metal ELF with
// the RISC-V cross toolchain, skipping the test when it is not installed.
func buildTestProgram(t *testing.T, name string) []byte {
	t.Helper()
	return buildTestProgramWith(t, name, "testdata/link.ld")
}

// buildTestProgramWith links testdata/NAME.S with the given script and the
// toolchain's default build-id note.
func buildTestProgramWith(t *testing.T, name, script string) []byte {
	t.Helper()
	gcc, err := exec.LookPath("riscv64-linux-gnu-gcc")
	if err != nil {
		t.Skip("riscv64-linux-gnu-gcc not installed")
	}
	out := filepath.Join(t.TempDir(), name+".elf")
	cmd := exec.Command(gcc, "-nostdlib", "-nostartfiles", "-static", "-no-pie", "-march=rv64gc", "-mabi=lp64",
		"-Wl,--no-warn-rwx-segments", "-Wl,--build-id", "-T", script, "testdata/"+name+".S", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("assembling %s: %v\n%s", name, err, msg)
	}
	data, err := readFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
