package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
)

// TestVirtioConsoleFlag: --virtio-console is the last device, after the
// balloon, on a socket that outlives boots (each boot's device is new)
// and that close removes; a path another listener holds is refused.
func TestVirtioConsoleFlag(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "hvc.sock")
	o := &runOptions{smp: 1, memory: "64M", rng: true, balloon: "0", virtioConsole: sock}
	s, err := buildSpec(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for boot := 0; boot < 2; boot++ {
		devs, err := s.devices()
		if err != nil {
			t.Fatal(err)
		}
		var types []uint32
		for _, d := range devs {
			types = append(types, d.Type())
		}
		if len(types) != 3 || types[1] != virtio.DeviceBalloon || types[2] != virtio.DeviceConsole {
			t.Fatalf("device types %v: want rng, balloon, console", types)
		}
		for _, d := range devs {
			d.Close()
		}
		if c, err := net.Dial("unix", sock); err != nil {
			t.Fatalf("boot %d: closing the devices closed the console socket: %v", boot, err)
		} else {
			c.Close()
		}
	}

	other, err := buildSpec(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.devices(); err == nil || !strings.Contains(err.Error(), "--virtio-console: virtio-console: ") || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second run on the socket: %v", err)
	}
	s.close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after close: %v", err)
	}

	full := *o
	full.devices = nil
	for range 7 {
		full.devices = append(full.devices, deviceFlag{flag: "share", value: t.TempDir()})
	}
	if _, err := buildSpec(&full, nil); err == nil || !strings.Contains(err.Error(), "10 virtio devices") {
		t.Errorf("the console is not counted against the slots: %v", err)
	}
}

// hvcClient is a client of a --virtio-console socket collecting what the
// guest writes.
type hvcClient struct {
	c   net.Conn
	got lockedBuffer
	eof chan struct{}
}

func dialHVC(t *testing.T, sock string) *hvcClient {
	t.Helper()
	var c net.Conn
	var err error
	// popek run listens once its first boot builds the devices.
	for end := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if c, err = net.Dial("unix", sock); err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	h := &hvcClient{c: c, eof: make(chan struct{})}
	t.Cleanup(func() { c.Close() })
	go func() {
		defer close(h.eof)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			h.got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return h
}

// exchange: the guest reads a line the host writes from /dev/hvc1 and
// writes one back; n counts the prompts seen so far and is advanced.
func (h *hvcClient) exchange(t *testing.T, w *os.File, out *watchedBuffer, n *int, word string) {
	t.Helper()
	w.WriteString("read l < /dev/hvc1; echo got-$l\n")
	h.c.Write([]byte(word + "\n"))
	out.waitCount("got-"+word, 1)
	*n++
	out.waitCount(images.Prompt, *n)
	w.WriteString("echo from-guest-" + word + "-$((6*7)) > /dev/hvc1\n")
	*n++
	out.waitCount(images.Prompt, *n)
	for end := time.Now().Add(time.Minute); !strings.Contains(h.got.String(), "from-guest-"+word+"-42"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the socket got %q, not the guest's line", h.got.String())
		}
	}
}

// TestRunVirtioConsole: popek run --virtio-console gives the default guest
// /dev/hvc1 on the socket; the client stays connected across a guest
// reboot; a snapshot restored with popek run --restore --virtio-console
// has its console on the new socket, and without the flag is refused.
func TestRunVirtioConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux twice")
	}
	dir := t.TempDir()
	sock, snaps := filepath.Join(dir, "hvc.sock"), filepath.Join(dir, "snaps")
	g := startRun(t, "--memory", "64M", "--virtio-console", sock, "--snapshot-dir", snaps)
	g.out.waitCount(images.Prompt, 1)
	n := 1
	h := dialHVC(t, sock)
	h.exchange(t, g.in, g.out, &n, "first")

	g.in.WriteString("shutdown reboot\n")
	g.out.waitCount("popek guest: Linux", 2)
	g.out.waitCount(images.Prompt, n+1)
	n++
	h.exchange(t, g.in, g.out, &n, "rebooted")

	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	g.out.waitCount("popek: snapshot ", 1)
	snap := g.poweroffForSnapshot(t)
	select { // the run's end closed the socket
	case <-h.eof:
	case <-time.After(2 * time.Minute):
		t.Fatal("the console connection did not end with the run")
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("popek run left its console socket: %v", err)
	}

	if code, _, errText := popek(t, nil, "run", "--restore", snap); code == 0 || !strings.Contains(errText, "give --virtio-console PATH") {
		t.Errorf("restore without --virtio-console: exit %d, %q", code, errText)
	}
	sock2 := filepath.Join(dir, "hvc2.sock")
	g2 := startRun(t, "--restore", snap, "--restore-disk-dir", filepath.Join(dir, "disks"), "--virtio-console", sock2)
	g2.in.WriteString("echo restored-$((6*7))\n")
	g2.out.waitCount("restored-42", 1)
	n2 := 1
	g2.out.waitCount(images.Prompt, n2)
	h2 := dialHVC(t, sock2)
	h2.exchange(t, g2.in, g2.out, &n2, "restored")
	g2.in.WriteString("poweroff\n")
	g2.end(t)
}
