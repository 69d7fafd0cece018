package virtiotest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
)

// guestTimeout bounds one wait for guest output: generous, since the guest
// is emulated on shared, busy cores; it only turns a hang into a failure.
const guestTimeout = 3 * time.Minute

// kernelFailures are console lines that mean the guest kernel is unwell.
var kernelFailures = []string{"Kernel panic", "Oops", "BUG:", "Unable to handle kernel"}

// consoleLog collects console output and lets a test wait for text.
type consoleLog struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every write
	buf     bytes.Buffer
}

func newConsoleLog() *consoleLog { return &consoleLog{changed: make(chan struct{})} }

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(p)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return len(p), nil
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// snapshot returns the text and a channel closed at the next write.
func (c *consoleLog) snapshot() (string, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String(), c.changed
}

// guest is a booted Linux on a board.Machine with its serial console.
type guest struct {
	t      *testing.T
	name   string
	m      *board.Machine
	log    *consoleLog
	pos    int // console offset already consumed by expect
	exited chan struct{}
	st     board.ExitStatus
	err    error
}

// bootGuest boots the embedded Linux with devs (the machine owns them) and
// initrd (nil: the embedded one), waits for the shell prompt and registers
// cleanup that stops the machine.
func bootGuest(t *testing.T, name string, initrd []byte, devs ...virtio.Device) *guest {
	t.Helper()
	if initrd == nil {
		initrd = images.Initramfs()
	}
	log := newConsoleLog()
	m, err := board.New(board.Config{
		Harts: 1, MemSize: 256 << 20, Boot: board.BootDirect,
		Kernel: images.Kernel(), Initrd: initrd, Cmdline: images.DefaultCmdline,
		Devices: devs, Console: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	g := startGuest(t, name, m, log)
	g.expect(images.Prompt)
	return g
}

// startGuest runs an already built machine (booting, or restored) as a
// guest and registers cleanup that stops it.
func startGuest(t *testing.T, name string, m *board.Machine, log *consoleLog) *guest {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &guest{t: t, name: name, m: m, log: log, exited: make(chan struct{})}
	go func() {
		g.st, g.err = m.Run(ctx)
		close(g.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-g.exited
		m.Close()
		if t.Failed() {
			t.Logf("%s console (tail):\n%s", name, tail(log.String()))
		}
	})
	return g
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// expect waits for s on the console after what was already consumed and
// returns the text before it. It fails on a kernel failure message, on
// the machine stopping, or after guestTimeout.
func (g *guest) expect(s string) string {
	g.t.Helper()
	deadline := time.NewTimer(guestTimeout)
	defer deadline.Stop()
	for {
		out, changed := g.log.snapshot()
		for _, bad := range kernelFailures {
			if strings.Contains(out, bad) {
				g.t.Fatalf("%s: guest kernel reported %q", g.name, bad)
			}
		}
		if i := strings.Index(out[g.pos:], s); i >= 0 {
			before := out[g.pos : g.pos+i]
			g.pos += i + len(s)
			return before
		}
		select {
		case <-changed:
		case <-g.exited:
			if out, _ := g.log.snapshot(); !strings.Contains(out[g.pos:], s) {
				g.t.Fatalf("%s: machine stopped (%v, %v) before printing %q", g.name, g.st, g.err, s)
			}
		case <-deadline.C:
			g.t.Fatalf("%s: no %q on the console within %v", g.name, s, guestTimeout)
		}
	}
}

// typeLine sends a command line to the shell without waiting.
func (g *guest) typeLine(cmd string) {
	g.t.Helper()
	if _, err := g.m.Console().Write([]byte(cmd + "\n")); err != nil {
		g.t.Fatalf("%s: typing %q: %v", g.name, cmd, err)
	}
}

// run types cmd and returns its output up to the next prompt (the
// terminal's echo of the command line included), with the tty's CRLF line
// ends made LF.
func (g *guest) run(cmd string) string {
	g.t.Helper()
	g.typeLine(cmd)
	return strings.ReplaceAll(g.expect(images.Prompt), "\r\n", "\n")
}

// mustRun runs cmd and fails unless it exits 0.
func (g *guest) mustRun(cmd string) string {
	g.t.Helper()
	out := g.run(cmd + "; echo RC=$?")
	if !strings.Contains(out, "RC=0") {
		g.t.Fatalf("%s: %q failed:\n%s", g.name, cmd, out)
	}
	return out
}

// status runs cmd and returns its exit status.
func (g *guest) status(cmd string) int {
	g.t.Helper()
	out := g.run(cmd + "; echo RC=$?")
	var rc int
	i := strings.LastIndex(out, "RC=")
	if i < 0 {
		g.t.Fatalf("%s: no status from %q:\n%s", g.name, cmd, out)
	}
	if _, err := fmt.Sscanf(out[i:], "RC=%d", &rc); err != nil {
		g.t.Fatalf("%s: status of %q: %v in %q", g.name, cmd, err, out[i:])
	}
	return rc
}

// poweroff shuts the guest down and waits for the machine to stop.
func (g *guest) poweroff() {
	g.t.Helper()
	g.typeLine("sync; poweroff")
	select {
	case <-g.exited:
	case <-time.After(guestTimeout):
		g.t.Fatalf("%s: guest did not power off", g.name)
	}
	if g.err != nil || g.st.Kind != board.ExitPoweroff {
		g.t.Fatalf("%s: machine stopped with %v, %v; want poweroff", g.name, g.st, g.err)
	}
	for _, bad := range kernelFailures {
		if strings.Contains(g.log.String(), bad) {
			g.t.Fatalf("%s: guest kernel reported %q", g.name, bad)
		}
	}
}

// skipShort skips tests that boot Linux under -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots Linux; skipped in -short mode")
	}
}
