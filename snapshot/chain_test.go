package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
)

// snapshotPaused writes a snapshot with the guest paused around it and
// returns a copy of guest RAM at that instant.
func snapshotPaused(t *testing.T, v *vm, dir string, o WriteOptions) (*Snapshot, []byte) {
	t.Helper()
	v.m.Pause()
	defer v.m.Resume()
	ram := append([]byte(nil), v.m.RAM().Bytes()...)
	s, err := Write(dir, v.m, o)
	if err != nil {
		t.Fatal(err)
	}
	if !v.m.Paused() {
		t.Fatal("Write resumed a machine its caller had paused")
	}
	return s, ram
}

// TestIncrementalAndCompressed builds a chain: a full snapshot, an
// incremental one on it, a compressed incremental one on that, and a
// separate compressed full one. Restoring each (from disk, through Open)
// reproduces guest RAM byte for byte as it was at that snapshot, with the
// incremental layers mapped or copied; incremental snapshots store only
// what changed; the end of the chain flattened into a full snapshot
// restores the same memory without its ancestors; and the guest restored
// from it sees all of its history.
func TestIncrementalAndCompressed(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := t.TempDir()
	log := newConsoleLog()
	v := bootGuest(t, guestConfig(1, 64<<20, log, virtio.NewRNG()))
	v.run("echo one > /tmp/a")
	full, fullRAM := snapshotPaused(t, v, filepath.Join(dir, "1-full"), WriteOptions{})
	sum := v.run("dd if=/dev/urandom of=/tmp/big bs=4096 count=256 2>/dev/null; echo two > /tmp/b; shasum -a 256 /tmp/big")
	incr, incrRAM := snapshotPaused(t, v, filepath.Join(dir, "2-incr"), WriteOptions{Parent: full})
	v.run("echo three > /tmp/c")
	zinc, zincRAM := snapshotPaused(t, v, filepath.Join(dir, "3-zinc"), WriteOptions{Parent: incr, Compress: true})
	zfull, zfullRAM := snapshotPaused(t, v, filepath.Join(dir, "4-zfull"), WriteOptions{Compress: true})
	v.m.Close()

	fm, im := full.Manifest.Memory, incr.Manifest.Memory
	t.Logf("full: %d pages stored; incremental: %d stored, %d changed; compressed incremental: %d KiB; compressed full: %d KiB",
		fm.StoredPages, im.StoredPages, im.ChangedPages, fileSize(t, zinc, MemoryZstFile)>>10, fileSize(t, zfull, MemoryZstFile)>>10)
	if im.StoredPages == 0 || im.StoredPages*2 > fm.StoredPages || im.ChangedPages < im.StoredPages {
		t.Errorf("incremental snapshot stored %d pages (%d changed) over a full one of %d", im.StoredPages, im.ChangedPages, fm.StoredPages)
	}
	if incr.Manifest.Parent == nil || incr.Manifest.Parent.Path != "../1-full" {
		t.Errorf("parent reference %+v", incr.Manifest.Parent)
	}
	if fileSize(t, zfull, MemoryZstFile) >= int64(fm.StoredPages)*pageSize {
		t.Error("compressed memory is not smaller than the pages it holds")
	}

	tests := []struct {
		name        string
		snap        *Snapshot
		ram         []byte
		maxMappings int
	}{
		{"full", full, fullRAM, 0},
		{"incremental mapped", incr, incrRAM, 0},
		{"incremental copied", incr, incrRAM, -1},
		{"compressed incremental over raw", zinc, zincRAM, 0},
		{"compressed full", zfull, zfullRAM, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.snap.Dir)
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Restore(RestoreOptions{MaxLayerMappings: tc.maxMappings})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if got := m.RAM().Bytes(); !bytes.Equal(got, tc.ram) {
				t.Errorf("restored RAM differs from the RAM at the snapshot (first at byte %#x)", firstDiff(got, tc.ram))
			}
		})
	}

	s, err := Open(zinc.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Parent == nil || s.Parent.Parent == nil || s.Parent.Parent.Manifest.ID != full.Manifest.ID {
		t.Fatal("chain not resolved")
	}
	// Flattened, the end of the chain needs no ancestors.
	flat, err := Flatten(s, filepath.Join(dir, "5-flat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []*Snapshot{full, incr, zinc} {
		if err := os.RemoveAll(old.Dir); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(flat.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Parent != nil || s.Manifest.ID == zinc.Manifest.ID || s.Manifest.Memory.Format != MemoryRaw {
		t.Errorf("flattened snapshot: parent %v, id %s, format %s", s.Parent, s.Manifest.ID, s.Manifest.Memory.Format)
	}
	m, err := s.Restore(RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.RAM().Bytes(), zincRAM) {
		t.Error("flattened snapshot restores other memory")
	}
	m.Close()
	r := restoreVM(t, s, RestoreOptions{})
	r.send("\n")
	r.expect("popek# ")
	if got := r.run("cat /tmp/a /tmp/b /tmp/c"); got != "one\ntwo\nthree" {
		t.Errorf("restored guest's files: %q", got)
	}
	if got := r.run("shasum -a 256 /tmp/big"); got != sum {
		t.Errorf("restored /tmp/big: %q, was %q", got, sum)
	}
}

func fileSize(t *testing.T, s *Snapshot, name string) int64 {
	t.Helper()
	e, ok := s.Manifest.file(name)
	if !ok {
		t.Fatalf("%s has no %s", s.Dir, name)
	}
	return e.Size
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestWriteRefuses covers Write's own checks.
func TestWriteRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := t.TempDir()
	log := newConsoleLog()
	v := bootGuest(t, guestConfig(1, 64<<20, log))
	s, err := Write(filepath.Join(dir, "a"), v.m, WriteOptions{NoBootImages: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Manifest.VM.Kernel != "" {
		t.Error("NoBootImages kept the kernel")
	}
	if _, err := Write(s.Dir, v.m, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("writing over an existing snapshot: %v", err)
	}
	other := &Snapshot{Dir: "x", Manifest: Manifest{VM: VMConfig{MemSize: 128 << 20}}}
	if _, err := Write(filepath.Join(dir, "b"), v.m, WriteOptions{Parent: other}); err == nil {
		t.Error("parent of another memory size accepted")
	}
	if _, err := s.BootConfig(); err != nil {
		t.Errorf("BootConfig without boot images: %v", err)
	}
	if _, err := s.Restore(RestoreOptions{BootImages: true}); err != nil {
		t.Errorf("restore without boot images: %v", err)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*tmp*"))
	if len(entries) != 0 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
}
