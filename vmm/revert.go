package vmm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/popek-vm/popek/snapshot"
)

// A revert puts the snapshot's frozen disks back into the VM's own drive
// files, so memory and disks agree, a later cold start sees the same
// disks, and the VM's config (and its other snapshots) stay as they are.
// Every copy is made next to its drive file before anything changes;
// then the old machine goes, the copies are renamed over the drive files
// (the old files kept as hard links) and the snapshot's machine is built
// on them. If that fails the old files are put back.

// diskSwap is one drive file to replace.
type diskSwap struct {
	target, tmp, backup string
	hadTarget           bool
}

type diskPlan struct {
	swaps     []diskSwap
	committed int
}

const revertTag = ".popek-revert-"

// planDisks copies the snapshot's writable disks next to the VM's drive
// files. Read-only drives never change, so they need nothing.
func planDisks(c *Config, s *snapshot.Snapshot) (p *diskPlan, err error) {
	p = &diskPlan{}
	defer func() {
		if err != nil {
			p.discard()
		}
	}()
	stamp := time.Now().UnixNano()
	for i, d := range c.Drives {
		b := s.Manifest.VM.Devices[i].Block
		var src, target string
		switch {
		case d.ReadOnly:
			if !b.ReadOnly {
				return p, fmt.Errorf("drives[%d] is read-only, the snapshot's disk in slot %d is not", i, i)
			}
			continue
		case d.Overlay == "":
			if b.Image == "" {
				return p, fmt.Errorf("drives[%d] is a raw image, the snapshot's disk in slot %d is not", i, i)
			}
			src, target = snapshotFile(s, b.Image), d.File
		default:
			if b.Overlay == "" || filepath.Clean(b.Base) != filepath.Clean(d.File) {
				return p, fmt.Errorf("drives[%d] is an overlay on %s, the snapshot's disk in slot %d is not", i, d.File, i)
			}
			src, target = snapshotFile(s, b.Overlay), d.Overlay
		}
		sw := diskSwap{target: target}
		dir, base := filepath.Dir(target), filepath.Base(target)
		sw.tmp = filepath.Join(dir, fmt.Sprintf(".%s%snew-%d", base, revertTag, stamp))
		sw.backup = filepath.Join(dir, fmt.Sprintf(".%s%sold-%d", base, revertTag, stamp))
		perm := os.FileMode(0o644)
		if fi, err := os.Stat(target); err == nil {
			perm = fi.Mode().Perm()
		}
		if err := snapshot.CopyFile(src, sw.tmp, perm); err != nil {
			return p, fmt.Errorf("drives[%d]: %v", i, err)
		}
		p.swaps = append(p.swaps, sw)
		if err := syncFileByName(sw.tmp); err != nil {
			return p, fmt.Errorf("drives[%d]: %v", i, err)
		}
	}
	return p, nil
}

// commit renames the copies over the drive files, keeping the old ones.
func (p *diskPlan) commit() error {
	for i := range p.swaps {
		sw := &p.swaps[i]
		if err := os.Link(sw.target, sw.backup); err == nil {
			sw.hadTarget = true
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keeping %s: %v", sw.target, err)
		}
		if err := os.Rename(sw.tmp, sw.target); err != nil {
			return fmt.Errorf("replacing %s: %v", sw.target, err)
		}
		p.committed++
		syncDir(filepath.Dir(sw.target))
	}
	return nil
}

// rollback puts the old drive files back.
func (p *diskPlan) rollback() {
	for i := p.committed - 1; i >= 0; i-- {
		sw := p.swaps[i]
		if sw.hadTarget {
			os.Rename(sw.backup, sw.target)
		} else {
			os.Remove(sw.target)
		}
		syncDir(filepath.Dir(sw.target))
	}
	p.committed = 0
}

// discard removes the copies and backups left.
func (p *diskPlan) discard() {
	for _, sw := range p.swaps {
		os.Remove(sw.tmp)
		os.Remove(sw.backup)
	}
}

func syncFileByName(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// cleanRevertLeftovers removes copies and backups an interrupted revert
// left next to a VM's drive files.
func cleanRevertLeftovers(c *Config) {
	for _, d := range c.Drives {
		for _, f := range []string{d.File, d.Overlay} {
			if f == "" {
				continue
			}
			junk, _ := filepath.Glob(filepath.Join(filepath.Dir(f), "."+globEscape(filepath.Base(f))+revertTag+"*"))
			for _, j := range junk {
				os.Remove(j)
			}
		}
	}
}

func globEscape(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// RevertSnapshot replaces the VM's machine by the one in the snapshot: the
// guest continues from exactly that instant, running (or paused, if the
// VM was paused), with the snapshot's disks in the VM's drive files. A
// stopped VM starts. The snapshot is verified completely first; a
// snapshot that is corrupt or does not fit the VM changes nothing.
func (m *Manager) RevertSnapshot(name, snap string) (VMInfo, error) {
	if err := validSnapshotName("snapshot", snap); err != nil {
		return VMInfo{}, err
	}
	v, err := m.lockedVM(name)
	if err != nil {
		return VMInfo{}, err
	}
	defer v.opMu.Unlock()
	if err := v.revertOp(snap); err != nil {
		return VMInfo{}, err
	}
	return v.info(), nil
}

func (v *VM) revertOp(snap string) error {
	m := v.mgr
	v.mu.Lock()
	st, cfg := v.state, v.cfg
	v.mu.Unlock()
	if st == StateStopping {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.conflict("revert")
	}
	dir := m.snapshotDir(v.name, snap)
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return errorf(KindNotFound, "VM %q has no snapshot %q", v.name, snap)
	}
	s, err := snapshot.Open(dir)
	if err != nil {
		return errorf(KindConflict, "cannot revert VM %q to snapshot %q: %v", v.name, snap, err)
	}
	if err := checkShape(cfg, s); err != nil {
		return errorf(KindConflict, "cannot revert VM %q to snapshot %q: %v", v.name, snap, err)
	}
	spec, err := v.prepare(cfg)
	if err != nil {
		return err
	}
	plan, err := planDisks(cfg, s)
	if err != nil {
		return errorf(KindConflict, "cannot revert VM %q to snapshot %q: %v", v.name, snap, err)
	}
	defer plan.discard()

	// Past this point the VM's current machine is given up.
	live := st == StateRunning || st == StatePaused
	if live {
		if err := v.stopRun("reverted to snapshot "+snap, true); err != nil {
			return err
		}
	}
	fail := func(err error) error {
		plan.rollback()
		msg := fmt.Sprintf("revert to snapshot %q failed: %v", snap, err)
		v.mu.Lock()
		defer v.mu.Unlock()
		if live {
			v.state, v.lastErr = StateError, msg
			v.eventLocked(EventFailed, msg)
		}
		m.log.Error("vm revert failed", "vm", v.name, "snapshot", snap, "err", err)
		return errorf(KindInternal, "%s", msg)
	}
	if err := plan.commit(); err != nil {
		return fail(err)
	}
	err = v.launchWith(spec, restoreBuilder(s, false), launchOptions{
		paused: st == StatePaused, event: EventReverted, message: snap, lastSnap: snap})
	if err != nil {
		return fail(err)
	}
	return nil
}
