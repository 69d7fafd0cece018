package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/popek-vm/popek/board"
)

// Verify says how much of a snapshot Open checks.
type Verify int

const (
	// VerifyAll checks the checksum of every file, memory and disks
	// included. Sparse files cost in proportion to their data.
	VerifyAll Verify = iota
	// VerifyMetadata checks the manifest, machine state and page index
	// fully but only the sizes of memory, disk and boot image files: for
	// snapshots already verified once (a template cloned many times).
	// Boot images are still checked whenever they are loaded.
	VerifyMetadata
)

// OpenOptions tune Open.
type OpenOptions struct {
	Verify Verify
}

// maxChain bounds a parent chain (and catches loops).
const maxChain = 64

// Snapshot is an opened, verified snapshot directory.
type Snapshot struct {
	Dir      string
	Manifest Manifest
	// Parent is the opened parent of an incremental snapshot.
	Parent *Snapshot
	// Written has the figures of the Write that produced it; nil when
	// opened from disk.
	Written *WriteStats
	// VerifyTime is how long Open spent checking this snapshot's files.
	VerifyTime time.Duration

	state *board.MachineState
	index []uint64
}

// State returns the decoded machine state (shared: do not modify).
func (s *Snapshot) State() *board.MachineState { return s.state }

// Open reads and verifies the snapshot in dir and its parent chain:
// manifest, format version, file sizes and checksums (VerifyAll). Any
// problem is one clear error; nothing is restored from a snapshot that
// did not open.
func Open(dir string) (*Snapshot, error) { return OpenWith(dir, OpenOptions{}) }

// OpenWith is Open with options.
func OpenWith(dir string, o OpenOptions) (*Snapshot, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	top, err := openOne(abs, o)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	seen := map[string]bool{abs: true}
	for s := top; s.Manifest.Parent != nil; s = s.Parent {
		p := s.Manifest.Parent
		pdir := filepath.FromSlash(p.Path)
		if !filepath.IsAbs(pdir) {
			pdir = filepath.Join(s.Dir, pdir)
		}
		switch {
		case seen[pdir]:
			return nil, fmt.Errorf("snapshot %s: parent chain loops back to %s", dir, pdir)
		case len(seen) >= maxChain:
			return nil, fmt.Errorf("snapshot %s: parent chain longer than %d", dir, maxChain)
		}
		seen[pdir] = true
		parent, err := openOne(pdir, o)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: parent %s: %w", dir, pdir, err)
		}
		if parent.Manifest.ID != p.ID {
			return nil, fmt.Errorf("snapshot %s: parent %s has id %s, expected %s (it was replaced)", dir, pdir, parent.Manifest.ID, p.ID)
		}
		if parent.Manifest.VM.MemSize != s.Manifest.VM.MemSize {
			return nil, fmt.Errorf("snapshot %s: parent %s has %d MiB of memory, its child %d MiB", dir, pdir, parent.Manifest.VM.MemSize>>20, s.Manifest.VM.MemSize>>20)
		}
		s.Parent = parent
	}
	return top, nil
}

func openOne(dir string, o OpenOptions) (*Snapshot, error) {
	start := time.Now()
	mb, err := readManifestFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, serr
		}
		return nil, fmt.Errorf("no %s: not a snapshot, or one whose writing did not finish", ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	m, err := decodeManifest(mb)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Dir: dir, Manifest: *m}
	small := map[string]bool{StateFile: true, PageIndexFile: true}
	var stateBytes, indexBytes []byte
	for _, f := range m.Files {
		full := filepath.Join(dir, filepath.FromSlash(f.Name))
		if small[f.Name] {
			if limit := smallLimit(f.Name, m.Memory.Pages); f.Size > limit {
				return nil, fmt.Errorf("%s is listed with %d bytes, more than the %d it can have", f.Name, f.Size, limit)
			}
			b, err := readVerified(full, f)
			if err != nil {
				return nil, err
			}
			switch f.Name {
			case StateFile:
				stateBytes = b
			case PageIndexFile:
				indexBytes = b
			}
			continue
		}
		if err := verifyFile(full, f, o.Verify == VerifyAll); err != nil {
			return nil, err
		}
	}
	if s.state, err = decodeState(stateBytes); err != nil {
		return nil, err
	}
	if err := checkStateMatches(s.state, m); err != nil {
		return nil, err
	}
	if s.index, err = decodeIndex(indexBytes, m.Memory.Pages); err != nil {
		return nil, fmt.Errorf("%s: %w", PageIndexFile, err)
	}
	for _, d := range m.VM.Devices {
		if b := d.Block; b != nil && b.Base != "" {
			if err := checkBase(b, o.Verify == VerifyAll); err != nil {
				return nil, fmt.Errorf("slot %d: %w", d.Slot, err)
			}
		}
	}
	s.VerifyTime = time.Since(start)
	return s, nil
}

// maxStateSize bounds state.bin, which is read whole.
const maxStateSize = 64 << 20

// smallLimit is the most a file read whole into memory may hold.
func smallLimit(name string, pages uint64) int64 {
	if name == PageIndexFile {
		return indexHeader + 8*int64(pages)
	}
	return maxStateSize
}

// checkStateMatches ties state.bin to the manifest describing it.
func checkStateMatches(st *board.MachineState, m *Manifest) error {
	c := st.Config
	if c.Harts != m.VM.Harts || c.MemSize != m.VM.MemSize || c.Boot.String() != m.VM.Boot || len(c.DeviceTypes) != len(m.VM.Devices) {
		return fmt.Errorf("%s does not match the manifest's machine (%d harts, %d MiB, %s boot, %d devices)",
			StateFile, m.VM.Harts, m.VM.MemSize>>20, m.VM.Boot, len(m.VM.Devices))
	}
	for i, t := range c.DeviceTypes {
		if m.VM.Devices[i].Type != t {
			return fmt.Errorf("%s has device type %d in slot %d, the manifest %d", StateFile, t, i, m.VM.Devices[i].Type)
		}
	}
	return nil
}

// readManifestFile reads a manifest, refusing anything but a regular file:
// opening a FIFO planted in its place would block forever.
func readManifestFile(name string) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", ManifestFile)
	}
	return readLimited(name, maxManifestSize)
}

func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", filepath.Base(name), limit)
	}
	return b, nil
}

// readVerified reads a listed file whole and checks it.
func readVerified(name string, f FileEntry) ([]byte, error) {
	if err := checkSize(name, f); err != nil {
		return nil, err
	}
	b, err := readLimited(name, f.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	if int64(len(b)) != f.Size {
		return nil, fmt.Errorf("%s changed while being read", f.Name)
	}
	if bytesDigest(b) != f.Digest {
		return nil, fmt.Errorf("%s is corrupt (checksum mismatch)", f.Name)
	}
	return b, nil
}

// verifyFile checks a listed file's size and, when full, its checksum.
func verifyFile(name string, f FileEntry, full bool) error {
	if err := checkSize(name, f); err != nil || !full {
		return err
	}
	fh, err := os.Open(name)
	if err != nil {
		return err
	}
	defer fh.Close()
	sum, err := fileDigest(fh, f.Size)
	if err != nil {
		return err
	}
	if sum != f.Digest {
		return fmt.Errorf("%s is corrupt (checksum mismatch)", f.Name)
	}
	return nil
}

func checkSize(name string, f FileEntry) error {
	st, err := os.Stat(name)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is missing", f.Name)
	}
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Name)
	}
	if st.Size() != f.Size {
		return fmt.Errorf("%s has %d bytes, the manifest says %d (truncated or replaced)", f.Name, st.Size(), f.Size)
	}
	return nil
}
