package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/popek-vm/popek/images"
)

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("this is not a kernel, just some text that is long enough........"), 0o644)
	hostELF, err := os.Executable() // the test binary: an ELF for the host
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "bad.gz")
	os.WriteFile(gz, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3}, 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"run", "--bogus"}, "unknown flag: --bogus"},
		{"stray argument", []string{"run", "vmlinux"}, `unknown command "vmlinux"`},
		{"bad memory", []string{"run", "--memory", "lots"}, "--memory: bad memory size"},
		{"memory too small", []string{"run", "--memory", "2M"}, "too small"},
		{"memory too small for kernel", []string{"run", "--memory", "8M"}, "kernel"},
		{"smp zero", []string{"run", "--smp", "0"}, "--smp 0"},
		{"smp too many", []string{"run", "--smp", "33"}, "--smp 33"},
		{"missing kernel", []string{"run", "--kernel", filepath.Join(dir, "nope")}, "no such file"},
		{"missing initrd", []string{"run", "--initrd", filepath.Join(dir, "nope")}, "--initrd"},
		{"missing bios", []string{"run", "--bios", filepath.Join(dir, "nope")}, "--bios"},
		{"not a kernel", []string{"run", "--kernel", text}, "not a RISC-V Linux Image"},
		{"host ELF", []string{"run", "--kernel", hostELF}, "not RISC-V"},
		{"corrupt gzip", []string{"run", "--kernel", gz}, "corrupt gzip"},
		{"bios none without kernel", []string{"run", "--bios", "none"}, "--bios none needs --kernel"},
		{"missing drive", []string{"run", "--drive", "file=" + filepath.Join(dir, "disk")}, "--drive"},
		{"bad drive option", []string{"run", "--drive", "file=x,cache=none"}, "unknown option"},
		{"share not a dir", []string{"run", "--share", text}, "not a directory"},
		{"bad net", []string{"run", "--net", "tap"}, "unknown network mode"},
		{"bad mmu", []string{"run", "--mmu", "sv32"}, "MMU"},
		{"too many devices", []string{"run", "--share", dir, "--share", dir, "--share", dir, "--share", dir, "--share", dir, "--share", dir, "--share", dir, "--share", dir}, "slots"},
	}
	for _, tc := range tests {
		code, _, errOut := popek(t, nil, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "popek: ") {
			t.Errorf("%s: exit %d, stderr %q; want one line containing %q", tc.name, code, errOut, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := popek(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "popek ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// assemble builds one of the board's bare-metal test programs.
func assemble(t *testing.T, name string) string {
	t.Helper()
	gcc, err := exec.LookPath("riscv64-linux-gnu-gcc")
	if err != nil {
		t.Skip("riscv64-linux-gnu-gcc not installed")
	}
	out := filepath.Join(t.TempDir(), name+".elf")
	td := "../../board/testdata/"
	cmd := exec.Command(gcc, "-nostdlib", "-nostartfiles", "-static", "-no-pie", "-march=rv64gc", "-mabi=lp64",
		"-Wl,--no-warn-rwx-segments", "-T", td+"link.ld", td+name+".S", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("assembling %s: %v\n%s", name, err, msg)
	}
	return out
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"tohost pass", []string{"--bios", "none", "--kernel", assemble(t, "mtimer")}, 0, "", ""},
		{"tohost fail", []string{"--bios", "none", "--kernel", assemble(t, "tohost_fail")}, 21, "htif ok", "tohost: FAIL code 21\n"},
		{"test device pass", []string{"--kernel", assemble(t, "storefault")}, 0, "", ""},
		{"sbi shutdown", []string{"--smp", "2", "--kernel", assemble(t, "hsm")}, 0, "", ""},
	}
	for _, tc := range tests {
		code, out, errOut := popek(t, nil, append([]string{"run", "--memory", "32M", "--rng=false"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out, tc.stdout) || errOut != tc.stderr {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.name, code, out, errOut, tc.code, tc.stdout, tc.stderr)
		}
	}
}

// watchedBuffer is a stdout a test can wait on.
type watchedBuffer struct {
	mu   sync.Mutex
	cond *sync.Cond
	b    strings.Builder
}

func newWatchedBuffer() *watchedBuffer {
	w := &watchedBuffer{}
	w.cond = sync.NewCond(&w.mu)
	return w
}

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	w.cond.Broadcast()
	return len(p), nil
}

// waitCount blocks until s has appeared n times.
func (w *watchedBuffer) waitCount(s string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for strings.Count(w.b.String(), s) < n {
		w.cond.Wait()
	}
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestRunDefaultGuest is `popek run` with no flags and a pipe on stdin: the
// embedded Linux reaches its shell, runs commands, survives the pipe's EOF,
// reboots into a fresh machine and finally powers off with exit 0.
func TestRunDefaultGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux twice; skipped in -short mode")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := newWatchedBuffer()
	var errOut strings.Builder
	done := make(chan int, 1)
	go func() { done <- runMain([]string{"run"}, r, out, &errOut) }()

	out.waitCount(images.Prompt, 1)
	w.WriteString("uname -m\n")
	out.waitCount(images.Prompt, 2)
	w.WriteString("shutdown reboot\n")
	out.waitCount("popek guest: Linux", 2) // the second boot's banner
	out.waitCount(images.Prompt, 3)
	w.WriteString("sleep 1; echo after-$((6*7)); poweroff\n")
	w.Close() // EOF on stdin must not stop the guest
	code := <-done
	console := out.String()
	if code != 0 || errOut.Len() != 0 {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{"riscv64", "after-42", "reboot: Power down"} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}
	for _, bad := range []string{"Kernel panic", "Oops"} {
		if strings.Contains(console, bad) {
			t.Errorf("console has %q", bad)
		}
	}
}
