package snapshot

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"golang.org/x/sys/unix"
)

// The snapshot fuzzers replace one file of a real snapshot family and
// reseal the manifest over it (size and checksum), as a buggy or hostile
// writer could, so that the fuzzer gets past the checksums to the
// decoders. Open then Restore must refuse the snapshot with an error
// naming the problem, leaving nothing behind (no disk file in DiskDir), or
// accept it and build a machine.

// fuzzFamily writes, from a freshly loaded small machine (raw firmware and
// kernel, an initrd, a raw disk, an overlay disk, entropy), the snapshots
// "full" (raw memory), "child" (incremental on full) and "packed"
// (compressed memory) under a new directory.
func fuzzFamily(f testing.TB) string {
	dir := fastTempDir(f)
	writeFamily(f, dir, familyShape{
		diskSize: 64 << 10,
		base:     bytes.Repeat([]byte("base"), 16<<10),
		machine: board.Config{Harts: 2, MemSize: board.MinMemSize, Boot: board.BootFirmware,
			Firmware: bytes.Repeat([]byte{0x13, 0, 0, 0}, 1024), // nops
			Kernel:   []byte("raw kernel"), Initrd: []byte("initrd"), Cmdline: "console=ttyS0"},
		dirty: func(ram []byte) {
			copy(ram[1<<20:], bytes.Repeat([]byte("child"), 4000))
			clear(ram[:pageSize])
		},
	})
	return dir
}

// fastTempDir is a temporary directory on tmpfs when the host has
// /dev/shm: restores create and fsync overlay files, and fsync on a busy
// disk would make each fuzz input take tens of milliseconds.
func fastTempDir(tb testing.TB) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "popek-snapshot-fuzz-"); err == nil {
			tb.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return tb.TempDir()
}

// linkFamily recreates src under dst with hard links (the snapshot files
// are read-only and Open and Restore only read them), except skip, which
// the caller writes.
func linkFamily(t *testing.T, src, dst string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		for _, s := range skip {
			if rel == filepath.FromSlash(s) {
				return nil
			}
		}
		return os.Link(p, out)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readManifest reads a snapshot's manifest without checking it.
func readManifest(t testing.TB, dir string) Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// writeManifest seals m into dir.
func writeManifest(t *testing.T, dir string, m Manifest) {
	t.Helper()
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes data as snapshot file name and records its new size
// and checksum in the manifest.
func replaceFile(t *testing.T, src, dst, snap, name string, data []byte) {
	t.Helper()
	linkFamily(t, src, dst, snap+"/"+name, snap+"/"+ManifestFile)
	dir := filepath.Join(dst, snap)
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data, 0o444); err != nil {
		t.Fatal(err)
	}
	e, err := fileEntry(dir, name, "")
	if err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, filepath.Join(src, snap))
	for i := range m.Files {
		if m.Files[i].Name == name {
			m.Files[i] = e
		}
	}
	writeManifest(t, dir, m)
}

// openAndRestore opens and restores snapshot dir; it fails the test on a
// panic's aftermath (an unclear error, files left in DiskDir) and returns
// the opened snapshot when Open accepted it.
func openAndRestore(t *testing.T, dir string) *Snapshot {
	t.Helper()
	run := filepath.Join(filepath.Dir(dir), "run")
	s, err := Open(dir)
	if err != nil {
		checkFuzzError(t, "Open", err, "snapshot ")
		checkNothingRestored(t, run)
		return nil
	}
	m, err := s.Restore(RestoreOptions{DiskDir: run, BootImages: true})
	if err != nil {
		checkFuzzError(t, "Restore", err, "restore ")
		checkNothingRestored(t, run)
		return s
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close the restored machine: %v", err)
	}
	return s
}

func checkFuzzError(t *testing.T, op string, err error, prefix string) {
	t.Helper()
	msg := err.Error()
	// Manifest strings show up in messages, so "%!" alone proves nothing.
	if !strings.HasPrefix(msg, prefix) || strings.Contains(msg, "%!(") || strings.Contains(msg, "\n") {
		t.Fatalf("%s error %q is not one line naming the snapshot", op, msg)
	}
}

// checkNothingRestored fails if a refused restore left files in DiskDir.
func checkNothingRestored(t *testing.T, diskDir string) {
	t.Helper()
	left, err := os.ReadDir(diskDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("a refused restore left %s in %s", left[0].Name(), diskDir)
	}
}

// fileSeeds are data, a cut and a few flipped variants of it.
func fileSeeds(data []byte) [][]byte {
	out := [][]byte{data, data[:len(data)/2], data[:min(len(data), 17)], nil}
	for _, off := range []int{0, 8, 12, 16, 20, 24, 40, len(data) / 3, len(data) / 2, len(data) - 9, len(data) - 1} {
		if off >= 0 && off < len(data) {
			c := bytes.Clone(data)
			c[off] ^= 0x21
			out = append(out, c)
		}
	}
	return out
}

func readSnapFile(f *testing.F, src, snap, name string) []byte {
	b, err := os.ReadFile(filepath.Join(src, snap, filepath.FromSlash(name)))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzSnapshotManifest opens manifests as found (checksum and all) and,
// when they parse as JSON, resealed: a manifest that opens must encode
// back to the same bytes.
func FuzzSnapshotManifest(f *testing.F) {
	src := fuzzFamily(f)
	for _, snap := range []string{"full", "child", "packed"} {
		for _, s := range fileSeeds(readSnapFile(f, src, snap, ManifestFile)) {
			f.Add(snap == "child", s)
		}
	}
	m := readManifest(f, filepath.Join(src, "full"))
	edits := []func(m *Manifest){
		func(m *Manifest) { m.VM.Devices[1].Block.Base = "/dev/null" },
		func(m *Manifest) { m.VM.Devices[0].Type = virtio.DeviceNet },
		func(m *Manifest) { m.VM.MemSize *= 2; m.Memory.Pages *= 2 },
		func(m *Manifest) { m.VM.Devices = m.VM.Devices[:2] },
		func(m *Manifest) { m.VM.Kernel = "" },
		func(m *Manifest) { m.Parent = &ParentRef{Path: "../child", ID: "x"} },
	}
	for _, edit := range edits {
		c := m
		c.VM.Devices = append([]DeviceSpec(nil), m.VM.Devices...)
		b := *c.VM.Devices[1].Block
		c.VM.Devices[1].Block = &b
		edit(&c)
		out, err := c.encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, out)
	}
	f.Fuzz(func(t *testing.T, child bool, doc []byte) {
		if _, err := decodeManifest(doc); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		var m Manifest
		if json.Unmarshal(doc, &m) != nil {
			return
		}
		snap := "full"
		if child {
			snap = "child"
		}
		dst := fastTempDir(t)
		linkFamily(t, src, dst, snap+"/"+ManifestFile)
		dir := filepath.Join(dst, snap)
		writeManifest(t, dir, m)
		sealed, err := os.ReadFile(filepath.Join(dir, ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		s := openAndRestore(t, dir)
		if s == nil {
			return
		}
		again := s.Manifest
		out, err := again.encode()
		if err != nil || !bytes.Equal(out, sealed) {
			t.Fatalf("an accepted manifest does not encode back to itself (%v):\n%s\n%s", err, sealed, out)
		}
	})
}

// FuzzSnapshotState replaces state.bin: a state that opens must encode
// back to one that decodes to the same machine state.
func FuzzSnapshotState(f *testing.F) {
	src := fuzzFamily(f)
	for _, s := range fileSeeds(readSnapFile(f, src, "full", StateFile)) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := fastTempDir(t)
		replaceFile(t, src, dst, "full", StateFile, data)
		s := openAndRestore(t, filepath.Join(dst, "full"))
		if s == nil {
			return
		}
		b, err := encodeState(s.State())
		if err != nil {
			t.Fatalf("encode an accepted state: %v", err)
		}
		back, err := decodeState(b)
		if err != nil || !reflect.DeepEqual(back, s.State()) {
			t.Fatalf("an accepted state does not survive encoding (%v)", err)
		}
	})
}

// FuzzSnapshotMemory replaces the memory files: memory.zst of the
// compressed snapshot, memory.raw of the incremental child (laid over its
// parent's), or memory.idx of either. memory.raw is mostly holes, so its
// input is the first bytes and the file's size (at most twice the RAM):
// 4 MiB inputs would slow the fuzzer to a crawl.
func FuzzSnapshotMemory(f *testing.F) {
	src := fuzzFamily(f)
	for _, s := range fileSeeds(readSnapFile(f, src, "packed", MemoryZstFile)) {
		f.Add(uint8(0), uint32(len(s)), s)
	}
	rawMem := readSnapFile(f, src, "child", MemoryRawFile)
	for _, size := range []int{len(rawMem), len(rawMem) - pageSize, len(rawMem) + pageSize, len(rawMem) - 1, pageSize, 0} {
		f.Add(uint8(1), uint32(size), rawMem[:2*pageSize])
	}
	for _, snap := range []string{"child", "packed"} {
		for _, s := range fileSeeds(readSnapFile(f, src, snap, PageIndexFile)) {
			f.Add(uint8(2), uint32(len(s)), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, size uint32, data []byte) {
		snap, name := "packed", MemoryZstFile
		switch which % 4 {
		case 1:
			snap, name = "child", MemoryRawFile
			raw := make([]byte, min(int64(size), 2*board.MinMemSize))
			copy(raw, data)
			data = raw
		case 2:
			snap, name = "child", PageIndexFile
		case 3:
			snap, name = "packed", PageIndexFile
		}
		dst := fastTempDir(t)
		replaceFile(t, src, dst, snap, name, data)
		openAndRestore(t, filepath.Join(dst, snap))
	})
}

// FuzzSnapshotDisk replaces the frozen overlay of the snapshot's overlay
// disk (slot 1), or its raw disk (slot 0). The input is the file's first
// bytes and its size (at most twice the original's); the rest is the
// original file, so that small inputs keep a real data area.
func FuzzSnapshotDisk(f *testing.F) {
	src := fuzzFamily(f)
	ovl := readSnapFile(f, src, "full", "disks/1.ovl")
	img := readSnapFile(f, src, "full", "disks/0.img")
	for _, s := range fileSeeds(ovl[:8192]) {
		f.Add(false, uint32(len(ovl)), s)
	}
	for _, size := range []int{len(ovl) - 1, len(ovl) - 4096, 8192, 4095, 0} {
		f.Add(false, uint32(size), ovl[:4096])
	}
	f.Add(true, uint32(len(img)), img[:512])
	f.Add(true, uint32(len(img)-1), []byte("short"))
	f.Fuzz(func(t *testing.T, raw bool, size uint32, data []byte) {
		name, orig := "disks/1.ovl", ovl
		if raw {
			name, orig = "disks/0.img", img
		}
		file := make([]byte, min(int(size), 2*len(orig)))
		copy(file, orig)
		copy(file, data)
		dst := fastTempDir(t)
		replaceFile(t, src, dst, "full", name, file)
		openAndRestore(t, filepath.Join(dst, "full"))
	})
}

// TestSnapshotRefusesSpecialFiles plants FIFOs where Open would read a
// file: it must refuse them instead of blocking on the open.
func TestSnapshotRefusesSpecialFiles(t *testing.T) {
	src := fuzzFamily(t)
	tests := []struct {
		name    string
		plant   func(t *testing.T, dir string)
		wantErr string
	}{
		{"manifest", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, ManifestFile))
			mkfifo(t, filepath.Join(dir, ManifestFile))
		}, "manifest.json is not a regular file"},
		{"base image", func(t *testing.T, dir string) {
			fifo := filepath.Join(filepath.Dir(dir), "base.fifo")
			mkfifo(t, fifo)
			m := readManifest(t, dir)
			m.VM.Devices[1].Block.Base, m.VM.Devices[1].Block.BaseSize = fifo, 0
			writeManifest(t, dir, m)
		}, "is not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := fastTempDir(t)
			linkFamily(t, src, dst, "full/"+ManifestFile)
			dir := filepath.Join(dst, "full")
			writeManifest(t, dir, readManifest(t, filepath.Join(src, "full")))
			tc.plant(t, dir)
			_, err := Open(dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Open: %v, want an error saying %q", err, tc.wantErr)
			}
		})
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := unix.Mkfifo(name, 0o644); err != nil {
		t.Fatal(err)
	}
}
