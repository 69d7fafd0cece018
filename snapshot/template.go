package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
)

// MarkTemplate marks the snapshot in dir as a template: a frozen image
// that VMs are cloned from rather than resumed. Only the manifest changes
// (replaced atomically); the snapshot's ID stays, so incremental children
// remain valid. The snapshot is verified first.
func MarkTemplate(dir string) error {
	return setTemplate(dir, true)
}

// UnmarkTemplate clears the template mark.
func UnmarkTemplate(dir string) error {
	return setTemplate(dir, false)
}

func setTemplate(dir string, on bool) error {
	s, err := OpenWith(dir, OpenOptions{Verify: VerifyMetadata})
	if err != nil {
		return err
	}
	if s.Manifest.Template == on {
		return nil
	}
	m := s.Manifest
	m.Template = on
	b, err := m.encode()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, "."+ManifestFile+".tmp-")
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o444)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.Dir, ManifestFile))
	}
	if err == nil {
		err = syncDir(s.Dir)
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: mark template: %w", dir, err)
	}
	return nil
}
