package snapshot

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
)

// flattenOverlay writes base with a popek overlay applied (the format of
// devices/virtio/blk_overlay.go) to out, for host tools that read raw
// images.
func flattenOverlay(t *testing.T, base, overlay, out string) {
	t.Helper()
	b, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	o, err := os.ReadFile(overlay)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if string(o[:8]) != "POPEKOVL" {
		t.Fatalf("%s is not an overlay", overlay)
	}
	cbits, size, bitmapOff, dataOff := le.Uint32(o[16:]), le.Uint64(o[24:]), le.Uint64(o[72:]), le.Uint64(o[88:])
	cs := uint64(1) << cbits
	if size != uint64(len(b)) {
		t.Fatalf("overlay for %d bytes over a %d-byte base", size, len(b))
	}
	for k := uint64(0); k*cs < size; k++ {
		if o[bitmapOff+k/8]&(1<<(k%8)) != 0 {
			end := min((k+1)*cs, size)
			copy(b[k*cs:end], o[dataOff+k*cs:dataOff+end])
		}
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t *testing.T, name string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// debugfsCat reads a file out of an ext4 image.
func debugfsCat(t *testing.T, img, name string) []byte {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", "cat "+name, img).Output()
	if err != nil {
		t.Fatalf("debugfs cat %s: %v", name, err)
	}
	return out
}

// writerLoop writes files of random data to the mounted disk, recording
// each one's checksum in sums, a dot per file.
func writerLoop(files int) string {
	return fmt.Sprintf(`for i in $(seq 1 %d); do dd if=/dev/urandom of=/tmp/d/f$i bs=4096 count=8 2>/dev/null; shasum -a 256 /tmp/d/f$i >> /tmp/d/sums; echo -n .; done; echo; echo WROTE`, files)
}

// TestSnapshotWhileWritingDisk snapshots a guest in the middle of writing
// files to an ext4 disk, lets the original keep writing, and restores the
// snapshot: the restored guest finishes the job on its own overlay and
// unmounts cleanly; then on the host the restored disk passes e2fsck -fn
// and holds every file with the checksum the guest recorded. The
// snapshot's frozen disk is unchanged by the original's later writes.
func TestSnapshotWhileWritingDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	for _, tool := range []string{"mkfs.ext4", "e2fsck", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (e2fsprogs)", tool)
		}
	}
	for _, withOverlay := range []bool{false, true} {
		name := "raw"
		if withOverlay {
			name = "overlay"
		}
		t.Run(name, func(t *testing.T) {
			const files = 16
			dir := t.TempDir()
			disk := testDisk(t, dir, 32<<20)
			if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", disk).CombinedOutput(); err != nil {
				t.Fatalf("mkfs.ext4: %v\n%s", err, out)
			}
			baseSum := fileSum(t, disk)
			bc := virtio.BlockConfig{Path: disk, Serial: "snapdisk"}
			if withOverlay {
				bc.Overlay = filepath.Join(dir, "source.ovl")
			}
			blk, err := virtio.NewBlock(bc)
			if err != nil {
				t.Fatal(err)
			}
			log := newConsoleLog()
			v := bootGuest(t, guestConfig(1, 128<<20, log, blk, virtio.NewRNG()))
			v.run("mkdir -p /tmp/d && mount -t ext4 /dev/vda /tmp/d && echo mounted")
			v.send(writerLoop(files) + "\n")
			v.expect(".....")
			snap, err := Write(filepath.Join(dir, "snap"), v.m, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			spec := snap.Manifest.VM.Devices[0].Block
			if withOverlay && (spec.Overlay == "" || spec.Base != disk) || !withOverlay && spec.Image == "" {
				t.Fatalf("disk frozen as %+v", spec)
			}
			t.Logf("snapshot paused the guest %v; disk files %d KiB", snap.Written.Paused, snap.Written.DiskBytes>>10)
			// The original goes on writing to its own files and unmounts.
			v.expect("WROTE")
			v.expect("popek# ")
			v.run("umount /tmp/d && echo unmounted")
			v.m.Close()
			if _, err := Open(snap.Dir); err != nil {
				t.Fatalf("snapshot changed by the original VM's writes: %v", err)
			}

			opened, err := Open(snap.Dir)
			if err != nil {
				t.Fatal(err)
			}
			diskDir := filepath.Join(dir, "restored")
			r := restoreVM(t, opened, RestoreOptions{DiskDir: diskDir})
			r.expect("WROTE")
			r.expect("popek# ")
			if got := r.run("umount /tmp/d && echo unmounted"); !strings.HasSuffix(got, "unmounted") {
				t.Fatalf("umount in the restored guest: %q", got)
			}
			r.m.Close()

			flat := filepath.Join(dir, "flat.img")
			base := filepath.Join(snap.Dir, filepath.FromSlash(spec.Image))
			if withOverlay {
				base = spec.Base
			}
			flattenOverlay(t, base, filepath.Join(diskDir, "disk0.ovl"), flat)
			if out, err := exec.Command("e2fsck", "-fn", flat).CombinedOutput(); err != nil {
				t.Fatalf("e2fsck -fn on the restored disk: %v\n%s", err, out)
			}
			sums := strings.Split(strings.TrimSpace(string(debugfsCat(t, flat, "/sums"))), "\n")
			if len(sums) != files {
				t.Fatalf("sums has %d lines, want %d:\n%s", len(sums), files, strings.Join(sums, "\n"))
			}
			for i := 1; i <= files; i++ {
				data := debugfsCat(t, flat, fmt.Sprintf("/f%d", i))
				h := sha256.Sum256(data)
				if len(data) != 8*4096 || !strings.HasPrefix(sums[i-1], hex.EncodeToString(h[:])) {
					t.Errorf("f%d (%d bytes) does not match the guest's checksum %q", i, len(data), sums[i-1])
				}
			}
			if after := fileSum(t, disk); withOverlay && after != baseSum {
				t.Error("the base image under the overlays was modified")
			}
		})
	}
}
