package virtiotest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
)

const (
	qcow2DiskSize = 24 << 20
	qcow2FileLen  = 3<<20 + 123 // spans many clusters, ends inside one
	qcow2NewText  = "written by the guest over a qcow2 base"
)

// TestQcow2Drives boots the guest with two qcow2 images of one ext4 file
// system made on the host: compressed and read-only, and plain under a
// popek overlay. The guest hashes a file on each; it writes to the
// overlay disk, and afterwards the overlay holds the data while the qcow2
// files are unchanged.
func TestQcow2Drives(t *testing.T) {
	skipShort(t)
	for _, tool := range []string{"mke2fs", "qemu-img"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed on the host", tool)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	data := qcow2FileData()
	if err := os.WriteFile(filepath.Join(src, "data.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	raw := filepath.Join(dir, "fs.raw")
	ro, base, ovl := filepath.Join(dir, "ro.qcow2"), filepath.Join(dir, "base.qcow2"), filepath.Join(dir, "base.ovl")
	for _, c := range [][]string{
		{"mke2fs", "-q", "-F", "-t", "ext4", "-d", src, raw, "24M"},
		{"qemu-img", "convert", "-c", "-O", "qcow2", raw, ro},
		{"qemu-img", "convert", "-O", "qcow2", raw, base},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	roHash, baseHash := hashFile(t, ro), hashFile(t, base)

	blk := func(c virtio.BlockConfig) virtio.Device {
		b, err := virtio.NewBlock(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	g := bootGuest(t, "qcow2", nil,
		blk(virtio.BlockConfig{Path: ro, ReadOnly: true, Serial: "qro"}),
		blk(virtio.BlockConfig{Path: base, Overlay: ovl, Serial: "qovl"}),
	)
	disks := map[string]string{}
	out := g.mustRun(`for d in /sys/block/vd*; do echo "DISK $(cat $d/serial) ${d##*/} $(cat $d/size)"; done`)
	for _, m := range regexp.MustCompile(`DISK (\w+) (vd[a-z]+) (\d+)`).FindAllStringSubmatch(out, -1) {
		if m[3] != "49152" { // 24 MiB in sectors: the virtual size, not the file's
			t.Errorf("disk %s has %s sectors, want 49152", m[1], m[3])
		}
		disks[m[1]] = "/dev/" + m[2]
	}
	if disks["qro"] == "" || disks["qovl"] == "" {
		t.Fatalf("qcow2 disks not found by serial in:\n%s", out)
	}

	g.mustRun("mkdir -p /mnt/r /mnt/w && mount -t ext4 -o ro " + disks["qro"] + " /mnt/r")
	if out := g.mustRun("sha256sum /mnt/r/data.bin"); !strings.Contains(out, want) {
		t.Errorf("read-only qcow2: guest sha256sum %q, host %s", out, want)
	}
	g.mustRun("umount /mnt/r")

	g.mustRun("mount -t ext4 " + disks["qovl"] + " /mnt/w")
	if out := g.mustRun("sha256sum /mnt/w/data.bin"); !strings.Contains(out, want) {
		t.Errorf("qcow2 under an overlay: guest sha256sum %q, host %s", out, want)
	}
	g.mustRun("echo " + qcow2NewText + " > /mnt/w/new.txt && sync")
	if out := g.mustRun("cat /mnt/w/new.txt"); !strings.Contains(out, "\n"+qcow2NewText) {
		t.Errorf("reading back the new file: %q", out)
	}
	g.mustRun("umount /mnt/w")
	g.poweroff()

	if hashFile(t, ro) != roHash || hashFile(t, base) != baseHash {
		t.Error("a qcow2 image changed")
	}
	ovlData, err := os.ReadFile(ovl)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ovlData, []byte(qcow2NewText+"\n")) {
		t.Error("the overlay does not hold the file the guest wrote")
	}
}

// qcow2FileData compresses moderately, like real files: runs of text
// between bytes that do not repeat.
func qcow2FileData() []byte {
	b := make([]byte, qcow2FileLen)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		if i%4096 < 1024 {
			b[i] = "popek qcow2 "[i%12]
		} else {
			b[i] = byte(x >> 24)
		}
	}
	return b
}

func hashFile(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
