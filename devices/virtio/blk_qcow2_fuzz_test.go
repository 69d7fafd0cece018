package virtio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// FuzzQcow2Image opens a qcow2 image made of fuzz bytes and reads ranges
// of it chosen by ops. Opening may fail and reads may fail; neither may
// panic, hang or take unbounded memory, and what reads return must be
// consistent: a range read whole equals the range read in two pieces.
// With POPEK_FUZZ_STRICT=1 a panic of the library that popek recovered
// fails too, to find out which inputs make it panic.
func FuzzQcow2Image(f *testing.F) {
	img, _ := buildQcow2(f)
	f.Add(img, []byte{0, 0, 0, 0, 0, 24, 3, 0, 0, 0, 0, 2})
	f.Add(withBacking("f.qcow2", "")(bytes.Clone(img)), []byte{1, 0, 0, 0, 255, 1})
	f.Add(be32(20, 12)(bytes.Clone(img)), []byte{0, 1, 0, 0, 0, 16})
	f.Add(be64(72, qcow2IncExtendedL2)(bytes.Clone(img)), []byte{2, 0, 0, 0, 0, 8})
	for _, seed := range qemuSeeds(f) {
		f.Add(seed, []byte{0, 0, 0, 0, 0, 64, 5, 0, 0, 0, 17, 1})
	}
	strict := os.Getenv("POPEK_FUZZ_STRICT") == "1"
	f.Fuzz(func(t *testing.T, data, ops []byte) {
		path := filepath.Join(t.TempDir(), "f.qcow2")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := openDisk(path, true)
		if err != nil {
			if strict && errors.Is(err, errQcow2Panic) {
				t.Fatal(err)
			}
			return
		}
		defer d.Close()
		size := d.Size()
		if _, ok := d.(*qcow2Image); ok && (size <= 0 || size > qcow2MaxSize) {
			t.Fatalf("qcow2 opened with size %d", size)
		}
		if size == 0 { // an empty raw image
			return
		}
		whole := make([]byte, 64<<10)
		parts := make([]byte, len(whole))
		for ; len(ops) >= 6; ops = ops[6:] {
			off := int64(binary.LittleEndian.Uint32(ops)) * 512 % size
			n := min(int64(binary.LittleEndian.Uint16(ops[4:]))+1, int64(len(whole)), size-off)
			err := d.ReadAt(whole[:n], off)
			if strict && errors.Is(err, errQcow2Panic) {
				t.Fatal(err)
			}
			if err != nil {
				continue
			}
			half := n / 2
			if d.ReadAt(parts[:half], off) != nil || d.ReadAt(parts[half:n], off+half) != nil {
				t.Fatalf("read of %d at %d succeeded whole, failed in pieces", n, off)
			}
			if !bytes.Equal(whole[:n], parts[:n]) {
				t.Fatalf("read of %d at %d differs whole and in pieces", n, off)
			}
		}
	})
}

// qemuSeeds are small images qemu-img makes (512-byte clusters keep them
// a few KiB), when it is installed.
func qemuSeeds(f *testing.F) [][]byte {
	qimg, err := exec.LookPath("qemu-img")
	if err != nil {
		return nil
	}
	dir := f.TempDir()
	disk := pattern(24<<10, 5)
	clear(disk[8<<10 : 12<<10]) // unallocated clusters
	raw := writeFile(f, dir, "s.raw", disk)
	var seeds [][]byte
	for i, args := range [][]string{
		{"-o", "cluster_size=512"},
		{"-c", "-o", "cluster_size=512"},
		{"-o", "cluster_size=512,compat=0.10"},
	} {
		out := filepath.Join(dir, "s.qcow2")
		cmd := exec.Command(qimg, append(append([]string{"convert", "-O", "qcow2"}, args...), raw, out)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			f.Fatalf("qemu-img seed %d: %v\n%s", i, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}
