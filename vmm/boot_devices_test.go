package vmm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
)

func TestBootSpecDevices(t *testing.T) {
	dir := t.TempDir()
	img, img2 := filepath.Join(dir, "disk.img"), filepath.Join(dir, "disk2.img")
	for _, p := range []string{img, img2} {
		if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	off := false
	cfg := &Config{Name: "d", RNG: &off, Drives: []DriveConfig{
		{File: img},
		{File: img2, RateLimit: &RateLimitConfig{BytesPerSec: "1M", OpsPerSec: 100}},
	}}
	cfg.ApplyDefaults()
	spec, err := newBootSpec(cfg, Backends{}, &defaultGuest{})
	if err != nil {
		t.Fatal(err)
	}
	devs, disks, err := spec.devices()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	if len(devs) != 2 || len(disks) != 2 {
		t.Fatalf("%d devices, %d disks", len(devs), len(disks))
	}
	if _, plain := devs[0].(*virtio.Block); !plain {
		t.Errorf("unlimited drive wrapped: %T", devs[0])
	}
	if lb, ok := devs[1].(*limitedBlock); !ok || lb.lim != disks[1].lim || disks[1].lim == nil {
		t.Errorf("limited drive is %T", devs[1])
	}
	if devs[1].Type() != virtio.DeviceBlock {
		t.Error("the wrapper hides the device type")
	}

	// A missing backend or an unreadable image fails up front.
	bad := cfg.Clone()
	bad.Drives[0].File = filepath.Join(dir, "missing.img")
	spec, _ = newBootSpec(bad, Backends{}, &defaultGuest{})
	if _, _, err := spec.devices(); err == nil || !strings.Contains(err.Error(), "drives[0]") {
		t.Fatalf("missing image: %v", err)
	}
	withNet := cfg.Clone()
	withNet.Nets = []NetConfig{{Mode: "user"}}
	if _, err := newBootSpec(withNet, Backends{}, &defaultGuest{}); err == nil || KindOf(err) != KindInvalid {
		t.Fatalf("net without a backend: %v", err)
	}
}

func TestSinceCounter(t *testing.T) {
	for _, c := range []struct{ now, before, want uint64 }{{10, 4, 6}, {4, 4, 0}, {3, 9, 3}} {
		if got := since(c.now, c.before); got != c.want {
			t.Errorf("since(%d, %d) = %d, want %d", c.now, c.before, got, c.want)
		}
	}
}
