package vmm

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/vswitch"
)

// TestNewBackendsDevices builds every kind of backend device through a
// config and checks slot order, MACs and the shared switch.
func TestNewBackendsDevices(t *testing.T) {
	dir := t.TempDir()
	uds := filepath.Join(dir, "v.sock")
	off := false
	doc := `
name: web1
rng: false
nets:
  - mode: user
    hostfwd: ["tcp:127.0.0.1:` + freePort(t) + `-:80"]
  - switch: lan
  - mode: switch
    switch: lan
    mac: "52:54:00:00:00:42"
    rate_limit: {bytes_per_sec: 1M}
shares:
  - path: ` + dir + `
    tag: data
    readonly: true
vsock: {cid: 9, uds: ` + uds + `}
`
	cfg, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Nets[1].Mode != "switch" {
		t.Fatalf("a net with only switch: has mode %q", cfg.Nets[1].Mode)
	}
	switches := vswitch.NewRegistry(vswitch.Options{})
	b := NewBackends(switches)
	spec, err := newBootSpec(cfg, b, &defaultGuest{})
	if err != nil {
		t.Fatal(err)
	}
	devs, _, err := spec.devices()
	if err != nil {
		t.Fatal(err)
	}
	closeAll := func(devs []virtio.Device) {
		for _, d := range devs {
			d.Close()
		}
	}
	defer closeAll(devs)
	want := []uint32{virtio.DeviceNet, virtio.DeviceNet, virtio.DeviceNet, virtio.Device9P, virtio.DeviceVsock}
	if len(devs) != len(want) {
		t.Fatalf("%d devices, want %d", len(devs), len(want))
	}
	for i, d := range devs {
		if d.Type() != want[i] {
			t.Errorf("slot %d: type %d, want %d", i, d.Type(), want[i])
		}
	}
	mac := func(i int) string { return devs[i].(*virtio.Net).MAC().String() }
	if mac(0) != virtio.DeriveMAC("web1/0").String() || mac(1) != virtio.DeriveMAC("web1/1").String() {
		t.Errorf("derived MACs %s %s", mac(0), mac(1))
	}
	if mac(2) != "52:54:00:00:00:42" {
		t.Errorf("configured MAC: %s", mac(2))
	}
	if devs[3].(*virtio.P9).Tag() != "data" {
		t.Errorf("share tag %q", devs[3].(*virtio.P9).Tag())
	}
	if c, err := net.Dial("unix", uds); err != nil {
		t.Errorf("vsock socket: %v", err)
	} else {
		c.Close()
	}

	// A second VM of the same backends joins the same switch.
	other := &Config{Name: "web2", RNG: &off, Nets: []NetConfig{{Switch: "lan"}}}
	other.ApplyDefaults()
	spec2, err := newBootSpec(other, b, &defaultGuest{})
	if err != nil {
		t.Fatal(err)
	}
	devs2, _, err := spec2.devices()
	if err != nil {
		t.Fatal(err)
	}
	if sw, ok := switches.Switch("lan"); !ok || sw.Ports() != 3 {
		t.Errorf("switch lan after two VMs: ok=%v, want 3 ports", ok)
	}
	closeAll(devs2)
	if sw, _ := switches.Switch("lan"); sw.Ports() != 2 {
		t.Errorf("closing web2 left %d ports on lan, want 2", sw.Ports())
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestNewBackendsErrors checks that failures name the device.
func TestNewBackendsErrors(t *testing.T) {
	dir := t.TempDir()
	notSock := filepath.Join(dir, "file")
	if err := os.WriteFile(notSock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	off := false
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"share missing", Config{Shares: []ShareConfig{{Path: filepath.Join(dir, "nope"), Tag: "t"}}}, "shares[0]"},
		{"vsock path taken", Config{Vsock: &VsockConfig{CID: 3, UDS: notSock}}, "vsock:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Name, cfg.RNG = "e", &off
			cfg.ApplyDefaults()
			spec, err := newBootSpec(&cfg, NewBackends(vswitch.NewRegistry(vswitch.Options{})), &defaultGuest{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := spec.devices(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
		})
	}
}
