package virtiotest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
)

const (
	diskSize   = 32 << 20
	rawOffset  = 1 << 20 // where the guest writes the pattern on the raw disk
	rawLen     = 256 << 10
	ext4Text   = "written by the guest onto ext4\n"
	shareHello = "hello from the host share\n"
	hostSecret = "host-secret-outside-the-share"
)

// storageDisks are the block devices of TestStorageDevices, by serial.
type storageDisks struct {
	dir                      string
	raw, ext4, ro, base, ovl string
	roData, baseData         []byte
	share, roShare           string
	hostMkfs                 bool // the guest has no mke2fs: the host made ext4
}

func newStorageDisks(t *testing.T) *storageDisks {
	t.Helper()
	dir := t.TempDir()
	d := &storageDisks{dir: dir,
		raw: filepath.Join(dir, "raw.img"), ext4: filepath.Join(dir, "ext4.img"), ro: filepath.Join(dir, "ro.img"),
		base: filepath.Join(dir, "base.img"), ovl: filepath.Join(dir, "base.ovl"),
		share: filepath.Join(dir, "share"), roShare: filepath.Join(dir, "roshare"),
	}
	d.roData = bytes.Repeat([]byte("READONLY"), diskSize/8)
	d.baseData = bytes.Repeat([]byte("BASEIMG!"), diskSize/8)
	for p, data := range map[string][]byte{d.raw: make([]byte, diskSize), d.ext4: make([]byte, diskSize), d.ro: d.roData, d.base: d.baseData} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{d.share, d.roShare} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(d.share, "hello.txt"), shareHello)
	write(filepath.Join(d.roShare, "hello.txt"), shareHello)
	write(filepath.Join(dir, "outside.txt"), hostSecret)
	for name, target := range map[string]string{"abs-link": filepath.Join(dir, "outside.txt"), "rel-link": "../outside.txt", "dir-link": dir} {
		if err := os.Symlink(target, filepath.Join(d.share, name)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// initramfsHas reports whether the gzip'd cpio archive holds a file whose
// name ends in name (e.g. "/mke2fs").
func initramfsHas(t *testing.T, gz []byte, name string) bool {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(raw, []byte(name+"\x00"))
}

// TestStorageDevices boots one guest with four disks (raw, ext4, read-only,
// copy-on-write overlay), two 9p shares (one read-only), the RNG and the
// virtio console, checks each from inside, powers off and checks the host
// side.
func TestStorageDevices(t *testing.T) {
	skipShort(t)
	for _, tool := range []string{"debugfs", "e2fsck", "mke2fs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s (e2fsprogs) not installed on the host", tool)
		}
	}
	d := newStorageDisks(t)
	initrd := toolInitramfs(t)
	guestMkfs := initramfsHas(t, initrd, "/mke2fs")
	if !guestMkfs {
		t.Log("the guest has no mke2fs (BusyBox not in the initramfs yet): the host formats the ext4 disk")
		if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", d.ext4).CombinedOutput(); err != nil {
			t.Fatalf("mke2fs: %v\n%s", err, out)
		}
	}

	blk := func(c virtio.BlockConfig) virtio.Device {
		b, err := virtio.NewBlock(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	share := func(dir, tag string, ro bool) virtio.Device {
		s, err := virtio.New9P(dir, tag, ro)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hvcOut := newConsoleLog()
	con := virtio.NewConsole(hvcOut)
	g := bootGuest(t, "storage", initrd,
		blk(virtio.BlockConfig{Path: d.raw, Serial: "raw"}),
		blk(virtio.BlockConfig{Path: d.ext4, Serial: "ext4"}),
		blk(virtio.BlockConfig{Path: d.ro, Serial: "ro", ReadOnly: true}),
		blk(virtio.BlockConfig{Path: d.base, Serial: "ovl", Overlay: d.ovl}),
		share(d.share, "hostshare", false),
		share(d.roShare, "roshare", true),
		virtio.NewRNG(),
		con,
	)

	// Linux names disks in probe order; find them by serial.
	disks := map[string]string{}
	out := g.mustRun(`for d in /sys/block/vd*; do echo "DISK $(cat $d/serial) ${d##*/}"; done`)
	for _, m := range regexp.MustCompile(`DISK (\w+) (vd[a-z]+)`).FindAllStringSubmatch(out, -1) {
		disks[m[1]] = "/dev/" + m[2]
	}
	for _, s := range []string{"raw", "ext4", "ro", "ovl"} {
		if disks[s] == "" {
			t.Fatalf("no disk with serial %q in:\n%s", s, out)
		}
	}

	// Raw disk: the pattern at 1 MiB, checked on the host after power-off.
	g.mustRun(fmt.Sprintf("/vt pattern %d /tmp/pat", rawLen))
	g.mustRun(fmt.Sprintf("dd if=/tmp/pat of=%s bs=65536 seek=%d && sync", disks["raw"], rawOffset/65536))

	// ext4: a file written through the guest's file system.
	if guestMkfs {
		g.mustRun("mke2fs -q " + disks["ext4"])
	}
	g.mustRun("mkdir -p /mnt/e && mount -t ext4 " + disks["ext4"] + " /mnt/e")
	g.mustRun("echo -n '" + strings.TrimSuffix(ext4Text, "\n") + "' > /mnt/e/f && echo >> /mnt/e/f && sync")
	if out := g.mustRun("cat /mnt/e/f"); !strings.Contains(out, ext4Text) {
		t.Errorf("reading back the ext4 file: %q", out)
	}
	g.mustRun("umount /mnt/e")

	// Read-only disk: writes fail in the guest.
	if rc := g.status("dd if=/tmp/pat of=" + disks["ro"] + " bs=4096 count=1 && sync"); rc == 0 {
		t.Error("writing the read-only disk succeeded in the guest")
	}
	if out := g.mustRun("cat /sys/block/" + strings.TrimPrefix(disks["ro"], "/dev/") + "/ro"); !strings.Contains(out, "\n1") {
		t.Errorf("sysfs ro flag: %q", out)
	}

	// Overlay: the guest sees its own writes; the base stays as it was.
	g.mustRun("/vt pattern 65536 /tmp/pat64")
	g.mustRun("dd if=/tmp/pat64 of=" + disks["ovl"] + " bs=65536 count=1 && sync")
	g.mustRun("dd if=" + disks["ovl"] + " of=/tmp/back bs=65536 count=1")
	if out := g.run("cmp /tmp/pat64 /tmp/back && echo OVERLAY-READBACK-OK"); !strings.Contains(out, "\nOVERLAY-READBACK-OK") {
		t.Errorf("overlay read-back: %q", out)
	}

	checkShares(t, g, d)
	checkRNG(t, g)
	checkConsole(t, g, con, hvcOut)

	g.poweroff()

	// Host side.
	raw, _ := os.ReadFile(d.raw)
	if !bytes.Equal(raw[rawOffset:rawOffset+rawLen], pattern(rawLen)) {
		t.Error("raw disk: the guest's pattern is not at 1 MiB on the host")
	}
	if !isZero(raw[:rawOffset]) || !isZero(raw[rawOffset+rawLen:]) {
		t.Error("raw disk: bytes outside the written range changed")
	}
	if out, err := exec.Command("debugfs", "-R", "cat /f", d.ext4).Output(); err != nil || string(out) != ext4Text {
		t.Errorf("debugfs cat /f: %q, %v; want %q", out, err, ext4Text)
	}
	if out, err := exec.Command("e2fsck", "-fn", d.ext4).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
	if ro, _ := os.ReadFile(d.ro); !bytes.Equal(ro, d.roData) {
		t.Error("the read-only image changed")
	}
	if base, _ := os.ReadFile(d.base); !bytes.Equal(base, d.baseData) {
		t.Error("the overlay's base image changed")
	}
	if fi, err := os.Stat(d.ovl); err != nil || fi.Size() == 0 {
		t.Errorf("overlay file: %v", err)
	}
}

func isZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// checkShares mounts both 9p shares and checks reads, writes, confinement
// and read-only enforcement.
func checkShares(t *testing.T, g *guest, d *storageDisks) {
	g.mustRun("mkdir -p /mnt/s /mnt/r")
	g.mustRun("mount -t 9p -o trans=virtio,version=9p2000.L hostshare /mnt/s")
	g.mustRun("mount -t 9p -o trans=virtio,version=9p2000.L roshare /mnt/r")
	if out := g.mustRun("cat /mnt/s/hello.txt"); !strings.Contains(out, shareHello) {
		t.Errorf("host file through 9p: %q", out)
	}
	g.mustRun("echo guest-wrote-this > /mnt/s/from-guest.txt")
	if b, err := os.ReadFile(filepath.Join(d.share, "from-guest.txt")); err != nil || string(b) != "guest-wrote-this\n" {
		t.Errorf("guest's file on the host: %q, %v", b, err)
	}
	// Symlinks are resolved by the guest in its own namespace, and ".."
	// at the share's root stays in the guest: nothing reaches the host
	// file outside the shared directory.
	for _, p := range []string{"/mnt/s/abs-link", "/mnt/s/rel-link", "/mnt/s/dir-link/outside.txt", "/mnt/s/../../outside.txt", "/mnt/s/../outside.txt"} {
		if out := g.run("cat " + p); strings.Contains(out, hostSecret) {
			t.Errorf("cat %s escaped the share:\n%s", p, out)
		}
	}
	if out := g.mustRun("ls /mnt/r"); !strings.Contains(out, "hello.txt") {
		t.Errorf("listing the read-only share: %q", out)
	}
	if rc := g.status("echo x > /mnt/r/new.txt"); rc == 0 {
		t.Error("creating a file on the read-only share succeeded")
	}
	if rc := g.status("rm /mnt/r/hello.txt"); rc == 0 {
		t.Error("removing a file on the read-only share succeeded")
	}
	if _, err := os.Stat(filepath.Join(d.roShare, "new.txt")); err == nil {
		t.Error("the read-only share's host directory got a new file")
	}
	if _, err := os.Stat(filepath.Join(d.roShare, "hello.txt")); err != nil {
		t.Errorf("the read-only share lost a file: %v", err)
	}
	g.mustRun("umount /mnt/s && umount /mnt/r")
}

// checkRNG reads /dev/hwrng, served by virtio-rng.
func checkRNG(t *testing.T, g *guest) {
	if out := g.mustRun("cat /sys/class/misc/hw_random/rng_current"); !strings.Contains(out, "virtio_rng") {
		t.Errorf("rng_current: %q", out)
	}
	out := g.mustRun("dd if=/dev/hwrng bs=64 count=1 2>/dev/null | hexdump")
	lines := regexp.MustCompile(`(?m)^000000[0-3]0 +((?:[0-9a-f]{2} +){16})`).FindAllStringSubmatch(out, -1)
	if len(lines) != 4 {
		t.Fatalf("hexdump of 64 random bytes:\n%s", out)
	}
	if strings.Count(lines[0][1]+lines[1][1]+lines[2][1]+lines[3][1], "00 ") == 64 {
		t.Error("/dev/hwrng gave 64 zero bytes")
	}
}

// checkConsole writes to and reads from the virtio console port.
func checkConsole(t *testing.T, g *guest, con *virtio.Console, out *consoleLog) {
	if rc := g.status("ls /dev/hvc1"); rc != 0 {
		t.Error("no /dev/hvc1")
		return
	}
	g.mustRun("echo guest-to-hvc1 > /dev/hvc1")
	if !strings.Contains(out.String(), "guest-to-hvc1") {
		t.Errorf("virtio console output: %q", out.String())
	}
	g.typeLine("/vt hvc-read /dev/hvc1")
	g.expect("HVC OPEN")
	con.Input([]byte("host-to-hvc1\n"))
	g.expect("HVC GOT [host-to-hvc1]")
	g.expect(images.Prompt)
}
