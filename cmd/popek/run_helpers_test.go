package main

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/popek-vm/popek/images"
)

// runningGuest is a `popek run` whose console a test drives.
type runningGuest struct {
	in   *os.File
	out  *watchedBuffer
	errs *lockedBuffer
	done chan int
}

// startRun starts `popek run ARGS...` with a pipe for its console input.
func startRun(t *testing.T, args ...string) *runningGuest {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	g := &runningGuest{in: w, out: newWatchedBuffer(), errs: &lockedBuffer{}, done: make(chan int, 1)}
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

// end waits for the run to exit and checks it ended cleanly: exit 0 and
// nothing on stderr.
func (g *runningGuest) end(t *testing.T) {
	t.Helper()
	if code := <-g.done; code != 0 || g.errs.String() != "" {
		t.Errorf("popek run: exit %d, stderr %q\n%s", code, g.errs.String(), g.out.String())
	}
}

// poweroffForSnapshot powers the guest of a `popek run --snapshot-dir` off,
// checks the run ended cleanly and returns the snapshot it reported.
func (g *runningGuest) poweroffForSnapshot(t *testing.T) string {
	t.Helper()
	g.in.WriteString("poweroff\n")
	if code := <-g.done; code != 0 || g.errs.String() != "" {
		t.Fatalf("popek run: exit %d, stderr %q\n%s", code, g.errs.String(), g.out.String())
	}
	m := regexp.MustCompile(`popek: snapshot (\S+) \(guest paused`).FindStringSubmatch(g.out.String())
	if m == nil {
		t.Fatalf("no snapshot message in:\n%s", g.out.String())
	}
	return m[1]
}
