package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
)

// guestTimeout only keeps a broken guest from hanging the test run; no
// test result depends on how fast anything is.
const guestTimeout = 4 * time.Minute

// consoleLog captures a guest console and lets tests wait for text.
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

func (c *consoleLog) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

// waitFor blocks until s appears at or after from and returns the text
// before it and the offset past it; ok is false if the machine stopped or
// the deadline passed.
func (c *consoleLog) waitFor(s string, from int) (before string, next int, ok bool) {
	deadline := time.AfterFunc(guestTimeout, c.finish)
	defer deadline.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		out := c.buf.String()
		if from > len(out) {
			from = len(out)
		}
		if i := strings.Index(out[from:], s); i >= 0 {
			return out[from : from+i], from + i + len(s), true
		}
		if c.done {
			return out[from:], len(out), false
		}
		c.cond.Wait()
	}
}

// vm is a running machine with its console.
type vm struct {
	t    testing.TB
	m    *board.Machine
	log  *consoleLog
	done chan runResult
	mark int // console offset commands wait from
}

type runResult struct {
	st  board.ExitStatus
	err error
}

// startVM runs m in the background; Close (via t.Cleanup) stops it.
func startVM(t testing.TB, m *board.Machine, log *consoleLog) *vm {
	v := &vm{t: t, m: m, log: log, done: make(chan runResult, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		st, err := m.Run(ctx)
		log.finish()
		v.done <- runResult{st, err}
	}()
	t.Cleanup(func() {
		cancel()
		m.Close()
		if t.Failed() {
			t.Logf("console:\n%s", tail(log.String(), 3000))
		}
	})
	return v
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// expect waits for s after the mark and moves the mark past it.
func (v *vm) expect(s string) string {
	v.t.Helper()
	before, next, ok := v.log.waitFor(s, v.mark)
	if !ok {
		v.t.Fatalf("guest did not print %q; it printed %q", s, tail(before, 2000))
	}
	v.mark = next
	return before
}

// run types a command and returns its output up to the next prompt.
func (v *vm) run(cmd string) string {
	v.t.Helper()
	v.send(cmd + "\n")
	v.expect(cmd) // the terminal echoes the line
	out := v.expect(images.Prompt)
	return strings.TrimSpace(strings.ReplaceAll(out, "\r", ""))
}

func (v *vm) send(s string) {
	v.t.Helper()
	if _, err := v.m.Console().Write([]byte(s)); err != nil {
		v.t.Fatalf("console input: %v", err)
	}
}

// guestConfig is the embedded guest on harts harts and mem bytes.
func guestConfig(harts int, mem uint64, log *consoleLog, devs ...virtio.Device) board.Config {
	return board.Config{
		Harts: harts, MemSize: mem, Boot: board.BootDirect,
		Kernel: images.Kernel(), Initrd: images.Initramfs(), Cmdline: images.DefaultCmdline,
		Console: log, Devices: devs,
	}
}

// bootGuest boots the embedded Linux to its shell prompt.
func bootGuest(t testing.TB, cfg board.Config) *vm {
	t.Helper()
	log := cfg.Console.(*consoleLog)
	m, err := board.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := startVM(t, m, log)
	v.expect(images.Prompt)
	return v
}

// restoreVM starts a machine restored from snap with a fresh console.
func restoreVM(t testing.TB, snap *Snapshot, o RestoreOptions) *vm {
	t.Helper()
	log := newConsoleLog()
	o.Console = log
	m, err := snap.Restore(o)
	if err != nil {
		t.Fatal(err)
	}
	return startVM(t, m, log)
}

// smapsRollup returns fields of /proc/self/smaps_rollup in KiB.
func smapsRollup() (map[string]int64, error) {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		var k string
		var v int64
		if n, _ := fmt.Sscanf(line, "%s %d kB", &k, &v); n == 2 {
			out[strings.TrimSuffix(k, ":")] = v
		}
	}
	return out, nil
}

// testBlock makes a raw disk image of size bytes holding data at offset 0.
func testDisk(t testing.TB, dir string, size int64) string {
	t.Helper()
	name := dir + "/disk.img"
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return name
}
