package vmm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/popek-vm/popek/vmm/testguest"
)

// The bare-metal test programs.
var (
	busyLoop = testguest.Busy
	idleLoop = testguest.Idle
	poweroff = testguest.Poweroff
	echo     = testguest.Echo
)

// writeGuest stores a bare-metal guest in dir and returns its path.
func writeGuest(t testing.TB, dir, name string, code []uint32) string {
	t.Helper()
	p, err := testguest.Write(dir, name, code)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bareConfig is a small bare-metal VM running kernel.
func bareConfig(name, kernel string) *Config {
	off := false
	return &Config{Name: name, Kernel: kernel, BIOS: "none", Memory: "16M", RNG: &off}
}

// newTestManager opens a manager on a fresh state directory.
func newTestManager(t testing.TB, opts Options) *Manager {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	m, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// waitFor polls cond until it holds or the test's deadline approaches.
// Tests wait for events, never for amounts of time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	if d, ok := t.(*testing.T); ok {
		if dl, ok := d.Deadline(); ok && time.Until(dl) < 3*time.Minute {
			deadline = dl.Add(-20 * time.Second)
		}
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitConsole waits until the VM's console output since pos contains
// want and returns the offset just past it.
func waitConsole(t testing.TB, m *Manager, name string, pos uint64, want string) uint64 {
	t.Helper()
	cs, err := m.Console(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var seen []byte
	buf := make([]byte, 4096)
	for {
		n, next, _, err := cs.ReadAt(ctx, buf, pos)
		if err != nil {
			t.Fatalf("waiting for %q on %s's console: %v; got %q", want, name, err, tail(seen))
		}
		seen = append(seen, buf[:n]...)
		pos = next
		if i := strings.Index(string(seen), want); i >= 0 {
			return pos - uint64(len(seen)-i-len(want))
		}
		if keep := len(want) + 4096; len(seen) > 2*keep {
			seen = append(seen[:0], seen[len(seen)-keep:]...) // bounded: the console may flood
		}
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func contextWithMinutes(n int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Duration(n)*time.Minute)
}
