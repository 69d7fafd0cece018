package snapshot

import (
	"encoding/binary"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
)

// pristine builds, without running a guest, a snapshot family to corrupt:
// "full" (raw memory, a raw disk and an overlay disk), "child" (an
// incremental snapshot on full) and "packed" (compressed memory). The
// machine is freshly loaded (kernel, initrd, device tree in RAM), which
// is as good a state as any for checking the file format.
func pristine(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFamily(t, dir, familyShape{
		diskSize: 4 << 20,
		base:     []byte(strings.Repeat("base", 1<<18)),
		machine: board.Config{Harts: 1, MemSize: 32 << 20, Kernel: images.Kernel(), Initrd: images.Initramfs(),
			Cmdline: images.DefaultCmdline},
		dirty: func(ram []byte) {
			clear(ram[1<<20 : 2<<20]) // something for the child to store
			ram[3<<20] = 0x5a
		},
	})
	return dir
}

// familyShape is what a test family of snapshots is made of.
type familyShape struct {
	diskSize int64        // the raw disk
	base     []byte       // the overlay disk's base image
	machine  board.Config // without Devices
	dirty    func([]byte) // changes RAM between "full" and "child"
}

// writeFamily writes, from a freshly loaded machine of shape with a raw
// disk, an overlay disk and entropy, the snapshots "full" (raw memory),
// "child" (incremental on full) and "packed" (compressed memory) in dir.
func writeFamily(tb testing.TB, dir string, shape familyShape) {
	tb.Helper()
	raw := testDisk(tb, dir, shape.diskSize)
	base := filepath.Join(dir, "base.img")
	if err := os.WriteFile(base, shape.base, 0o644); err != nil {
		tb.Fatal(err)
	}
	d1, err := virtio.NewBlock(virtio.BlockConfig{Path: raw})
	if err != nil {
		tb.Fatal(err)
	}
	d2, err := virtio.NewBlock(virtio.BlockConfig{Path: base, Overlay: filepath.Join(dir, "base.ovl")})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := shape.machine
	cfg.Devices = []virtio.Device{d1, d2, virtio.NewRNG()}
	m, err := board.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer m.Close()
	full, err := Write(filepath.Join(dir, "full"), m, WriteOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	shape.dirty(m.RAM().Bytes())
	if _, err := Write(filepath.Join(dir, "child"), m, WriteOptions{Parent: full}); err != nil {
		tb.Fatal(err)
	}
	if _, err := Write(filepath.Join(dir, "packed"), m, WriteOptions{Compress: true}); err != nil {
		tb.Fatal(err)
	}
}

// copyTree copies a directory of snapshots, keeping holes, writable.
func copyTree(t *testing.T, src, dst string) {
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
		return copySparse(p, out, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, name string, off int64) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		st, _ := f.Stat()
		off += st.Size()
	}
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func truncateBy(t *testing.T, name string, n int64) {
	t.Helper()
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(name, st.Size()-n); err != nil {
		t.Fatal(err)
	}
}

// reseal rewrites a manifest after edit, with a valid checksum: what a
// buggy or hostile writer could produce.
func reseal(t *testing.T, dir string, edit func(m *Manifest)) {
	t.Helper()
	name := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	out, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// refresh records a file's current size and checksum in the manifest.
func refresh(t *testing.T, dir, file string) {
	t.Helper()
	e, err := fileEntry(dir, file, "")
	if err != nil {
		t.Fatal(err)
	}
	reseal(t, dir, func(m *Manifest) {
		for i := range m.Files {
			if m.Files[i].Name == file {
				m.Files[i] = e
			}
		}
	})
}

// TestCorruptSnapshots damages every file of the format in every way and
// checks that Open (or, for damage only a restore can see, Restore) fails
// with an error naming the problem: never a panic, never a machine.
func TestCorruptSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("builds snapshots of a loaded kernel")
	}
	src := pristine(t)
	p := func(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
	tests := []struct {
		name    string
		snap    string // which snapshot to open
		damage  func(t *testing.T, dir string)
		verify  Verify
		wantErr string
		atOpen  bool // the error comes from Open, not Restore
	}{
		{"manifest missing", "full", func(t *testing.T, d string) { os.Remove(p(d, "full/manifest.json")) }, VerifyAll, "no manifest.json", true},
		{"manifest empty", "full", func(t *testing.T, d string) { os.WriteFile(p(d, "full/manifest.json"), nil, 0o644) }, VerifyAll, "not valid JSON", true},
		{"manifest truncated", "full", func(t *testing.T, d string) { truncateBy(t, p(d, "full/manifest.json"), 200) }, VerifyAll, "not valid JSON", true},
		{"manifest value flipped", "full", func(t *testing.T, d string) {
			b, _ := os.ReadFile(p(d, "full/manifest.json"))
			os.WriteFile(p(d, "full/manifest.json"), []byte(strings.Replace(string(b), `"harts": 1`, `"harts": 3`, 1)), 0o644)
		}, VerifyAll, "manifest checksum mismatch", true},
		{"manifest byte flipped", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/manifest.json"), 60) }, VerifyAll, "manifest", true},
		{"manifest huge", "full", func(t *testing.T, d string) { os.Truncate(p(d, "full/manifest.json"), maxManifestSize+1) }, VerifyAll, "larger than", true},
		{"format version", "full", func(t *testing.T, d string) { reseal(t, p(d, "full"), func(m *Manifest) { m.FormatVersion = 99 }) }, VerifyAll, "format version 99", true},
		{"unknown field", "full", func(t *testing.T, d string) {
			b, _ := os.ReadFile(p(d, "full/manifest.json"))
			os.WriteFile(p(d, "full/manifest.json"), []byte(strings.Replace(string(b), "{", `{"surprise": 1,`, 1)), 0o644)
		}, VerifyAll, "unknown field", true},
		{"path escapes", "full", func(t *testing.T, d string) {
			reseal(t, p(d, "full"), func(m *Manifest) { m.Files[0].Name = "../../etc/passwd" })
		}, VerifyAll, "not a plain relative path", true},
		{"state unlisted", "full", func(t *testing.T, d string) {
			reseal(t, p(d, "full"), func(m *Manifest) { m.Files = m.Files[1:] })
		}, VerifyAll, "state.bin is not listed", true},
		{"memory size mismatch", "full", func(t *testing.T, d string) {
			reseal(t, p(d, "full"), func(m *Manifest) { m.VM.MemSize *= 2 })
		}, VerifyAll, "pages", true},
		{"state listed huge", "full", func(t *testing.T, d string) {
			reseal(t, p(d, "full"), func(m *Manifest) { m.Files[0].Size = 1 << 40 })
		}, VerifyAll, "more than", true},
		{"state missing", "full", func(t *testing.T, d string) { os.Remove(p(d, "full/state.bin")) }, VerifyAll, "state.bin is missing", true},
		{"state truncated", "full", func(t *testing.T, d string) { truncateBy(t, p(d, "full/state.bin"), 10) }, VerifyAll, "state.bin has", true},
		{"state flipped", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/state.bin"), -20) }, VerifyAll, "state.bin is corrupt", true},
		{"state flipped, metadata only", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/state.bin"), 100) }, VerifyMetadata, "state.bin is corrupt", true},
		{"state version", "full", func(t *testing.T, d string) {
			patchFile(t, p(d, "full/state.bin"), 8, le32(99))
			refresh(t, p(d, "full"), StateFile)
		}, VerifyAll, "machine state version 99", true},
		{"state garbage", "full", func(t *testing.T, d string) {
			patchFile(t, p(d, "full/state.bin"), 16, []byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"))
			refresh(t, p(d, "full"), StateFile)
		}, VerifyAll, "decode machine state", true},
		{"state of another machine", "full", func(t *testing.T, d string) {
			reseal(t, p(d, "full"), func(m *Manifest) { m.VM.Harts = 2 })
		}, VerifyAll, "does not match the manifest", true},
		{"memory missing", "full", func(t *testing.T, d string) { os.Remove(p(d, "full/memory.raw")) }, VerifyAll, "memory.raw is missing", true},
		{"memory truncated", "full", func(t *testing.T, d string) { truncateBy(t, p(d, "full/memory.raw"), pageSize) }, VerifyAll, "memory.raw has", true},
		{"memory truncated, metadata only", "full", func(t *testing.T, d string) { truncateBy(t, p(d, "full/memory.raw"), 1) }, VerifyMetadata, "memory.raw has", true},
		{"memory data flipped", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/memory.raw"), 0x200123) }, VerifyAll, "memory.raw is corrupt", true},
		{"memory hole written", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/memory.raw"), 30<<20) }, VerifyAll, "memory.raw is corrupt", true},
		{"memory replaced by a directory", "full", func(t *testing.T, d string) {
			os.Remove(p(d, "full/memory.raw"))
			os.Mkdir(p(d, "full/memory.raw"), 0o755)
		}, VerifyAll, "not a regular file", true},
		{"index flipped", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/memory.idx"), 1000) }, VerifyMetadata, "memory.idx is corrupt", true},
		{"index truncated", "full", func(t *testing.T, d string) { truncateBy(t, p(d, "full/memory.idx"), 8) }, VerifyAll, "memory.idx has", true},
		{"index version", "full", func(t *testing.T, d string) {
			patchFile(t, p(d, "full/memory.idx"), 8, le32(7))
			refresh(t, p(d, "full"), PageIndexFile)
		}, VerifyAll, "page index version 7", true},
		{"index short", "full", func(t *testing.T, d string) {
			truncateBy(t, p(d, "full/memory.idx"), 8)
			refresh(t, p(d, "full"), PageIndexFile)
		}, VerifyAll, "page index covers", true},
		{"raw disk flipped", "full", func(t *testing.T, d string) {
			f, _ := os.OpenFile(p(d, "full/disks/0.img"), os.O_RDWR, 0)
			f.WriteAt([]byte("x"), 12345)
			f.Close()
		}, VerifyAll, "disks/0.img is corrupt", true},
		{"overlay truncated", "full", func(t *testing.T, d string) { truncateBy(t, p(d, "full/disks/1.ovl"), 4096) }, VerifyAll, "disks/1.ovl has", true},
		{"overlay missing", "full", func(t *testing.T, d string) { os.Remove(p(d, "full/disks/1.ovl")) }, VerifyAll, "disks/1.ovl is missing", true},
		{"base image replaced", "full", func(t *testing.T, d string) {
			reseal(t, p(d, "full"), func(m *Manifest) { m.VM.Devices[1].Block.BaseIdentity = strings.Repeat("0", 64) })
		}, VerifyAll, "not the one the snapshot was taken with", true},
		{"base image gone", "full", func(t *testing.T, d string) {
			reseal(t, p(d, "full"), func(m *Manifest) { m.VM.Devices[1].Block.Base = p(d, "nothing.img") })
		}, VerifyMetadata, "base image", true},
		{"kernel flipped", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/boot/kernel"), 5000) }, VerifyAll, "boot/kernel is corrupt", true},
		{"kernel flipped, loaded later", "full", func(t *testing.T, d string) { flipByte(t, p(d, "full/boot/kernel"), 5000) }, VerifyMetadata, "boot/kernel is corrupt", false},
		{"parent missing", "child", func(t *testing.T, d string) { os.RemoveAll(p(d, "full")) }, VerifyAll, "parent", true},
		{"parent replaced", "child", func(t *testing.T, d string) {
			os.RemoveAll(p(d, "full"))
			os.Rename(p(d, "packed"), p(d, "full"))
		}, VerifyAll, "was replaced", true},
		{"parent corrupt", "child", func(t *testing.T, d string) { flipByte(t, p(d, "full/memory.raw"), 0x200123) }, VerifyAll, "memory.raw is corrupt", true},
		{"parent loop", "child", func(t *testing.T, d string) {
			reseal(t, p(d, "child"), func(m *Manifest) { m.Parent = &ParentRef{Path: ".", ID: m.ID} })
		}, VerifyAll, "loops back", true},
		{"compressed flipped", "packed", func(t *testing.T, d string) { flipByte(t, p(d, "packed/memory.zst"), 5000) }, VerifyAll, "memory.zst is corrupt", true},
		{"compressed truncated", "packed", func(t *testing.T, d string) { truncateBy(t, p(d, "packed/memory.zst"), 1) }, VerifyAll, "memory.zst has", true},
		{"compressed stream damaged, resealed", "packed", func(t *testing.T, d string) {
			flipByte(t, p(d, "packed/memory.zst"), 5000)
			refresh(t, p(d, "packed"), MemoryZstFile)
		}, VerifyAll, "memory.zst", false},
		{"compressed stream cut, resealed", "packed", func(t *testing.T, d string) {
			truncateBy(t, p(d, "packed/memory.zst"), 100)
			refresh(t, p(d, "packed"), MemoryZstFile)
		}, VerifyAll, "memory.zst", false},
		{"unfinished write", "full", func(t *testing.T, d string) {
			os.Rename(p(d, "full"), p(d, "full.tmp-123"))
			os.Mkdir(p(d, "full"), 0o755)
		}, VerifyAll, "no manifest.json", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			copyTree(t, src, d)
			tc.damage(t, d)
			s, err := OpenWith(filepath.Join(d, tc.snap), OpenOptions{Verify: tc.verify})
			if tc.atOpen {
				if err == nil {
					t.Fatal("Open accepted the damaged snapshot")
				}
				t.Log(err)
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open error %q does not mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			m, err := s.Restore(RestoreOptions{DiskDir: filepath.Join(d, "run"), BootImages: true})
			if err == nil {
				m.Close()
				t.Fatal("Restore accepted the damaged snapshot")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Restore error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

// patchFile overwrites bytes of name at off.
func patchFile(t *testing.T, name string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
