package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/spf13/pflag"
)

func TestParseMemSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string
	}{
		{"256M", 256 << 20, ""},
		{"256m", 256 << 20, ""},
		{"256", 256 << 20, ""},
		{"1G", 1 << 30, ""},
		{"2g", 2 << 30, ""},
		{"65536K", 64 << 20, ""},
		{"512MiB", 512 << 20, ""},
		{"512MB", 512 << 20, ""},
		{" 128M ", 128 << 20, ""},
		{"1T", 1 << 40, ""},
		{"", 0, "bad memory size"},
		{"M", 0, "bad memory size"},
		{"0", 0, "bad memory size"},
		{"-5M", 0, "bad memory size"},
		{"12X", 0, "bad memory size"},
		{"1.5G", 0, "bad memory size"},
		{"2T", 0, "larger than 1 TiB"},
		{"99999999999999999999", 0, "bad memory size"},
	}
	for _, tc := range tests {
		got, err := parseMemSize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseMemSize(%q) = %d, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseMemSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDrive(t *testing.T) {
	tests := []struct {
		in   string
		want driveSpec
		err  string
	}{
		{"file=disk.img", driveSpec{File: "disk.img"}, ""},
		{"disk.img", driveSpec{File: "disk.img"}, ""},
		{"file=a.img,readonly=on,serial=root", driveSpec{File: "a.img", ReadOnly: true, Serial: "root"}, ""},
		{"file=a.img,readonly=off,overlay=/tmp/o.img", driveSpec{File: "a.img", Overlay: "/tmp/o.img"}, ""},
		{"file=a.img,format=raw,if=virtio", driveSpec{File: "a.img", Format: "raw"}, ""},
		{"file=a.qcow2,format=QCOW2,overlay=o", driveSpec{File: "a.qcow2", Format: "qcow2", Overlay: "o"}, ""},
		{"file=a.vmdk,format=vmdk", driveSpec{}, "popek reads raw and qcow2"},
		{"readonly=on", driveSpec{}, "missing file"},
		{"file=a.img,readonly=maybe", driveSpec{}, "want on or off"},
		{"file=a.img,cache=none", driveSpec{}, "unknown option"},
		{"file=a.img,junk", driveSpec{}, "not key=value"},
		{"file=a.img,=x", driveSpec{}, "empty option name"},
	}
	for _, tc := range tests {
		got, err := parseDrive(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseDrive(%q) = %+v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseDrive(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseNetAndShare(t *testing.T) {
	n, err := parseNet("user,hostfwd=tcp::2222-:22,hostfwd=tcp::8080-:80,mac=52:54:00:12:34:56")
	if err != nil || n.Mode != "user" || len(n.Forwards) != 2 || n.Forwards[0].GuestPort != 22 || n.MAC.String() != "52:54:00:12:34:56" {
		t.Errorf("parseNet = %+v, %v", n, err)
	}
	for _, bad := range []string{"tap", "user,bogus=1", "user,hostfwd=udp::53-:53", "user,mac=01:00:00:00:00:01", "user,mac=zz"} {
		if _, err := parseNet(bad); err == nil {
			t.Errorf("parseNet(%q) accepted", bad)
		}
	}
	sh, err := parseShare("/srv/data:data,readonly=on")
	if err != nil || sh != (shareSpec{Path: "/srv/data", Tag: "data", ReadOnly: true}) {
		t.Errorf("parseShare = %+v, %v", sh, err)
	}
	if sh, _ := parseShare("/srv"); sh.Tag != "share" {
		t.Errorf("default tag %q", sh.Tag)
	}
	for _, bad := range []string{"", ":tag", "/x,size=3"} {
		if _, err := parseShare(bad); err == nil {
			t.Errorf("parseShare(%q) accepted", bad)
		}
	}
}

func TestEscapeFilter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		fwd    string
		help   bool
		quit   bool
	}{
		{"plain", []string{"ls\r"}, "ls\r", false, false},
		{"ctrl-c passes", []string{"\x03"}, "\x03", false, false},
		{"quit", []string{"ab\x01xcd"}, "ab", false, true},
		{"quit upper", []string{"\x01X"}, "", false, true},
		{"literal ctrl-a", []string{"a\x01\x01b"}, "a\x01b", false, false},
		{"help", []string{"\x01h"}, "", true, false},
		{"split across reads", []string{"a\x01", "x"}, "a", false, true},
		{"split literal", []string{"\x01", "\x01z"}, "\x01z", false, false},
		{"unknown command swallowed", []string{"\x01qz"}, "z", false, false},
	}
	for _, tc := range tests {
		var f escapeFilter
		var fwd string
		var help, quit bool
		for _, c := range tc.chunks {
			r := f.feed([]byte(c))
			fwd += string(r.forward)
			help = help || r.help
			quit = quit || r.quit
		}
		if fwd != tc.fwd || help != tc.help || quit != tc.quit {
			t.Errorf("%s: forward %q help %v quit %v; want %q %v %v", tc.name, fwd, help, quit, tc.fwd, tc.help, tc.quit)
		}
	}
}

func TestPumpInput(t *testing.T) {
	var got strings.Builder
	sink := newInputSink()
	sink.set(&got)
	var help strings.Builder
	quit := false
	pumpInput(strings.NewReader("echo hi\r\x01h\x01\x01\x01xnot sent"), &escapeFilter{}, sink, &help, func() { quit = true })
	if got.String() != "echo hi\r\x01" || !quit || !strings.Contains(help.String(), "C-a x") {
		t.Errorf("forwarded %q, quit %v, help %q", got.String(), quit, help.String())
	}

	// Without a filter (stdin is a pipe) bytes pass verbatim and EOF just
	// ends the pump.
	got.Reset()
	quit = false
	pumpInput(strings.NewReader("a\x01xb"), nil, sink, &help, func() { quit = true })
	if got.String() != "a\x01xb" || quit {
		t.Errorf("pipe input forwarded %q, quit %v", got.String(), quit)
	}
}

// TestDeviceSlotOrder: virtio slots follow the command line across flag
// kinds, with the RNG last.
func TestDeviceSlotOrder(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(disk, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	var o runOptions
	f := pflag.NewFlagSet("run", pflag.ContinueOnError)
	addRunFlags(f, &o)
	if err := f.Parse([]string{"--share", dir + ":a", "--drive", "file=" + disk, "--net", "user", "--share", dir + ":b", "--kernel", disk}); err != nil {
		t.Fatal(err)
	}
	kinds := func(s *machineSpec) string {
		var k []string
		for _, d := range s.devs {
			switch {
			case d.drive != nil:
				k = append(k, "drive")
			case d.net != nil:
				k = append(k, "net")
			case d.share != nil:
				k = append(k, "share:"+d.share.Tag)
			}
		}
		return strings.Join(k, ",")
	}
	s, err := buildSpec(&o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(s); got != "share:a,drive,net,share:b" || !s.rng {
		t.Errorf("slot order %q (rng %v), want share:a,drive,net,share:b then rng", got, s.rng)
	}
}

// TestBalloonFlag: --balloon adds the balloon as the last device with its
// boot size; sizes the guest cannot give are refused.
func TestBalloonFlag(t *testing.T) {
	cases := []struct {
		arg   string
		pages uint32
		err   string
	}{
		{"0", 0, ""},
		{"0M", 0, ""},
		{"64M", 64 << 8, ""},
		{"1G", 0, "not less than the guest's memory"},
		{"lots", 0, "--balloon"},
	}
	for _, c := range cases {
		var o runOptions
		f := pflag.NewFlagSet("run", pflag.ContinueOnError)
		addRunFlags(f, &o)
		if err := f.Parse([]string{"--balloon", c.arg, "--memory", "256M"}); err != nil {
			t.Fatal(err)
		}
		s, err := buildSpec(&o, nil)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("--balloon %s: %v, want %q", c.arg, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("--balloon %s: %v", c.arg, err)
		}
		devs, err := s.devices()
		if err != nil {
			t.Fatal(err)
		}
		b, ok := devs[len(devs)-1].(*virtio.Balloon)
		if !ok || b.Target() != c.pages {
			t.Errorf("--balloon %s: last device %T, want a balloon of %d pages", c.arg, devs[len(devs)-1], c.pages)
		} else if len(devs) != 2 {
			t.Errorf("--balloon %s: %d devices, want the RNG and the balloon", c.arg, len(devs))
		}
		for _, d := range devs {
			d.Close()
		}
	}
}
