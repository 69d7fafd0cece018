package virtio

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitCond polls cond; the deadline only keeps a broken device from
// hanging the test.
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func newConsoleSocket(t *testing.T) (*ConsoleSocket, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.sock")
	s, err := ListenConsole(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// dialConsole connects a client and waits until it is the one served.
func dialConsole(t *testing.T, s *ConsoleSocket, path string, served uint64) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	waitCond(t, "the client to be served", func() bool { return s.Served() == served && s.Connected() })
	return c
}

func pendingInput(c *Console) string { return string(c.SaveState().Pending) }

// readExactly reads len(want) bytes from c and compares them.
func readExactly(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading %q: %v (got %q)", want, err, got)
	}
	if string(got) != want {
		t.Fatalf("client read %q, want %q", got, want)
	}
}

// TestConsoleSocketData: the client's bytes are the guest's input, the
// guest's transmit buffers reach the client, and output while no client
// is connected is discarded without counting as dropped.
func TestConsoleSocketData(t *testing.T) {
	s, path := newConsoleSocket(t)
	con := s.Console()
	d := newTestDriver(t, con)
	d.start(FeatureVersion1, 16)
	d.call(consoleTxQueue, false, out([]byte("before any client\n")))

	c := dialConsole(t, s, path, 1)
	c.Write([]byte("typed line\n"))
	waitCond(t, "input to reach the console", func() bool { return pendingInput(con) == "typed line\n" })

	d.call(consoleTxQueue, false, out([]byte("guest ")), out([]byte("says hi\n")))
	readExactly(t, c, "guest says hi\n")
	if n := s.Dropped(); n != 0 {
		t.Errorf("dropped %d bytes", n)
	}
}

// TestConsoleSocketReconnect: after the client hangs up the device goes
// on, and the next client gets input and output.
func TestConsoleSocketReconnect(t *testing.T) {
	s, path := newConsoleSocket(t)
	con := s.Console()
	c1 := dialConsole(t, s, path, 1)
	c1.Write([]byte("a"))
	waitCond(t, "first input", func() bool { return pendingInput(con) == "a" })
	c1.Close()
	waitCond(t, "the hang-up to be seen", func() bool { return !s.Connected() })
	s.Write([]byte("lost"))

	c2 := dialConsole(t, s, path, 2)
	c2.Write([]byte("b"))
	waitCond(t, "second input", func() bool { return pendingInput(con) == "ab" })
	s.Write([]byte("for c2"))
	readExactly(t, c2, "for c2")
}

// TestConsoleSocketSecondClientWaits: while one client is served another
// waits (as with QEMU's server socket): its bytes are read, and output
// sent to it, only after the first hangs up.
func TestConsoleSocketSecondClientWaits(t *testing.T) {
	s, path := newConsoleSocket(t)
	con := s.Console()
	c1 := dialConsole(t, s, path, 1)
	c2, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("a second client is refused outright: %v", err)
	}
	defer c2.Close()
	c2.Write([]byte("[two]"))
	c1.Write([]byte("[one]"))
	waitCond(t, "the first client's input", func() bool { return pendingInput(con) == "[one]" })
	s.Write([]byte("for c1"))
	readExactly(t, c1, "for c1")
	if got := s.Served(); got != 1 {
		t.Fatalf("%d clients served while the first is connected", got)
	}

	c1.Close()
	waitCond(t, "the waiting client to be served", func() bool { return s.Served() == 2 && s.Connected() })
	waitCond(t, "the waiting client's input", func() bool { return pendingInput(con) == "[one][two]" })
	s.Write([]byte("for c2"))
	readExactly(t, c2, "for c2") // and nothing sent while c1 was the client
}

// TestConsoleSocketSlowClient: a client that never reads does not stall
// the guest's output: what does not fit the buffer is dropped and counted.
func TestConsoleSocketSlowClient(t *testing.T) {
	s, path := newConsoleSocket(t)
	con := s.Console()
	d := newTestDriverRAM(t, con, newTestRAM(t, 8<<20))
	d.start(FeatureVersion1, 16)
	dialConsole(t, s, path, 1) // never reads
	chunk := bytes.Repeat([]byte{'x'}, 256<<10)
	const chunks = 16 // 4 MiB: far beyond the buffer and the kernel's
	for i := 0; i < chunks; i++ {
		d.call(consoleTxQueue, false, out(chunk)) // returns: the worker never waits
	}
	if n := s.Dropped(); n == 0 || n >= chunks*uint64(len(chunk)) {
		t.Fatalf("dropped %d of %d bytes", n, chunks*len(chunk))
	}
}

// TestConsoleSocketPathRules: the vsock device's rules: a socket another
// listener holds is refused, a stale one replaced, other files refused.
func TestConsoleSocketPathRules(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	a, err := ListenConsole(live)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, wantErr string
	}{
		{"in use", live, "in use"},
		{"not a socket", file, "not a socket"},
		{"no path", "", "no Unix socket path"},
		{"missing directory", filepath.Join(dir, "none", "c.sock"), "no such file"},
		{"too long", filepath.Join(dir, strings.Repeat("c", 110)), "longer than a Unix socket path can be"},
		{"stale", stale, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := ListenConsole(c.path)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				if _, err := os.Lstat(c.path); !os.IsNotExist(err) {
					t.Errorf("Close left the socket: %v", err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("listened on %q", c.path)
			}
			if !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "virtio-console: ") {
				t.Errorf("error %q, want virtio-console: ...%s...", err, c.wantErr)
			}
		})
	}
	if fi, err := os.Lstat(file); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the regular file was touched: %v", err)
	}
}

// TestConsoleSocketCloseLeavesReplacement: Close removes the socket file
// only while it is still this socket's.
func TestConsoleSocketCloseLeavesReplacement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.sock")
	a, err := ListenConsole(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	b, err := ListenConsole(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bSock, _ := os.Lstat(path)
	a.Close()
	if fi, err := os.Lstat(path); err != nil || !sameSocket(fi, bSock) {
		t.Fatalf("closing the replaced socket removed its successor: %v", err)
	}
	dialConsole(t, b, path, 1)
}

// TestConsoleSocketTakeover mirrors TestVsockTakeover: the new socket
// listens beside the old until Commit; an abandoned takeover leaves the
// old one; after Commit the old one's Close leaves the new socket.
func TestConsoleSocketTakeover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.sock")
	old, err := NewSocketConsole(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldSock, _ := os.Lstat(path)

	gone, err := NewSocketConsoleTakeover(path)
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	if fi, err := os.Lstat(path); err != nil || !sameSocket(fi, oldSock) {
		t.Fatalf("an abandoned takeover changed the old socket: %v", err)
	}
	if _, err := os.Lstat(path + socketStaging); !os.IsNotExist(err) {
		t.Errorf("an abandoned takeover left its staging socket: %v", err)
	}

	moved, err := NewSocketConsoleTakeover(path)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if fi, err := os.Lstat(path); err != nil || !sameSocket(fi, oldSock) {
		t.Fatalf("taken over before Commit: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := moved.Commit(); err != nil {
			t.Fatalf("Commit %d: %v", i, err)
		}
	}
	old.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("the old device's Close removed the new socket: %v", err)
	}
	c := dialConsole(t, moved.sock, path, 1)
	c.Write([]byte("x"))
	waitCond(t, "input on the taken-over socket", func() bool { return pendingInput(moved) == "x" })
	moved.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after the last device closed: %v", err)
	}
}

// TestConsoleSocketOutlivesDevice: a socket shared by successive devices
// (popek run's reboots) keeps its client; a closed device gets no input;
// a device made by NewSocketConsole closes its socket.
func TestConsoleSocketOutlivesDevice(t *testing.T) {
	s, path := newConsoleSocket(t)
	first := s.Console()
	c := dialConsole(t, s, path, 1)
	first.Close()
	second := s.Console()
	c.Write([]byte("after reboot"))
	waitCond(t, "input to the new device", func() bool { return pendingInput(second) == "after reboot" })
	if got := pendingInput(first); got != "" {
		t.Errorf("the closed device got input %q", got)
	}
	second.Close()
	if !s.Connected() {
		t.Error("closing a device on a shared socket hung up the client")
	}
	if got := second.Commit(); got != nil {
		t.Errorf("Commit on a shared socket: %v", got)
	}

	own := filepath.Join(t.TempDir(), "own.sock")
	o, err := NewSocketConsole(own)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if _, err := os.Lstat(own); !os.IsNotExist(err) {
		t.Errorf("NewSocketConsole's Close left the socket: %v", err)
	}
}

// TestSocketFullQueueIsNotStale: a live listener whose accept queue is
// full refuses new connections with EAGAIN, not ECONNREFUSED; its socket
// must not be taken for a stale one and replaced.
func TestSocketFullQueueIsNotStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	before, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the queue: the listener never accepts.
	for i := 0; i < 4; i++ {
		if c, err := net.DialTimeout("unix", path, 100*time.Millisecond); err == nil {
			defer c.Close()
		}
	}
	if s, err := ListenConsole(path); err == nil {
		s.Close()
		t.Fatal("listened over a live socket with a full accept queue")
	} else if !strings.Contains(err.Error(), "in use") && !strings.Contains(err.Error(), "cannot tell") {
		t.Errorf("error %q, want the socket reported in use or undecidable", err)
	}
	if after, err := os.Lstat(path); err != nil || !os.SameFile(before, after) {
		t.Fatalf("the busy listener's socket was replaced or removed: %v", err)
	}
}
