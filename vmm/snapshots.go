package vmm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/popek-vm/popek/snapshot"
)

// Snapshots of a VM live in STATE/snapshots/VM/SNAP, one snapshot
// directory each (the snapshot package's format). The listing is the set
// of directories that open as valid snapshots: snapshot.Write and Flatten
// build in temporary siblings and rename, and Open removes what an
// interrupted operation left.

// SnapshotRequest asks for a snapshot of a VM (POST /v1/vms/{name}/snapshots).
type SnapshotRequest struct {
	Name string `json:"name"`
	// Incremental stores only the pages that changed since the VM's last
	// snapshot taken or reverted to in this run (full when there is none).
	Incremental bool `json:"incremental,omitempty"`
	// Compress stores memory zstd-compressed: smaller, slower to revert to.
	Compress bool `json:"compress,omitempty"`
}

// SnapshotInfo describes one snapshot of a VM.
type SnapshotInfo struct {
	Name    string    `json:"name"`
	VM      string    `json:"vm"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Parent is the snapshot an incremental one builds on.
	Parent      string `json:"parent,omitempty"`
	Incremental bool   `json:"incremental"`
	Compressed  bool   `json:"compressed"`
	Template    bool   `json:"template"`
	// SizeBytes is the disk space the snapshot's directory takes.
	SizeBytes int64 `json:"size_bytes"`
	// MemoryBytes is the guest memory stored (non-zero pages; changed
	// pages only when incremental); GuestMemoryBytes the guest's RAM size.
	MemoryBytes      uint64 `json:"memory_bytes"`
	GuestMemoryBytes uint64 `json:"guest_memory_bytes"`
	// PausedSeconds is how long the guest was stopped to take it (only in
	// the answer to the request that took it).
	PausedSeconds float64 `json:"paused_seconds,omitempty"`
	// Current marks the parent of the VM's next incremental snapshot.
	Current bool `json:"current,omitempty"`
}

func (m *Manager) snapshotsRoot() string        { return filepath.Join(m.opts.StateDir, "snapshots") }
func (m *Manager) vmSnapshots(vm string) string { return filepath.Join(m.snapshotsRoot(), vm) }
func (m *Manager) snapshotDir(vm, snap string) string {
	return filepath.Join(m.vmSnapshots(vm), snap)
}
func (m *Manager) disksRoot() string        { return filepath.Join(m.opts.StateDir, "disks") }
func (m *Manager) vmDisks(vm string) string { return filepath.Join(m.disksRoot(), vm) }

// validSnapshotName checks a snapshot or template name: a directory name
// and a URL path segment. ".tmp-" is reserved for directories being written.
func validSnapshotName(what, name string) error {
	if err := ValidName(name); err != nil {
		return errorf(KindInvalid, "%s %v", what, err)
	}
	if strings.Contains(name, ".tmp-") {
		return errorf(KindInvalid, "%s name %q: \".tmp-\" is reserved", what, name)
	}
	return nil
}

// leftover reports directory entries that are not snapshots: hidden
// working copies and snapshot.Write's temporary directories.
func leftover(name string) bool {
	return strings.HasPrefix(name, ".") || strings.Contains(name, ".tmp-")
}

// CreateSnapshot snapshots a running or paused VM. The guest is paused
// only while its state, memory and disks are captured, then runs on (a
// paused VM stays paused).
func (m *Manager) CreateSnapshot(name string, req SnapshotRequest) (SnapshotInfo, error) {
	if err := validSnapshotName("snapshot", req.Name); err != nil {
		return SnapshotInfo{}, err
	}
	v, err := m.lockedVM(name)
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer v.opMu.Unlock()
	dir := m.snapshotDir(name, req.Name)
	if _, err := os.Lstat(dir); err == nil {
		return SnapshotInfo{}, errorf(KindConflict, "VM %q already has a snapshot named %q", name, req.Name)
	}
	snap, err := v.writeSnapshot(dir, req, snapshot.WriteOptions{Compress: req.Compress, Name: req.Name})
	if err != nil {
		return SnapshotInfo{}, err
	}
	v.mu.Lock()
	if v.run != nil {
		v.run.lastSnap = req.Name
	}
	v.eventLocked(EventSnapshot, req.Name)
	v.mu.Unlock()
	m.log.Info("vm snapshot taken", "vm", name, "snapshot", req.Name, "paused", snap.Written.Paused, "incremental", snap.Parent != nil)
	info := snapshotInfo(name, snap)
	info.Current = true
	return info, nil
}

// writeSnapshot writes the VM's current machine into dir; opMu is held.
// With req.Incremental the parent is the run's last snapshot, if it is
// still there.
func (v *VM) writeSnapshot(dir string, req SnapshotRequest, o snapshot.WriteOptions) (*snapshot.Snapshot, error) {
	v.mu.Lock()
	r := v.run
	if r == nil || (v.state != StateRunning && v.state != StatePaused) {
		defer v.mu.Unlock()
		return nil, v.conflict("snapshot")
	}
	mach := r.acquireMachineLocked()
	parent := r.lastSnap
	v.mu.Unlock()
	if mach == nil {
		return nil, errorf(KindConflict, "cannot snapshot VM %q: it is rebooting; try again", v.name)
	}
	defer r.releaseMachine()
	if req.Incremental && parent != "" {
		p, err := snapshot.OpenWith(v.mgr.snapshotDir(v.name, parent), snapshot.OpenOptions{Verify: snapshot.VerifyMetadata})
		if err != nil {
			v.mgr.log.Warn("incremental snapshot: parent unusable, taking a full one", "vm", v.name, "parent", parent, "err", err)
		} else {
			o.Parent = p
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, errorf(KindInternal, "snapshot of VM %q: %v", v.name, err)
	}
	snap, err := snapshot.Write(dir, mach, o)
	if err != nil {
		return nil, errorf(KindInternal, "snapshot of VM %q: %v", v.name, err)
	}
	return snap, nil
}

func snapshotInfo(vm string, s *snapshot.Snapshot) SnapshotInfo {
	man := s.Manifest
	in := SnapshotInfo{Name: filepath.Base(s.Dir), VM: vm, ID: man.ID, Created: man.Created,
		Incremental: man.Parent != nil, Compressed: man.Memory.Format == snapshot.MemoryZstd, Template: man.Template,
		SizeBytes: allocatedBytes(s.Dir), MemoryBytes: man.Memory.StoredPages * 4096, GuestMemoryBytes: man.VM.MemSize}
	if s.Parent != nil {
		in.Parent = filepath.Base(s.Parent.Dir)
	}
	if s.Written != nil {
		in.PausedSeconds = s.Written.Paused.Seconds()
	}
	return in
}

// openSnapshots opens every valid snapshot of a VM (metadata verified),
// oldest first. Invalid ones are logged and left out.
func (m *Manager) openSnapshots(vm string) ([]*snapshot.Snapshot, error) {
	entries, err := os.ReadDir(m.vmSnapshots(vm))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf(KindInternal, "snapshots of VM %q: %v", vm, err)
	}
	var out []*snapshot.Snapshot
	for _, e := range entries {
		if !e.IsDir() || leftover(e.Name()) {
			continue
		}
		s, err := snapshot.OpenWith(m.snapshotDir(vm, e.Name()), snapshot.OpenOptions{Verify: snapshot.VerifyMetadata})
		if err != nil {
			m.log.Warn("skipping an invalid snapshot", "vm", vm, "snapshot", e.Name(), "err", err)
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Manifest.Created, out[j].Manifest.Created
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Dir < out[j].Dir
	})
	return out, nil
}

// ListSnapshots describes a VM's valid snapshots, oldest first.
func (m *Manager) ListSnapshots(name string) ([]SnapshotInfo, error) {
	v, err := m.vm(name)
	if err != nil {
		return nil, err
	}
	snaps, err := m.openSnapshots(name)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	current := ""
	if v.run != nil {
		current = v.run.lastSnap
	}
	v.mu.Unlock()
	out := make([]SnapshotInfo, 0, len(snaps))
	for _, s := range snaps {
		in := snapshotInfo(name, s)
		in.Current = in.Name == current
		out = append(out, in)
	}
	return out, nil
}

// SnapshotCount is how many snapshot directories a VM has (for metrics:
// counted, not verified).
func (m *Manager) SnapshotCount(name string) int {
	entries, _ := os.ReadDir(m.vmSnapshots(name))
	n := 0
	for _, e := range entries {
		if e.IsDir() && !leftover(e.Name()) {
			if _, err := os.Stat(filepath.Join(m.vmSnapshots(name), e.Name(), snapshot.ManifestFile)); err == nil {
				n++
			}
		}
	}
	return n
}

// DeleteSnapshot removes one snapshot of a VM. Snapshots that depend on it
// (its incremental descendants) are first rewritten as full snapshots,
// deepest first, so that none of them breaks; each keeps its name and
// creation time.
func (m *Manager) DeleteSnapshot(name, snap string) error {
	if err := validSnapshotName("snapshot", snap); err != nil {
		return err
	}
	v, err := m.lockedVM(name)
	if err != nil {
		return err
	}
	defer v.opMu.Unlock()
	dir := m.snapshotDir(name, snap)
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return errorf(KindNotFound, "VM %q has no snapshot %q", name, snap)
	}
	snaps, err := m.openSnapshots(name)
	if err != nil {
		return err
	}
	type dependent struct {
		s     *snapshot.Snapshot
		depth int
	}
	var deps []dependent
	for _, s := range snaps {
		depth := 0
		for p := s.Parent; p != nil; p = p.Parent {
			depth++
			if p.Dir == dir {
				deps = append(deps, dependent{s, depth})
				break
			}
		}
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].depth > deps[j].depth })
	for _, d := range deps {
		if err := flattenInPlace(d.s); err != nil {
			return errorf(KindInternal, "deleting snapshot %q of VM %q: making %q independent of it: %v", snap, name, filepath.Base(d.s.Dir), err)
		}
		m.log.Info("snapshot flattened", "vm", name, "snapshot", filepath.Base(d.s.Dir), "because", "parent deleted")
	}
	if err := os.RemoveAll(dir); err != nil {
		return errorf(KindInternal, "deleting snapshot %q of VM %q: %v", snap, name, err)
	}
	syncDir(m.vmSnapshots(name))
	v.mu.Lock()
	if v.run != nil && v.run.lastSnap == snap {
		v.run.lastSnap = ""
	}
	v.mu.Unlock()
	m.log.Info("snapshot deleted", "vm", name, "snapshot", snap, "flattened", len(deps))
	return nil
}

// flattenInPlace replaces an incremental snapshot by a full one of the
// same instant under the same name. The two directories are exchanged
// atomically where the kernel can (renameat2 RENAME_EXCHANGE), so the
// name always holds a valid snapshot.
func flattenInPlace(s *snapshot.Snapshot) error {
	dir := s.Dir
	flat := filepath.Join(filepath.Dir(dir), fmt.Sprintf(".%s.flat-%d", filepath.Base(dir), time.Now().UnixNano()))
	if _, err := snapshot.Flatten(s, flat); err != nil {
		return err
	}
	if err := exchange(flat, dir); err != nil {
		old := flat + ".old"
		if err := os.Rename(dir, old); err != nil {
			os.RemoveAll(flat)
			return err
		}
		if err := os.Rename(flat, dir); err != nil {
			os.Rename(old, dir)
			os.RemoveAll(flat)
			return err
		}
		flat = old
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return os.RemoveAll(flat) // the incremental original
}

// allocatedBytes is the disk space the files under dir take.
func allocatedBytes(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			} else {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}

// cleanSnapshotLeftovers removes what interrupted operations left in the
// state directory: temporary snapshot directories, and the snapshots and
// disks of VMs whose definition file is gone (a crash during a delete).
func (m *Manager) cleanSnapshotLeftovers() {
	for _, root := range []string{m.snapshotsRoot(), m.disksRoot()} {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			p := filepath.Join(root, e.Name())
			if _, err := os.Stat(m.store.path(e.Name())); errors.Is(err, os.ErrNotExist) {
				m.log.Info("removing the files of a deleted VM", "dir", p)
				os.RemoveAll(p)
				continue
			}
			if root != m.snapshotsRoot() {
				continue
			}
			inner, _ := os.ReadDir(p)
			for _, s := range inner {
				if leftover(s.Name()) {
					m.log.Info("removing an unfinished snapshot", "dir", filepath.Join(p, s.Name()))
					os.RemoveAll(filepath.Join(p, s.Name()))
				}
			}
		}
	}
	entries, _ := os.ReadDir(m.templatesRoot())
	for _, e := range entries {
		if leftover(e.Name()) {
			m.log.Info("removing an unfinished template", "dir", filepath.Join(m.templatesRoot(), e.Name()))
			os.RemoveAll(filepath.Join(m.templatesRoot(), e.Name()))
		}
	}
}
