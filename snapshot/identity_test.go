package snapshot

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/netstack"
)

// vsockHostPort is where the clones' guest-to-host vsock connections go.
const vsockHostPort = 5001

// guestToolInitramfs is the embedded initramfs with virtiotest's guest
// tool appended as /vt, for vsock sockets, which u-root's commands lack.
func guestToolInitramfs(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vt")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./virtiotest/testdata/guesttool")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=riscv64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the guest tool: %v\n%s", err, msg)
	}
	vt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// A second newc archive after the first: Linux unpacks both.
	var raw bytes.Buffer
	entry := func(ino int, name string, mode uint32, data []byte) {
		fmt.Fprintf(&raw, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		raw.WriteString(name + "\x00")
		for raw.Len()%4 != 0 {
			raw.WriteByte(0)
		}
		raw.Write(data)
		for raw.Len()%4 != 0 {
			raw.WriteByte(0)
		}
	}
	entry(1, "vt", 0o100755, vt)
	entry(0, "TRAILER!!!", 0, nil)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(raw.Bytes())
	w.Close()
	return append(images.Initramfs(), gz.Bytes()...)
}

// userNIC is a virtio-net device on its own user-mode network.
func userNIC(t testing.TB, mac net.HardwareAddr) (*virtio.Net, error) {
	stack, err := netstack.New(netstack.Config{MAC: mac})
	if err != nil {
		return nil, err
	}
	return virtio.NewNet(virtio.NetConfig{MAC: mac, Backend: stack})
}

var (
	macLine    = regexp.MustCompile(`(?m)^([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s*$`)
	randomLine = regexp.MustCompile(`(?m)^0000000((?: [0-9a-f]{4}){8})\s*$`)
	// defaultRoute is a line of BusyBox's route -n (u-root's ip route
	// does not print gateways).
	defaultRoute = regexp.MustCompile(`0\.0\.0\.0 +10\.0\.2\.2 +0\.0\.0\.0 +UG .* eth0`)
)

// TestCloneIdentity boots the default guest with user networking and a
// static address, and vsock, snapshots it and clones it twice. In each
// clone the guest agent notices the link flap, rebinds virtio_net and
// reseeds the CRNG: the interface shows the clone's MAC and still has its
// address and default route, traffic to the host flows, a vsock
// connection to the host works from the clone's new CID, and the two
// clones' urandom outputs differ.
func TestCloneIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := t.TempDir()
	orig := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	nic, err := userNIC(t, orig)
	if err != nil {
		t.Fatal(err)
	}
	vsock, err := virtio.NewVsock(3, filepath.Join(dir, "vsock-src"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := guestConfig(1, 128<<20, newConsoleLog(), nic, vsock, virtio.NewRNG())
	cfg.Initrd = guestToolInitramfs(t)
	v := bootGuest(t, cfg)
	v.run("ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up; route add default gw 10.0.2.2")
	if out := v.run("route -n"); !defaultRoute.MatchString(out) {
		t.Fatalf("guest network not configured:\n%s", out)
	}
	// Linux reseeds its CRNG by itself every uptime/2 seconds early on: wait
	// until that is a few seconds, and have it reseed just before the
	// snapshot, so within the test only the agent's reseed can make the
	// clones' random numbers differ.
	v.run("sleep 6; head -c 1 /dev/urandom >/dev/null")
	snap, err := Write(filepath.Join(dir, "snap"), v.m, WriteOptions{Name: "identity"})
	if err != nil {
		t.Fatal(err)
	}
	v.m.Close()

	payload := "hello from the host through 10.0.2.2"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, payload) })}
	go srv.Serve(l)
	defer srv.Close()
	url := fmt.Sprintf("http://10.0.2.2:%d/", l.Addr().(*net.TCPAddr).Port)

	macs := []net.HardwareAddr{{0x52, 0x54, 0, 0xc1, 0, 1}, {0x52, 0x54, 0, 0xc1, 0, 2}}
	randoms := make([]string, len(macs))
	var wg sync.WaitGroup
	for i, mac := range macs {
		log := newConsoleLog()
		uds := filepath.Join(dir, fmt.Sprint("vsock-clone", i))
		m, err := snap.Clone(CloneOptions{
			RestoreOptions: RestoreOptions{Console: log, DiskDir: filepath.Join(dir, fmt.Sprint("clone", i)),
				Device: func(spec DeviceSpec) (virtio.Device, error) {
					switch {
					case spec.Net != nil:
						mac, err := net.ParseMAC(spec.Net.MAC)
						if err != nil {
							return nil, err
						}
						return userNIC(t, mac)
					case spec.Vsock != nil:
						return virtio.NewVsock(spec.Vsock.CID, uds)
					}
					return nil, nil
				}},
			MAC: func(int) net.HardwareAddr { return mac },
			CID: func(int) uint64 { return uint64(100 + i) },
		})
		if err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		ln, err := net.Listen("unix", fmt.Sprintf("%s_%d", uds, vsockHostPort))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go ackVsock(ln)
		c := startVM(t, m, log)
		c.t = &quietT{TB: t}
		wg.Add(1)
		go func() {
			defer wg.Done()
			randoms[i] = checkClone(c, i, mac, url, payload)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if randoms[0] == randoms[1] {
		t.Errorf("both clones read %s from /dev/urandom after the agent reseeded", randoms[0])
	}
}

// ackVsock answers each connection on ln with "ack:" and what it read.
func ackVsock(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		got, err := io.ReadAll(c)
		if err == nil {
			c.Write(append([]byte("ack:"), got...))
		}
		c.Close()
	}
}

// checkClone checks clone i's identity and network and returns 16 bytes
// it read from /dev/urandom, in hex.
func checkClone(c *vm, i int, mac net.HardwareAddr, url, payload string) string {
	t := c.t
	c.expect("popek-agent: eth0: new identity " + mac.String())
	agent := c.expect("\n")
	if !strings.Contains(agent, "CRNG reseeded with 64 bytes from /dev/hwrng") {
		t.Errorf("clone %d: agent did not reseed: %q", i, agent)
	}
	random := randomLine.FindStringSubmatch(c.run("head -c 16 /dev/urandom | od -x"))
	if random == nil {
		t.Fatalf("clone %d: no od output", i)
	}
	if m := macLine.FindStringSubmatch(c.run("cat /sys/class/net/eth0/address")); m == nil || m[1] != mac.String() {
		t.Errorf("clone %d: eth0 has address %v, want %s", i, m, mac)
	}
	if out := c.run("ip addr show dev eth0; route -n"); !strings.Contains(out, "10.0.2.15/24") || !defaultRoute.MatchString(out) {
		t.Errorf("clone %d: address or route lost:\n%s", i, out)
	}
	if out := c.run("wget -O /tmp/got " + url + " && cat /tmp/got"); !strings.Contains(out, payload) {
		t.Errorf("clone %d: fetch through the user network:\n%s", i, out)
	}
	// The device drops packets from any CID but the clone's, so an answer
	// means the guest took its new CID from the transport reset.
	msg := fmt.Sprintf("hello-from-clone-%d", i)
	if out := c.run(fmt.Sprintf("/vt vsock-dial %d %s", vsockHostPort, msg)); !strings.Contains(out, "VSOCK REPLY [ack:"+msg+"]") {
		t.Errorf("clone %d: vsock connection to the host:\n%s", i, out)
	}
	if vs := c.m.VirtioDevices()[1].(*virtio.Vsock); vs.Dropped() != 0 {
		t.Errorf("clone %d: vsock dropped %d packets (sent from the old CID?)", i, vs.Dropped())
	}
	return random[1]
}
