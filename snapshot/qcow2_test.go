package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
)

// TestSnapshotQcow2Base snapshots a guest writing files to an ext4 disk
// that is a popek overlay over a (compressed) qcow2 base, then restores
// and clones the snapshot: both reopen the base as qcow2, finish the
// writes on their own overlays and leave file systems that pass e2fsck
// with every file the guest recorded. The qcow2 file is never written,
// and a snapshot whose base was replaced is refused.
func TestSnapshotQcow2Base(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	for _, tool := range []string{"mkfs.ext4", "e2fsck", "debugfs", "qemu-img"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	const files = 12
	dir := t.TempDir()
	raw := testDisk(t, dir, 32<<20)
	base := filepath.Join(dir, "base.qcow2")
	for _, c := range [][]string{
		{"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", raw},
		{"qemu-img", "convert", "-c", "-O", "qcow2", raw, base},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c[0], err, out)
		}
	}
	baseSum := fileSum(t, base)
	blk, err := virtio.NewBlock(virtio.BlockConfig{Path: base, Overlay: filepath.Join(dir, "source.ovl"), Serial: "q"})
	if err != nil {
		t.Fatal(err)
	}
	v := bootGuest(t, guestConfig(1, 128<<20, newConsoleLog(), blk, virtio.NewRNG()))
	v.run("mkdir -p /tmp/d && mount -t ext4 /dev/vda /tmp/d && echo mounted")
	v.send(writerLoop(files) + "\n")
	v.expect("....")
	snap, err := Write(filepath.Join(dir, "snap"), v.m, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := snap.Manifest.VM.Devices[0].Block
	if spec.Base != base || spec.Overlay == "" || spec.Image != "" {
		t.Fatalf("disk frozen as %+v, want an overlay over %s", spec, base)
	}
	v.expect("WROTE")
	v.expect("popek# ")
	v.run("umount /tmp/d && echo unmounted")
	v.m.Close()

	opened, err := Open(snap.Dir)
	if err != nil {
		t.Fatal(err)
	}
	finish := func(name string, r *vm, ovl string) {
		t.Helper()
		r.expect("WROTE")
		r.expect("popek# ")
		if got := r.run("umount /tmp/d && echo unmounted"); !strings.HasSuffix(got, "unmounted") {
			t.Fatalf("%s: umount: %q", name, got)
		}
		r.m.Close()
		// The qcow2 base holds what the raw image it was made from holds.
		flat := filepath.Join(dir, name+".img")
		flattenOverlay(t, raw, ovl, flat)
		checkWrittenFiles(t, name, flat, files)
	}
	finish("restored", restoreVM(t, opened, RestoreOptions{DiskDir: filepath.Join(dir, "restored")}), filepath.Join(dir, "restored", "disk0.ovl"))

	log := newConsoleLog()
	m, err := opened.Clone(CloneOptions{RestoreOptions: RestoreOptions{Console: log, DiskDir: filepath.Join(dir, "clone")}})
	if err != nil {
		t.Fatal(err)
	}
	finish("clone", startVM(t, m, log), filepath.Join(dir, "clone", "disk0.ovl"))

	if fileSum(t, base) != baseSum {
		t.Fatal("the qcow2 base was modified")
	}
	// Another qcow2 with the same virtual disk is not the snapshot's base.
	if out, err := exec.Command("qemu-img", "convert", "-O", "qcow2", raw, base).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	if _, err := Open(snap.Dir); err == nil || !strings.Contains(err.Error(), "base image") {
		t.Fatalf("snapshot over a replaced qcow2 base: %v", err)
	}
}

// checkWrittenFiles checks writerLoop's files in an ext4 image: a clean
// file system, and every file with the checksum the guest recorded.
func checkWrittenFiles(t *testing.T, name, img string, files int) {
	t.Helper()
	if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
		t.Fatalf("%s: e2fsck -fn: %v\n%s", name, err, out)
	}
	sums := strings.Split(strings.TrimSpace(string(debugfsCat(t, img, "/sums"))), "\n")
	if len(sums) != files {
		t.Fatalf("%s: sums has %d lines, want %d", name, len(sums), files)
	}
	for i := 1; i <= files; i++ {
		data := debugfsCat(t, img, fmt.Sprintf("/f%d", i))
		h := sha256.Sum256(data)
		if len(data) != 8*4096 || !strings.HasPrefix(sums[i-1], hex.EncodeToString(h[:])) {
			t.Errorf("%s: f%d (%d bytes) does not match the guest's checksum %q", name, i, len(data), sums[i-1])
		}
	}
}
