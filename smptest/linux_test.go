package smptest

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/popek-vm/popek/board"
)

// linuxHarts is more harts than the 2-core development host has cores, so
// harts are descheduled at arbitrary points, as on a loaded server.
const linuxHarts = 4

// TestLinuxSMP boots Linux on 4 harts with the stress program added to the
// initramfs, checks that the guest sees 4 CPUs, reports the idle cost, and
// runs the stress load: every result must be what the host computed and
// the kernel must not report a lockup, stall, oops or panic.
func TestLinuxSMP(t *testing.T) {
	skipLinux(t)
	ctx := testContext(t)
	bin, err := BuildStress(t.TempDir(), "riscv64")
	if err != nil {
		t.Fatal(err)
	}
	initrd, err := StressInitramfs(bin)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Start(LinuxConfig(linuxHarts, initrd))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		g.Close()
		if t.Failed() {
			keepConsole(t, g.Console.String())
		}
	}()
	if _, err := g.WaitPrompt(ctx, 0); err != nil {
		t.Fatal(err)
	}

	t.Run("cpus", func(t *testing.T) {
		checks := []struct{ cmd, want string }{
			{"grep -c ^processor /proc/cpuinfo", fmt.Sprintf("%d\n", linuxHarts)},
			{"cat /sys/devices/system/cpu/online", fmt.Sprintf("0-%d\n", linuxHarts-1)},
			{"echo /sys/devices/system/cpu/cpu[0-9]*", cpuDirs(linuxHarts)},
			{"nproc", fmt.Sprintf("%d\n", linuxHarts)},
		}
		for _, c := range checks {
			out, err := g.Shell(ctx, c.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if out != c.want {
				t.Errorf("%s: %q, want %q", c.cmd, out, c.want)
			}
		}
	})

	t.Run("idle", func(t *testing.T) {
		// Reported, never asserted: a number that depends on the host.
		const window = 10 * time.Second
		c0, w0 := processCPU(), time.Now()
		time.Sleep(window)
		cpu, wall := processCPU()-c0, time.Since(w0)
		t.Logf("idle at the prompt with %d harts: %.1f%% of one host core (%v CPU in %v)",
			linuxHarts, 100*cpu.Seconds()/wall.Seconds(), cpu.Round(time.Millisecond), wall.Round(time.Millisecond))
		if _, err := g.Shell(ctx, "true"); err != nil {
			t.Fatalf("guest unresponsive after idling: %v", err)
		}
	})

	t.Run("stress", func(t *testing.T) {
		seconds := 40.0
		if slow() {
			seconds = 240
		}
		p := DefaultStress(seconds)
		from := g.Console.Len()
		if err := g.Type(p.Command() + "\n"); err != nil {
			t.Fatal(err)
		}
		// The prompt comes back however the program ends: a crash fails
		// at once instead of at the deadline.
		if _, err := g.WaitPrompt(ctx, from); err != nil {
			t.Fatalf("%v\n%s", err, tail(g.Console.String()[from:], 4000))
		}
		rounds := checkStressOutput(t, p, strings.ReplaceAll(g.Console.String()[from:], "\r\n", "\n"), linuxHarts)
		t.Logf("%d stress rounds passed", rounds)
	})

	out, err := g.Shell(ctx, "dmesg")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range Trouble(g.Console.String() + out) {
		t.Errorf("kernel reported: %s", line)
	}
	if err := g.Type("poweroff\n"); err != nil {
		t.Fatal(err)
	}
	if st, err := g.Wait(ctx); err != nil || st.Kind != board.ExitPoweroff {
		t.Errorf("guest ended with %v, %v; want poweroff", st, err)
	}
}

// cpuDirs is the glob /sys/devices/system/cpu/cpu[0-9]* for n CPUs.
func cpuDirs(n int) string {
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = fmt.Sprintf("/sys/devices/system/cpu/cpu%d", i)
	}
	return strings.Join(dirs, " ") + "\n"
}

// processCPU is this process's user+system CPU time: the in-process
// machine's harts and devices, plus a test goroutine that only sleeps.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
