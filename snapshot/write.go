package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/popek-vm/popek/board"
)

// WriteOptions tune Write.
type WriteOptions struct {
	// Parent, when set, makes the snapshot incremental: only pages whose
	// contents differ from Parent's memory are stored, and restoring it
	// needs Parent (referenced by relative path and id). Parent should be
	// the last snapshot of this VM or the one it was restored from; any
	// snapshot of the same memory size is correct, just less compact.
	Parent *Snapshot
	// Compress writes memory.zst instead of memory.raw: smaller, for export
	// and archive, but restored by decompressing (no lazy mapping).
	Compress bool
	// Name is a free-form label kept in the manifest.
	Name string
	// Template marks the snapshot as a template for clones.
	Template bool
	// PopekVersion is recorded in the manifest; default: the main module's
	// version from the build info.
	PopekVersion string
	// NoBootImages leaves the kernel, initrd and firmware out. A restored
	// guest then cannot reboot (its RAM holds everything else it needs).
	NoBootImages bool
}

// WriteStats are the figures of one Write.
type WriteStats struct {
	// Paused is how long the guest was stopped: state, memory and disks.
	Paused time.Duration
	// Total is the whole Write, with compression, fsyncs and checksums.
	Total time.Duration
	// MemoryBytes is guest memory stored (non-zero, changed pages).
	MemoryBytes uint64
	// DiskBytes is the apparent size of the disk files copied.
	DiskBytes int64
	// Allocated is the disk space the snapshot directory takes.
	Allocated int64
}

// Write snapshots m into dir, which must not exist. It pauses the machine
// (if it runs), captures the machine state, guest memory and disks at that
// one instant, and resumes it (unless the caller had paused it), so the
// guest keeps running while the rest is written. Everything goes into a
// temporary sibling directory first, each file and the directory are
// fsynced and only then renamed to dir: a crash leaves no directory that
// looks like a valid snapshot. The result is opened and usable as a Parent
// or for Restore without reading it back.
func Write(dir string, m *board.Machine, opts WriteOptions) (snap *Snapshot, err error) {
	start := time.Now()
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("snapshot %s already exists", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			err = fmt.Errorf("snapshot %s: %w", dir, err)
		}
	}()
	if p := opts.Parent; p != nil && p.Manifest.VM.MemSize != m.RAM().Size() {
		return nil, fmt.Errorf("parent %s has %d MiB of memory, the machine %d MiB", p.Dir, p.Manifest.VM.MemSize>>20, m.RAM().Size()>>20)
	}
	c, err := capture(tmp, m, opts.Parent)
	if err != nil {
		return nil, err
	}
	w := &WriteStats{Paused: c.paused, MemoryBytes: c.mem.stored * pageSize}
	man := &Manifest{
		FormatVersion: FormatVersion, ID: newID(), Name: opts.Name, PopekVersion: opts.PopekVersion,
		Created: time.Now().UTC(), Template: opts.Template,
		VM:     vmConfig(c.state, c.devices),
		Memory: MemoryInfo{Format: MemoryRaw, Pages: uint64(len(c.mem.index)), StoredPages: c.mem.stored},
	}
	if man.PopekVersion == "" {
		man.PopekVersion = buildVersion()
	}
	files := []string{StateFile, PageIndexFile, MemoryRawFile}
	if p := opts.Parent; p != nil {
		rel, err := filepath.Rel(dir, p.Dir)
		if err != nil {
			rel = p.Dir
		}
		man.Parent = &ParentRef{Path: filepath.ToSlash(rel), ID: p.Manifest.ID}
		man.Memory.ChangedPages = c.mem.changed
	}
	st, err := encodeState(c.state)
	if err != nil {
		return nil, err
	}
	if err := writeNewFile(filepath.Join(tmp, StateFile), st, 0o444); err != nil {
		return nil, err
	}
	if err := writeNewFile(filepath.Join(tmp, PageIndexFile), encodeIndex(c.mem.index), 0o444); err != nil {
		return nil, err
	}
	digests := map[string]string{MemoryRawFile: c.mem.digest}
	if opts.Compress {
		var parentIdx []uint64
		if opts.Parent != nil {
			parentIdx = opts.Parent.index
		}
		raw := filepath.Join(tmp, MemoryRawFile)
		if err := compressMemory(raw, filepath.Join(tmp, MemoryZstFile), c.mem.index, parentIdx); err != nil {
			return nil, err
		}
		if err := os.Remove(raw); err != nil {
			return nil, err
		}
		files[2] = MemoryZstFile
		man.Memory.Format = MemoryZstd
		delete(digests, MemoryRawFile)
	}
	if !opts.NoBootImages {
		boot, err := writeBootImages(tmp, m.Config(), opts.Parent, &man.VM)
		if err != nil {
			return nil, err
		}
		files = append(files, boot...)
	}
	files = append(files, c.diskFiles...)
	for _, name := range files {
		e, err := fileEntry(tmp, name, digests[name])
		if err != nil {
			return nil, err
		}
		man.Files = append(man.Files, e)
		if slices.Contains(c.diskFiles, name) {
			w.DiskBytes += e.Size
		}
	}
	if err := commitDir(tmp, dir, man, files); err != nil {
		return nil, err
	}
	w.Allocated = allocated(dir)
	w.Total = time.Since(start)
	return &Snapshot{Dir: dir, Manifest: *man, Parent: opts.Parent, Written: w, state: c.state, index: c.mem.index}, nil
}

// captured is what was taken during the pause.
type captured struct {
	state     *board.MachineState
	mem       *memoryResult
	devices   []DeviceSpec
	diskFiles []string
	paused    time.Duration
}

// capture pauses m, takes state, memory and disks, and resumes it if it
// was running.
func capture(tmp string, m *board.Machine, parent *Snapshot) (*captured, error) {
	t0 := time.Now()
	if !m.Paused() {
		m.Pause()
		defer m.Resume()
	}
	c := &captured{}
	var err error
	if c.state, err = m.SaveState(); err != nil {
		return nil, err
	}
	var parentIdx []uint64
	if parent != nil {
		parentIdx = parent.index
	}
	untouched, _ := m.RAM().UntouchedPages()
	if c.mem, err = writeMemoryRaw(filepath.Join(tmp, MemoryRawFile), m.RAM().Bytes(), parentIdx, untouched); err != nil {
		return nil, err
	}
	if c.devices, c.diskFiles, err = describeDevices(tmp, m.VirtioDevices()); err != nil {
		return nil, err
	}
	c.paused = time.Since(t0)
	return c, nil
}

func vmConfig(st *board.MachineState, devs []DeviceSpec) VMConfig {
	c := st.Config
	return VMConfig{Harts: c.Harts, MemSize: c.MemSize, Boot: c.Boot.String(), Cmdline: c.Cmdline, MMU: c.MMU, Devices: devs}
}

// writeBootImages stores the boot images, hard-linking the parent's copy
// when it is the same.
func writeBootImages(tmp string, cfg board.Config, parent *Snapshot, vm *VMConfig) ([]string, error) {
	if err := os.Mkdir(filepath.Join(tmp, bootDir), 0o755); err != nil {
		return nil, err
	}
	var names []string
	for _, img := range []struct {
		data []byte
		name string
		dst  *string
	}{{cfg.Kernel, "kernel", &vm.Kernel}, {cfg.Initrd, "initrd", &vm.Initrd}, {cfg.Firmware, "firmware", &vm.Firmware}} {
		if len(img.data) == 0 {
			continue
		}
		name := bootDir + "/" + img.name
		dst := filepath.Join(tmp, filepath.FromSlash(name))
		linked := false
		if parent != nil {
			if e, ok := parent.Manifest.file(name); ok && e.Size == int64(len(img.data)) && e.Digest == bytesDigest(img.data) {
				linked = os.Link(filepath.Join(parent.Dir, filepath.FromSlash(name)), dst) == nil
			}
		}
		if !linked {
			if err := writeNewFile(dst, img.data, 0o444); err != nil {
				return nil, err
			}
		}
		*img.dst = name
		names = append(names, name)
	}
	return names, nil
}

// fileEntry describes a written file, computing its checksum unless known.
func fileEntry(dir, name, digest string) (FileEntry, error) {
	full := filepath.Join(dir, filepath.FromSlash(name))
	f, err := os.Open(full)
	if err != nil {
		return FileEntry{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return FileEntry{}, err
	}
	if digest == "" {
		if digest, err = fileDigest(f, st.Size()); err != nil {
			return FileEntry{}, err
		}
	}
	return FileEntry{Name: name, Size: st.Size(), Digest: digest}, nil
}

// commitDir finishes a snapshot built in tmp: the manifest goes in last,
// everything is fsynced, and tmp is renamed to dir, so a crash at any
// point leaves either nothing or a complete snapshot.
func commitDir(tmp, dir string, m *Manifest, files []string) error {
	mb, err := m.encode()
	if err != nil {
		return err
	}
	if err := writeNewFile(filepath.Join(tmp, ManifestFile), mb, 0o444); err != nil {
		return err
	}
	if err := syncTree(tmp, append(files, ManifestFile)); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// syncTree fsyncs the files and every directory holding them.
func syncTree(root string, files []string) error {
	dirs := map[string]bool{root: true}
	for _, name := range files {
		full := filepath.Join(root, filepath.FromSlash(name))
		if err := syncFile(full); err != nil {
			return err
		}
		dirs[filepath.Dir(full)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// allocated is the disk space under dir, in bytes.
func allocated(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += allocatedBytes(info)
		}
		return nil
	})
	return total
}

func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "unknown"
}
