package virtiotest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/netstack"
	"github.com/popek-vm/popek/vswitch"
	"golang.org/x/sys/unix"
)

const (
	userMAC     = "52:54:00:12:34:56"
	guestPort   = 7000 // the guest's TCP listener behind the host forward
	switchPort  = 7001
	vsockListen = 5000 // guest vsock port the host connects to
	vsockHost   = 5001 // host vsock port the guest connects to
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// eventually polls cond until it holds; the bound only turns a hang into
// a failure.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(guestTimeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// interfaces maps MAC addresses to the guest's interface names.
func interfaces(t *testing.T, g *guest) map[string]string {
	out := g.mustRun(`for i in /sys/class/net/*; do echo "IF ${i##*/} $(cat $i/address)"; done`)
	ifs := map[string]string{}
	for _, m := range regexp.MustCompile(`IF (\S+) ([0-9a-f:]{17})`).FindAllStringSubmatch(out, -1) {
		ifs[m[2]] = m[1]
	}
	return ifs
}

// TestNetworkVsockBalloon boots guest A with a user-mode NIC (with a host
// forward), a switch port, vsock and a balloon, and guest B on the same
// switch, all in this process, then checks DHCP, HTTP through the NAT,
// the host forward, VM-to-VM traffic, vsock both ways and the balloon
// returning memory to the host.
func TestNetworkVsockBalloon(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	uds := filepath.Join(dir, "vsock")
	hostPort := freePort(t)
	fwd, err := netstack.ParseHostFwd(fmt.Sprintf("tcp:127.0.0.1:%d-:%d", hostPort, guestPort))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := net.ParseMAC(userMAC)
	stack, err := netstack.New(netstack.Config{MAC: mac, Forwards: []netstack.HostForward{fwd}})
	if err != nil {
		t.Fatal(err)
	}
	userNIC, err := virtio.NewNet(virtio.NetConfig{MAC: mac, Backend: stack})
	if err != nil {
		t.Fatal(err)
	}
	switches := vswitch.NewRegistry(vswitch.Options{})
	switchNIC := func(vm string) (virtio.Device, string) {
		port, err := switches.Connect("lan")
		if err != nil {
			t.Fatal(err)
		}
		mac := virtio.DeriveMAC(vm + "/0")
		nic, err := virtio.NewNet(virtio.NetConfig{MAC: mac, Backend: port})
		if err != nil {
			t.Fatal(err)
		}
		return nic, mac.String()
	}
	nicA, macA := switchNIC("a")
	nicB, macB := switchNIC("b")
	vsock, err := virtio.NewVsock(3, uds)
	if err != nil {
		t.Fatal(err)
	}
	balloon := virtio.NewBalloon(nil)
	initrd := toolInitramfs(t)
	a := bootGuest(t, "guest-a", initrd, userNIC, nicA, vsock, balloon, virtio.NewRNG())
	b := bootGuest(t, "guest-b", initrd, nicB)

	ifsA, ifsB := interfaces(t, a), interfaces(t, b)
	userIf, lanA, lanB := ifsA[userMAC], ifsA[macA], ifsB[macB]
	if userIf == "" || lanA == "" || lanB == "" {
		t.Fatalf("interfaces not found: a %v, b %v", ifsA, ifsB)
	}

	t.Run("user", func(t *testing.T) { a.t = t; checkUserNet(t, a, userIf, hostPort) })
	t.Run("switch", func(t *testing.T) { a.t, b.t = t, t; checkSwitch(t, a, b, lanA, lanB) })
	t.Run("vsock", func(t *testing.T) { a.t = t; checkVsock(t, a, uds) })
	t.Run("balloon", func(t *testing.T) { a.t = t; checkBalloon(t, a, balloon) })
	a.t, b.t = t, t
	b.poweroff()
	a.poweroff()
}

func checkUserNet(t *testing.T, g *guest, ifname string, hostPort int) {
	g.mustRun("dhclient -ipv6=false -timeout 30 " + ifname)
	if out := g.mustRun("ip addr show dev " + ifname); !strings.Contains(out, "10.0.2.15") {
		t.Fatalf("no DHCP address on %s:\n%s", ifname, out)
	}

	// HTTP from a host server on 127.0.0.1, reached as 10.0.2.2.
	payload := bytes.Repeat(pattern(4093), 64)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/payload.bin" {
			http.NotFound(w, r)
			return
		}
		w.Write(payload)
	})}
	go srv.Serve(l)
	defer srv.Close()
	url := fmt.Sprintf("http://10.0.2.2:%d/payload.bin", l.Addr().(*net.TCPAddr).Port)
	g.mustRun("wget -O /tmp/payload.bin " + url)
	sum := fmt.Sprintf("%x", sha256.Sum256(payload))
	if out := g.mustRun("sha256sum /tmp/payload.bin"); !strings.Contains(out, sum) {
		t.Errorf("downloaded file's sha256 differs (want %s):\n%s", sum, out)
	}

	// Host port forward to a guest listener.
	g.typeLine(fmt.Sprintf("/vt tcp-serve %d", guestPort))
	g.expect("TCP LISTENING")
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", hostPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	greeting, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || greeting != "guest-hello\n" {
		t.Fatalf("greeting through the host forward: %q, %v", greeting, err)
	}
	c.Write([]byte("host-hello\n"))
	g.expect("TCP GOT [host-hello]")
	g.expect(images.Prompt)
}

func checkSwitch(t *testing.T, a, b *guest, lanA, lanB string) {
	a.mustRun("ip addr add 192.168.77.1/24 dev " + lanA + " && ip link set " + lanA + " up")
	b.mustRun("ip addr add 192.168.77.2/24 dev " + lanB + " && ip link set " + lanB + " up")
	if out := a.mustRun("ping -c 3 192.168.77.2"); !strings.Contains(out, "192.168.77.2") {
		t.Errorf("ping over the switch:\n%s", out)
	}
	b.typeLine(fmt.Sprintf("/vt tcp-serve %d", switchPort))
	b.expect("TCP LISTENING")
	a.mustRun(fmt.Sprintf("/vt tcp-dial 192.168.77.2:%d from-guest-a", switchPort))
	b.expect("TCP GOT [from-guest-a]")
	b.expect(images.Prompt)
}

func checkVsock(t *testing.T, g *guest, uds string) {
	// Host to guest: Firecracker's CONNECT handshake, then an echo.
	g.typeLine(fmt.Sprintf("/vt vsock-echo %d", vsockListen))
	g.expect("VSOCK LISTENING")
	c, err := net.Dial("unix", uds)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %d\n", vsockListen)
	r := bufio.NewReader(c)
	ok, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(ok, "OK ") {
		t.Fatalf("vsock handshake: %q, %v", ok, err)
	}
	msg := "ping-over-vsock"
	c.Write([]byte(msg))
	c.(*net.UnixConn).CloseWrite()
	echo, err := io.ReadAll(r)
	if err != nil || string(echo) != msg {
		t.Errorf("vsock echo: %q, %v", echo, err)
	}
	g.expect(fmt.Sprintf("VSOCK ECHOED %d BYTES FROM CID 2", len(msg)))
	g.expect(images.Prompt)

	// Guest to host: connections to host port P arrive on uds_P.
	l, err := net.Listen("unix", fmt.Sprintf("%s_%d", uds, vsockHost))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		got, err := io.ReadAll(c)
		if err == nil {
			_, err = c.Write(append([]byte("ack:"), got...))
		}
		served <- err
	}()
	g.mustRun(fmt.Sprintf("/vt vsock-dial %d hello-host", vsockHost))
	if !strings.Contains(g.log.String(), "VSOCK REPLY [ack:hello-host]") {
		t.Error("the guest did not get the host's vsock reply")
	}
	if err := <-served; err != nil {
		t.Errorf("host side of the guest's vsock connection: %v", err)
	}
}

// residentBytes is how much of the guest's RAM mapping is in host memory.
func residentBytes(t *testing.T, g *guest) uint64 {
	ram := g.m.RAM().Bytes()
	page := unix.Getpagesize()
	vec := make([]byte, (len(ram)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&ram[0])), uintptr(len(ram)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	var n uint64
	for _, v := range vec {
		n += uint64(v & 1)
	}
	return n * uint64(page)
}

func checkBalloon(t *testing.T, g *guest, bal *virtio.Balloon) {
	const mib = 1 << 20
	reporting := strings.Contains(g.run("gzip -d -c /proc/config.gz | grep PAGE_REPORTING"), "CONFIG_PAGE_REPORTING=y")
	r0 := residentBytes(t, g)
	g.mustRun("dd if=/dev/zero of=/tmp/big bs=1048576 count=100")
	r1 := residentBytes(t, g)
	g.mustRun("rm /tmp/big && sync")
	r2 := residentBytes(t, g)
	// Inflate beyond the never-touched part of free memory (about 115 of
	// the ~215 MiB free), so the balloon must take freed tmpfs pages too:
	// the host then releases them whether or not free page reporting,
	// which only reports whole free pageblocks, gets to them.
	const target = 176 * mib / 4096
	bal.SetTarget(target)
	eventually(t, "the guest to inflate the balloon", func() bool { return bal.Actual() == target })
	r3 := residentBytes(t, g)
	if r1 < r0+80*mib {
		t.Errorf("writing 100 MiB in the guest grew its resident RAM only from %d to %d MiB", r0/mib, r1/mib)
	}
	// Balloon pages are released as the guest hands them over; the rest of
	// the freed tmpfs pages come back by free page reporting, which the
	// guest runs a couple of seconds after they are freed.
	var r4 uint64
	eventually(t, "resident guest RAM to fall by 48 MiB", func() bool {
		r4 = residentBytes(t, g)
		return r4+48*mib <= r1
	})
	t.Logf("guest RAM resident on the host: boot %d MiB, after writing 100 MiB to tmpfs %d MiB, after rm %d MiB, balloon inflated to 176 MiB %d MiB, then (free page reporting %v) %d MiB",
		r0/mib, r1/mib, r2/mib, r3/mib, reporting, r4/mib)
	bal.SetTarget(0)
	eventually(t, "the guest to deflate the balloon", func() bool { return bal.Actual() == 0 })
	g.mustRun("dd if=/dev/zero of=/tmp/again bs=1048576 count=32 && rm /tmp/again")
}
