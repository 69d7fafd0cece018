package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/vswitch"
)

func TestParseNetSwitch(t *testing.T) {
	tests := []struct {
		in, mode, sw, mac string
		bad               string // substring of the error; "" = accepted
	}{
		{in: "switch=lan0", mode: "switch", sw: "lan0"},
		{in: "switch=lan0,mac=52:54:00:aa:bb:cc", mode: "switch", sw: "lan0", mac: "52:54:00:aa:bb:cc"},
		{in: "user", mode: "user"},
		{in: "", mode: "user"},
		{in: "switch=", bad: "needs a name"},
		{in: "user,switch=a", bad: "exclude"},
		{in: "switch=a,hostfwd=tcp::2222-:22", bad: "hostfwd needs user"},
		{in: "tap", bad: "unknown network mode"},
	}
	for _, tt := range tests {
		n, err := parseNet(tt.in)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("parseNet(%q) = %+v, %v; want error with %q", tt.in, n, err, tt.bad)
			}
			continue
		}
		if err != nil || n.Mode != tt.mode || n.Switch != tt.sw || (tt.mac != "" && n.MAC.String() != tt.mac) {
			t.Errorf("parseNet(%q) = %+v, %v", tt.in, n, err)
		}
	}
}

func TestParseShareRO(t *testing.T) {
	tests := []struct {
		in   string
		want shareSpec
		ok   bool
	}{
		{"/srv:data,ro", shareSpec{Path: "/srv", Tag: "data", ReadOnly: true}, true},
		{"/srv,ro", shareSpec{Path: "/srv", Tag: "share", ReadOnly: true}, true},
		{"/srv:data,readonly=off", shareSpec{Path: "/srv", Tag: "data"}, true},
		{"/srv:data,rw", shareSpec{}, false},
		{"ro", shareSpec{Path: "ro", Tag: "share"}, true}, // the first element is always the directory
	}
	for _, tt := range tests {
		got, err := parseShare(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseShare(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseVsock(t *testing.T) {
	tests := []struct {
		in   string
		want vsockSpec
		bad  string
	}{
		{in: "cid=3,uds=/tmp/v.sock", want: vsockSpec{CID: 3, UDS: "/tmp/v.sock"}},
		{in: "uds=/x,cid=4294967294", want: vsockSpec{CID: 4294967294, UDS: "/x"}},
		{in: "cid=2,uds=/x", bad: "reserved"},
		{in: "cid=4294967295,uds=/x", bad: "reserved"},
		{in: "cid=abc,uds=/x", bad: "cid="},
		{in: "cid=5", bad: "missing uds"},
		{in: "uds=/x", bad: "missing cid"},
		{in: "/x", bad: "want cid=N,uds=PATH"},
		{in: "cid=5,uds=/x,port=3", bad: "unknown option"},
	}
	for _, tt := range tests {
		got, err := parseVsock(tt.in)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("parseVsock(%q) = %+v, %v; want error with %q", tt.in, got, err, tt.bad)
			}
		} else if err != nil || got != tt.want {
			t.Errorf("parseVsock(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

// TestSwitchNICs checks that NICs on one switch get distinct derived MACs,
// that a given mac= wins, and that they are ports of the same switch.
func TestSwitchNICs(t *testing.T) {
	reg := vswitch.NewRegistry(vswitch.Options{})
	var macs []string
	for i, spec := range []string{"switch=lan", "switch=lan", "switch=lan,mac=52:54:00:00:00:09"} {
		n, err := parseNet(spec)
		if err != nil {
			t.Fatal(err)
		}
		dev, err := newNetDevice(n, i, "vm-a", reg)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		macs = append(macs, dev.(*virtio.Net).MAC().String())
	}
	if macs[0] == macs[1] || macs[2] != "52:54:00:00:00:09" {
		t.Errorf("MACs %v: want two distinct derived ones, then the given one", macs)
	}
	if want := virtio.DeriveMAC("vm-a/0").String(); macs[0] != want {
		t.Errorf("MAC %s, want DeriveMAC(vm-a/0) = %s", macs[0], want)
	}
	if sw, ok := reg.Switch("lan"); !ok || sw.Ports() != 3 {
		t.Errorf("switch lan: ok=%v; want 3 ports", ok)
	}
}

// TestBuildSpecVsock checks --vsock takes the slot after the other devices
// and creates its socket, which closing the device removes.
func TestBuildSpecVsock(t *testing.T) {
	dir := t.TempDir()
	uds := filepath.Join(dir, "v.sock")
	disk := filepath.Join(dir, "d.img")
	if err := os.WriteFile(disk, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &runOptions{smp: 1, memory: "64M", rng: true, kernel: disk, vsock: "cid=7,uds=" + uds,
		devices: []deviceFlag{{flag: "drive", value: "file=" + disk}}}
	s, err := buildSpec(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := s.devices()
	if err != nil {
		t.Fatal(err)
	}
	var types []uint32
	for _, d := range devs {
		types = append(types, d.Type())
	}
	if len(types) != 3 || types[0] != virtio.DeviceBlock || types[1] != virtio.DeviceVsock || types[2] != virtio.DeviceEntropy {
		t.Errorf("device types %v: want block, vsock, rng", types)
	}
	if fi, err := os.Stat(uds); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("vsock socket: %v", err)
	}
	for _, d := range devs {
		d.Close()
	}
	if _, err := os.Stat(uds); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
	o.vsock = "cid=1,uds=" + uds
	if _, err := buildSpec(o, nil); err == nil {
		t.Error("cid=1 accepted")
	}
}
