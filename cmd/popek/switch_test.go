package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/popek-vm/popek/images"
)

// runningGuest is a `popek run` whose console a test drives.
type runningGuest struct {
	in   *os.File
	out  *watchedBuffer
	errs *strings.Builder
	done chan int
}

func startRun(t *testing.T, args ...string) *runningGuest {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	g := &runningGuest{in: w, out: newWatchedBuffer(), errs: &strings.Builder{}, done: make(chan int, 1)}
	go func() { g.done <- runMain(append([]string{"run"}, args...), r, g.out, g.errs) }()
	return g
}

// wait blocks until s has appeared n times on the console, failing the
// test if that takes minutes.
func (g *runningGuest) wait(t *testing.T, s string, n int) {
	t.Helper()
	seen := make(chan struct{})
	go func() { g.out.waitCount(s, n); close(seen) }()
	select {
	case <-seen:
	case <-time.After(3 * time.Minute):
		t.Fatalf("%q did not appear %d times; console:\n%s", s, n, g.out.String())
	}
}

// shell types cmd at the n-th prompt and waits for the next one.
func (g *runningGuest) shell(t *testing.T, n int, cmd string) {
	t.Helper()
	g.wait(t, images.Prompt, n)
	g.in.WriteString(cmd + "\n")
	g.wait(t, images.Prompt, n+1)
}

func (g *runningGuest) poweroff(t *testing.T, n int) {
	t.Helper()
	g.wait(t, images.Prompt, n)
	g.in.WriteString("poweroff\n")
	select {
	case code := <-g.done:
		if code != 0 {
			t.Errorf("popek run exited %d: %s", code, g.errs.String())
		}
	case <-time.After(2 * time.Minute):
		t.Errorf("guest did not power off:\n%s", g.out.String())
	}
}

// TestRunSwitchAcrossProcesses runs two `popek run --net switch=NAME`
// (each with its own registry, as two processes have) and pings between
// their guests over the host-wide switch.
func TestRunSwitchAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux twice; skipped in -short mode")
	}
	t.Setenv("POPEK_SWITCH_DIR", filepath.Join(t.TempDir(), "switches"))
	a := startRun(t, "--net", "switch=lan", "--rng=false")
	b := startRun(t, "--net", "switch=lan", "--rng=false")
	a.shell(t, 1, "ip addr add 192.168.77.1/24 dev eth0 && ip link set eth0 up")
	b.shell(t, 1, "ip addr add 192.168.77.2/24 dev eth0 && ip link set eth0 up")
	a.shell(t, 2, "ping -c 3 192.168.77.2")
	// u-root's ping prints a line per reply; allow one lost to a slow host.
	if out := a.out.String(); strings.Count(out, "bytes from 192.168.77.2") < 2 {
		t.Errorf("ping between the two processes' guests:\n%s", out[strings.LastIndex(out, "ping -c"):])
	}
	a.poweroff(t, 3)
	b.poweroff(t, 2)
}
