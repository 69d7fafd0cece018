package vmm

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
)

func TestVirtioConsoleConfig(t *testing.T) {
	doc := "name: c\nvirtio_console: {socket: run/hvc.sock}\nvsock: {cid: 5, uds: /tmp/v.sock}\n"
	c, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c.ResolvePaths("/srv/vms")
	if c.VirtioConsole == nil || c.VirtioConsole.Socket != "/srv/vms/run/hvc.sock" {
		t.Fatalf("virtio_console %+v, want the socket resolved against the document's directory", c.VirtioConsole)
	}
	cp := c.Clone()
	cp.VirtioConsole.Socket = "/elsewhere"
	if c.VirtioConsole.Socket != "/srv/vms/run/hvc.sock" {
		t.Error("Clone shares virtio_console with the original")
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := slotTypes(c); len(got) != 3 || got[0] != virtio.DeviceVsock || got[2] != virtio.DeviceConsole {
		t.Errorf("slot types %v: want vsock, entropy, console", got)
	}

	off := false
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"missing socket", func(c *Config) { c.VirtioConsole.Socket = "" }, "virtio_console.socket: missing"},
		{"relative socket", func(c *Config) { c.VirtioConsole.Socket = "hvc.sock" }, `virtio_console.socket: path "hvc.sock" must be absolute`},
		{"same path as vsock", func(c *Config) { c.VirtioConsole.Socket = "/tmp/./v.sock" }, "is vsock.uds too"},
		{"too many devices", func(c *Config) {
			c.RNG = &off
			for range 7 {
				c.Drives = append(c.Drives, DriveConfig{File: "/d.img"})
			}
		}, "9 virtio devices"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := c.Clone()
			tc.edit(bad)
			err := bad.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || KindOf(err) != KindInvalid {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestVirtioConsoleBootDevice: the console is the last device, on its
// socket, which closing the device removes; a path in use is refused
// with the config field named.
func TestVirtioConsoleBootDevice(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "hvc.sock")
	off := true
	cfg := &Config{Name: "d", RNG: &off, Balloon: &BalloonConfig{Size: "0"}, VirtioConsole: &VirtioConsoleConfig{Socket: sock}}
	cfg.ApplyDefaults()
	spec, err := newBootSpec(cfg, Backends{}, &defaultGuest{})
	if err != nil {
		t.Fatal(err)
	}
	devs, _, err := spec.devices()
	if err != nil {
		t.Fatal(err)
	}
	var types []uint32
	for _, d := range devs {
		types = append(types, d.Type())
	}
	if want := slotTypes(cfg); len(types) != 3 || types[2] != virtio.DeviceConsole || types[1] != virtio.DeviceBalloon || len(want) != 3 || want[2] != types[2] {
		t.Fatalf("device types %v, slotTypes %v: want entropy, balloon, console", types, want)
	}
	if _, _, err := spec.devices(); err == nil || !strings.Contains(err.Error(), "virtio_console: ") || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second machine on the same socket: %v", err)
	}
	for _, d := range devs {
		d.Close()
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
}

// consoleDevice is the virtio console of the VM's running machine.
func consoleDevice(t *testing.T, m *Manager, name string) *virtio.Console {
	t.Helper()
	devs := machineDevices(t, m, name)
	c, ok := devs[len(devs)-1].(*virtio.Console)
	if !ok {
		t.Fatalf("%s: the last device is %T, not the virtio console", name, devs[len(devs)-1])
	}
	return c
}

// TestVirtioConsoleMigrate: on one host, a migration's target listens on
// the console's path only once the source confirmed, and a client then
// reaches the target's device; a migration that fails at the last step
// leaves the source's socket in place.
func TestVirtioConsoleMigrate(t *testing.T) {
	src := newTestManager(t, Options{})
	dst := newTestManager(t, Options{})
	dir := t.TempDir()
	sock := filepath.Join(dir, "hvc.sock")
	cfg := bareConfig("p", writeGuest(t, dir, "echo", echo))
	cfg.VirtioConsole = &VirtioConsoleConfig{Socket: sock}
	if _, err := src.Create(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Start("p"); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, src, "p", 0, ">")
	before, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}

	_, _, err, rerr := migratePipeWrapped(t, src, dst, "p", MigrateOptions{}, nil, func(rw io.ReadWriteCloser) io.ReadWriteCloser {
		return &failAtFrame{ReadWriteCloser: rw, typ: frameRunning}
	})
	if err == nil || rerr == nil {
		t.Fatalf("migration cut before the confirmation succeeded: %v, %v", err, rerr)
	}
	if after, err := os.Lstat(sock); err != nil || !os.SameFile(before, after) {
		t.Fatalf("a failed migration replaced or removed the source's console socket: %v", err)
	}
	if _, err := os.Lstat(sock + ".incoming"); !os.IsNotExist(err) {
		t.Errorf("the target left its staging socket: %v", err)
	}
	sendConsole(t, sock, "to-source")
	waitFor(t, "input on the source's console", func() bool {
		return string(consoleDevice(t, src, "p").SaveState().Pending) == "to-source"
	})

	if _, _, err, rerr := migratePipe(t, src, dst, "p", MigrateOptions{}, nil); err != nil || rerr != nil {
		t.Fatalf("migrate: %v; target: %v", err, rerr)
	}
	con := consoleDevice(t, dst, "p")
	if got := string(con.SaveState().Pending); got != "to-source" {
		t.Errorf("unread input on the target %q: the device state did not move", got)
	}
	sendConsole(t, sock, "-to-target")
	waitFor(t, "input on the target's console", func() bool { return string(con.SaveState().Pending) == "to-source-to-target" })
	if _, err := os.Lstat(sock + ".incoming"); !os.IsNotExist(err) {
		t.Errorf("the target left its staging socket: %v", err)
	}
}

// sendConsole connects to a console socket, writes s and hangs up.
func sendConsole(t *testing.T, sock, s string) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// consoleClient is a connection to a VM's console socket that collects
// what the guest writes.
type consoleClient struct {
	c    net.Conn
	mu   sync.Mutex
	got  strings.Builder
	done chan struct{} // closed at EOF
}

func dialConsoleClient(t *testing.T, sock string) *consoleClient {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cc := &consoleClient{c: c, done: make(chan struct{})}
	t.Cleanup(func() { c.Close() })
	go func() {
		defer close(cc.done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			cc.mu.Lock()
			cc.got.Write(buf[:n])
			cc.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return cc
}

// waitHangUp waits for the connection's end, failing the test if it
// takes minutes.
func (cc *consoleClient) waitHangUp(t *testing.T) {
	t.Helper()
	select {
	case <-cc.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the console connection did not end")
	}
}

func (cc *consoleClient) has(s string) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return strings.Contains(cc.got.String(), s)
}

// exchange has the guest read a line the host writes into the socket from
// /dev/hvc1 and write one back. Bytes sent before the shell opens the
// port wait in the guest's driver, so the order does not matter.
func (cc *consoleClient) exchange(t *testing.T, sh *linuxShell, word string) {
	t.Helper()
	if _, err := sh.m.ConsoleInput(t.Context(), sh.name, []byte("read l < /dev/hvc1; echo got-$l\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.c.Write([]byte(word + "\n")); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, sh.m, sh.name, sh.pos, "got-"+word)
	sh.run("echo from-guest-"+word+"-$((6*7)) > /dev/hvc1; echo sent-$((6*7))", "sent-42")
	waitFor(t, "guest output on the socket", func() bool { return cc.has("from-guest-" + word + "-42") })
}

// TestVirtioConsoleLinuxGuest: the default guest reads from and writes to
// /dev/hvc1, backed by the VM's console socket; after a revert the device
// is on the socket again; a
// clone that inherits its template's socket path cannot start while the
// template's VM listens there, and one given its own path works.
func TestVirtioConsoleLinuxGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "hvc.sock")
	m := newTestManager(t, Options{})
	sh := bootShell(t, m, &Config{Name: "lx", Memory: "64M", VirtioConsole: &VirtioConsoleConfig{Socket: sock}})
	// hvc0 is the SBI console; the virtio console is the next one.
	sh.run("ls /dev/hvc1 && echo has-hvc-$((1+1))", "has-hvc-2")
	cc := dialConsoleClient(t, sock)
	cc.exchange(t, sh, "first")

	if _, err := m.CreateSnapshot("lx", SnapshotRequest{Name: "s1"}); err != nil {
		t.Fatal(err)
	}
	sh.run("V=after-snapshot; echo v-$V", "v-after-snapshot")
	if _, err := m.RevertSnapshot("lx", "s1"); err != nil {
		t.Fatal(err)
	}
	cc.waitHangUp(t) // the old machine's device hung up
	sh.run("echo reverted-$V-$((2+3))", "reverted--5")
	cc = dialConsoleClient(t, sock)
	cc.exchange(t, sh, "reverted")

	if _, err := m.CreateTemplate(TemplateRequest{Name: "lt", VM: "lx"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(&Config{Name: "same", Template: "lt"}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Start("same")
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "template's virtio_console.socket") {
		t.Fatalf("a clone on its template's VM's socket: %v", err)
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("the failed clone removed lx's socket: %v", err)
	}
	own := filepath.Join(dir, "clone.sock")
	if _, err := m.Create(&Config{Name: "own", Template: "lt", VirtioConsole: &VirtioConsoleConfig{Socket: own}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("own"); err != nil {
		t.Fatal(err)
	}
	csh := &linuxShell{t: t, m: m, name: "own"}
	occ := dialConsoleClient(t, own)
	occ.exchange(t, csh, "clone")
	cc.exchange(t, sh, "still-lx")
}

// TestVirtioConsoleStats: a VM's statistics say whether a client is
// connected to its virtio console's socket and count nothing dropped
// while nothing is.
func TestVirtioConsoleStats(t *testing.T) {
	m := newTestManager(t, Options{})
	dir := t.TempDir()
	sock := filepath.Join(dir, "hvc.sock")
	cfg := bareConfig("s", writeGuest(t, dir, "echo", echo))
	cfg.VirtioConsole = &VirtioConsoleConfig{Socket: sock}
	if _, err := m.Create(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("s"); err != nil {
		t.Fatal(err)
	}
	stats := func() VirtioConsoleStats {
		st, err := m.Stats("s")
		if err != nil || st.VirtioConsole == nil {
			t.Fatalf("stats: %+v, %v", st.VirtioConsole, err)
		}
		return *st.VirtioConsole
	}
	if s := stats(); s.Connected || s.InputDroppedBytes != 0 || s.OutputDroppedBytes != 0 {
		t.Errorf("before any client: %+v", s)
	}
	cc := dialConsoleClient(t, sock)
	waitFor(t, "the client to count as connected", func() bool { return stats().Connected })
	cc.c.Close()
	cc.waitHangUp(t)
	waitFor(t, "the client to count as gone", func() bool { return !stats().Connected })
	if st, _ := m.Stats("s"); st.Balloon != nil {
		t.Errorf("a VM without a balloon reports one: %+v", st.Balloon)
	}
}
