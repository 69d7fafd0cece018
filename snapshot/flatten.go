package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/popek-vm/popek/board"
)

// Flatten writes s, with its parent chain resolved, as a full snapshot in
// dir (which must not exist): raw memory holding every page, no parent.
// The result is a new snapshot (new id) of the same instant, so that the
// ancestors of s can be deleted. Like Write it appears atomically.
func Flatten(s *Snapshot, dir string) (flat *Snapshot, err error) {
	start := time.Now()
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("snapshot %s already exists", dir)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			err = fmt.Errorf("flatten %s into %s: %w", s.Dir, dir, err)
		}
	}()
	ram, err := s.ramSource(0)(board.DRAMBase, s.Manifest.VM.MemSize)
	if err != nil {
		return nil, err
	}
	res, err := writeMemoryRaw(filepath.Join(tmp, MemoryRawFile), ram.Bytes(), nil, nil)
	ram.Close()
	if err != nil {
		return nil, err
	}
	m := s.Manifest
	m.ID, m.Parent, m.Files = newID(), nil, nil
	m.Memory = MemoryInfo{Format: MemoryRaw, Pages: uint64(len(res.index)), StoredPages: res.stored}
	if err := writeNewFile(filepath.Join(tmp, PageIndexFile), encodeIndex(res.index), 0o444); err != nil {
		return nil, err
	}
	names := []string{StateFile, PageIndexFile, MemoryRawFile}
	var copied []string
	for _, name := range []string{m.VM.Kernel, m.VM.Initrd, m.VM.Firmware} {
		if name != "" {
			copied = append(copied, name)
		}
	}
	for _, d := range m.VM.Devices {
		if b := d.Block; b != nil {
			for _, name := range []string{b.Image, b.Overlay} {
				if name != "" {
					copied = append(copied, name)
				}
			}
		}
	}
	for _, name := range append([]string{StateFile}, copied...) {
		src, dst := filepath.Join(s.Dir, filepath.FromSlash(name)), filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if os.Link(src, dst) != nil { // the files are read-only: sharing them is safe
			if err := copySparse(src, dst, 0o444); err != nil {
				return nil, err
			}
		}
	}
	names = append(names, copied...)
	known := map[string]string{}
	for _, f := range s.Manifest.Files {
		known[f.Name] = f.Digest // verified when s was opened
	}
	known[MemoryRawFile] = res.digest
	delete(known, PageIndexFile) // new file: checksummed from disk
	for _, name := range names {
		e, err := fileEntry(tmp, name, known[name])
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, e)
	}
	if err := commitDir(tmp, dir, &m, names); err != nil {
		return nil, err
	}
	w := &WriteStats{Total: time.Since(start), MemoryBytes: res.stored * pageSize, Allocated: allocated(dir)}
	return &Snapshot{Dir: dir, Manifest: m, Written: w, state: s.state, index: res.index}, nil
}
