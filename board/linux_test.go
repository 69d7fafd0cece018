package board

import (
	"context"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
)

// guestShell drives the default guest's shell over the console.
type guestShell struct {
	t   *testing.T
	m   *Machine
	log *consoleLog
	pos int
}

// expect waits for s and returns the output before it.
func (g *guestShell) expect(s string) string {
	g.t.Helper()
	before, next, ok := g.log.waitFor(s, g.pos)
	if !ok {
		g.t.Fatalf("guest stopped before printing %q; console:\n%s", s, tail(g.log.String()))
	}
	g.pos = next
	return before
}

// run types a command and returns its output up to the next prompt.
func (g *guestShell) run(cmd string) string {
	g.t.Helper()
	if _, err := g.m.Console().Write([]byte(cmd + "\n")); err != nil {
		g.t.Fatalf("typing %q: %v", cmd, err)
	}
	return g.expect(images.Prompt)
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

func checkNoKernelFailure(t *testing.T, out string) {
	t.Helper()
	for _, bad := range []string{"Kernel panic", "Oops", "BUG:", "Unable to handle kernel"} {
		if strings.Contains(out, bad) {
			t.Fatalf("guest kernel reported %q:\n%s", bad, tail(out))
		}
	}
}

func bootDefaultGuest(t *testing.T, harts int) (*guestShell, <-chan runResult) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots Linux; skipped in -short mode")
	}
	log := newConsoleLog()
	m, err := New(Config{
		Harts: harts, MemSize: 256 << 20,
		Kernel: images.Kernel(), Initrd: images.Initramfs(), Cmdline: images.DefaultCmdline,
		Console: log, Devices: []virtio.Device{virtio.NewRNG()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	done := start(context.Background(), m, log)
	g := &guestShell{t: t, m: m, log: log}
	g.expect(images.Prompt)
	return g, done
}

// TestLinuxBootsToShell boots the embedded Linux on two harts with the VMM
// as SBI, runs commands at the shell, pauses and resumes it, and powers off.
func TestLinuxBootsToShell(t *testing.T) {
	g, done := bootDefaultGuest(t, 2)

	uname := g.run("uname -a")
	for _, want := range []string{"Linux", "riscv64"} {
		if !strings.Contains(uname, want) {
			t.Errorf("uname -a output %q lacks %q", uname, want)
		}
	}
	cpuinfo := g.run("cat /proc/cpuinfo")
	if n := strings.Count(cpuinfo, "processor"); n != 2 {
		t.Errorf("/proc/cpuinfo lists %d processors, want 2:\n%s", n, cpuinfo)
	}
	if !strings.Contains(cpuinfo, "rv64imafdc") {
		t.Errorf("/proc/cpuinfo lacks the ISA:\n%s", cpuinfo)
	}

	// A paused guest keeps its state: the shell answers after Resume.
	g.m.Pause()
	g.m.Pause()
	g.m.Resume()
	if out := g.run("echo back-$((40+2))"); !strings.Contains(out, "back-42") {
		t.Errorf("after Pause/Resume, echo printed %q", out)
	}

	g.m.Console().Write([]byte("poweroff\n"))
	res := <-done
	checkNoKernelFailure(t, g.log.String())
	if res.err != nil || res.st.Kind != ExitPoweroff {
		t.Fatalf("Run = %v, %v; want poweroff", res.st, res.err)
	}
}

// TestLinuxReboot checks that a guest reboot ends the run with ExitReset.
func TestLinuxReboot(t *testing.T) {
	g, done := bootDefaultGuest(t, 1)
	g.m.Console().Write([]byte("shutdown reboot\n"))
	res := <-done
	checkNoKernelFailure(t, g.log.String())
	if res.err != nil || res.st.Kind != ExitReset {
		t.Fatalf("Run = %v, %v; want reset", res.st, res.err)
	}
}

// TestTinyInitFirmwareBoot boots the kernel under OpenSBI (fw_dynamic)
// on 4 harts with the one-line tinyinit, which powers off. With 4 harts the
// device tree outgrows a page, and fw_dynamic grows it in place: this hung
// while the tree sat in the last page of RAM.
func TestTinyInitFirmwareBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux; skipped in -short mode")
	}
	fw, err := readFile("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin")
	if err != nil {
		t.Skip("Debian opensbi package not installed")
	}
	log := newConsoleLog()
	m, err := New(Config{
		Harts: 4, MemSize: 128 << 20, Boot: BootFirmware, Firmware: fw,
		Kernel: images.Kernel(), Initrd: images.TinyInit(), Cmdline: "console=ttyS0",
		Console: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res := <-start(context.Background(), m, log)
	out := log.String()
	checkNoKernelFailure(t, out)
	for _, want := range []string{"OpenSBI", images.TinyInitMessage} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, tail(out))
		}
	}
	if res.err != nil || res.st.Kind != ExitPoweroff {
		t.Fatalf("Run = %v, %v; want poweroff", res.st, res.err)
	}
}
