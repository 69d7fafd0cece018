package vmm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// store keeps VM definitions in a directory, one JSON file per VM, each
// replaced atomically (temp file, fsync, rename, fsync of the directory)
// so a crash leaves either the old or the new definition, never half.
type store struct {
	dir string
}

// storedVM is the file format of one definition.
type storedVM struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Config    *Config   `json:"config"`
	// ClonePending marks a VM created from a template that has not been
	// started yet: its first start clones the template.
	ClonePending bool `json:"clone_pending,omitempty"`
}

const storeVersion = 1

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %v", err)
	}
	return &store{dir: dir}, nil
}

func (s *store) path(name string) string { return filepath.Join(s.dir, name+".json") }

// save writes a definition atomically.
func (s *store) save(rec storedVM) error {
	rec.Version = storeVersion
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(rec.Config.Name), append(data, '\n'))
}

func (s *store) remove(name string) error {
	if err := os.Remove(s.path(name)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return syncDir(s.dir)
}

// loadAll reads every definition. A file that cannot be read is reported
// in bad (file name and reason) and skipped, so one corrupt file does not
// hide the other VMs.
func (s *store) loadAll() (recs []storedVM, bad []string, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("state directory: %v", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		rec, err := s.load(filepath.Join(s.dir, name))
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if rec.Config.Name+".json" != name {
			bad = append(bad, fmt.Sprintf("%s: holds VM %q", name, rec.Config.Name))
			continue
		}
		recs = append(recs, rec)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Config.Name < recs[j].Config.Name })
	return recs, bad, nil
}

func (s *store) load(path string) (storedVM, error) {
	var rec storedVM
	data, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, err
	}
	if rec.Version != storeVersion {
		return rec, fmt.Errorf("unknown format version %d", rec.Version)
	}
	if rec.Config == nil {
		return rec, fmt.Errorf("no config")
	}
	rec.Config.ApplyDefaults()
	if err := rec.Config.Validate(); err != nil {
		return rec, err
	}
	return rec, nil
}

// writeFileAtomic replaces path with data so that readers and crashes see
// the old or the new content only.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
