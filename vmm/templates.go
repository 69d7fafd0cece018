package vmm

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/popek-vm/popek/snapshot"
)

// A template is STATE/templates/NAME/: template.json (the source VM's
// config and where the template came from) and snapshot/, a full snapshot
// marked as a template. Both are built in a hidden staging directory and
// renamed into place together. VMs created from a template are clones:
// their first start restores the template's guest with a new identity
// (MAC per NIC, vsock CID and socket) and disk overlays of their own in
// STATE/disks/VM/; later starts boot the template's kernel cold on those
// disks. A template is in use, and cannot be deleted, while any VM (or
// other template) refers to its files.

// TemplateRequest makes a template (POST /v1/templates): a snapshot of VM
// now, or, with Snapshot, a copy of one of its snapshots.
type TemplateRequest struct {
	Name     string `json:"name"`
	VM       string `json:"vm"`
	Snapshot string `json:"snapshot,omitempty"`
}

// TemplateInfo describes a template.
type TemplateInfo struct {
	Name           string    `json:"name"`
	Created        time.Time `json:"created"`
	SourceVM       string    `json:"source_vm"`
	SourceSnapshot string    `json:"source_snapshot,omitempty"`
	VCPUs          int       `json:"vcpus"`
	Memory         Size      `json:"memory"`
	// SizeBytes is the disk space the template takes; MemoryBytes the
	// guest memory it stores.
	SizeBytes   int64  `json:"size_bytes"`
	MemoryBytes uint64 `json:"memory_bytes"`
	// VMs are the VMs created from it.
	VMs []string `json:"vms"`
}

// storedTemplate is template.json.
type storedTemplate struct {
	Version        int       `json:"version"`
	Name           string    `json:"name"`
	Created        time.Time `json:"created"`
	SourceVM       string    `json:"source_vm"`
	SourceSnapshot string    `json:"source_snapshot,omitempty"`
	Config         *Config   `json:"config"`
}

const templateFile = "template.json"

func (m *Manager) templatesRoot() string          { return filepath.Join(m.opts.StateDir, "templates") }
func (m *Manager) templateDir(name string) string { return filepath.Join(m.templatesRoot(), name) }
func (m *Manager) templateSnapshot(name string) string {
	return filepath.Join(m.templateDir(name), "snapshot")
}
func (m *Manager) vsockPath(vm string) string {
	return filepath.Join(m.opts.StateDir, "vsock", vm+".sock")
}

// CreateTemplate snapshots a running or paused VM, or copies one of its
// snapshots (flattened: the template needs nothing else), into a new
// template.
func (m *Manager) CreateTemplate(req TemplateRequest) (TemplateInfo, error) {
	if err := validSnapshotName("template", req.Name); err != nil {
		return TemplateInfo{}, err
	}
	if req.VM == "" {
		return TemplateInfo{}, errorf(KindInvalid, "vm: missing (the VM to make the template from)")
	}
	if req.Snapshot != "" {
		if err := validSnapshotName("snapshot", req.Snapshot); err != nil {
			return TemplateInfo{}, err
		}
	}
	if _, err := os.Lstat(m.templateDir(req.Name)); err == nil {
		return TemplateInfo{}, errorf(KindConflict, "a template named %q already exists", req.Name)
	}
	v, err := m.vm(req.VM)
	if err != nil {
		return TemplateInfo{}, err
	}
	if err := v.lockOp(); err != nil {
		return TemplateInfo{}, err
	}
	defer v.opMu.Unlock()
	if err := os.MkdirAll(m.templatesRoot(), 0o700); err != nil {
		return TemplateInfo{}, errorf(KindInternal, "templates: %v", err)
	}
	staging, err := os.MkdirTemp(m.templatesRoot(), ".staging-"+req.Name+"-")
	if err != nil {
		return TemplateInfo{}, errorf(KindInternal, "templates: %v", err)
	}
	defer os.RemoveAll(staging) // gone once renamed
	snapDir := filepath.Join(staging, "snapshot")
	if req.Snapshot == "" {
		if _, err := v.writeSnapshot(snapDir, SnapshotRequest{}, snapshot.WriteOptions{Name: req.Name, Template: true}); err != nil {
			return TemplateInfo{}, err
		}
	} else {
		src := m.snapshotDir(req.VM, req.Snapshot)
		if _, err := os.Lstat(src); err != nil {
			return TemplateInfo{}, errorf(KindNotFound, "VM %q has no snapshot %q", req.VM, req.Snapshot)
		}
		s, err := snapshot.Open(src)
		if err != nil {
			return TemplateInfo{}, errorf(KindConflict, "cannot make a template of snapshot %q: %v", req.Snapshot, err)
		}
		if _, err := snapshot.Flatten(s, snapDir); err != nil {
			return TemplateInfo{}, errorf(KindInternal, "template %q: %v", req.Name, err)
		}
		if err := snapshot.MarkTemplate(snapDir); err != nil {
			return TemplateInfo{}, errorf(KindInternal, "template %q: %v", req.Name, err)
		}
	}
	v.mu.Lock()
	rec := storedTemplate{Version: storeVersion, Name: req.Name, Created: time.Now().UTC().Truncate(time.Second),
		SourceVM: req.VM, SourceSnapshot: req.Snapshot, Config: v.cfg.Clone()}
	v.mu.Unlock()
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return TemplateInfo{}, errorf(KindInternal, "template %q: %v", req.Name, err)
	}
	if err := writeFileAtomic(filepath.Join(staging, templateFile), append(data, '\n')); err != nil {
		return TemplateInfo{}, errorf(KindInternal, "template %q: %v", req.Name, err)
	}
	m.tmplMu.Lock()
	defer m.tmplMu.Unlock()
	if _, err := os.Lstat(m.templateDir(req.Name)); err == nil {
		return TemplateInfo{}, errorf(KindConflict, "a template named %q already exists", req.Name)
	}
	if err := os.Rename(staging, m.templateDir(req.Name)); err != nil {
		return TemplateInfo{}, errorf(KindInternal, "template %q: %v", req.Name, err)
	}
	syncDir(m.templatesRoot())
	m.log.Info("template created", "template", req.Name, "vm", req.VM, "snapshot", req.Snapshot)
	return m.templateInfoLocked(req.Name)
}

// loadTemplate reads a template's definition; tmplMu is held.
func (m *Manager) loadTemplate(name string) (*storedTemplate, error) {
	data, err := os.ReadFile(filepath.Join(m.templateDir(name), templateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errorf(KindNotFound, "no template named %q", name)
	}
	if err != nil {
		return nil, errorf(KindInternal, "template %q: %v", name, err)
	}
	var t storedTemplate
	if err := json.Unmarshal(data, &t); err != nil || t.Config == nil || t.Version != storeVersion {
		return nil, errorf(KindInternal, "template %q: %s is unreadable", name, templateFile)
	}
	return &t, nil
}

// openTemplate returns the template's snapshot, verified completely the
// first time this daemon uses it and kept open afterwards (clones are
// made from it without reading it again).
func (m *Manager) openTemplate(name string) (*snapshot.Snapshot, error) {
	m.tmplMu.Lock()
	defer m.tmplMu.Unlock()
	if s := m.tmplCache[name]; s != nil {
		return s, nil
	}
	s, err := snapshot.Open(m.templateSnapshot(name))
	if err != nil {
		if _, serr := os.Stat(m.templateDir(name)); serr != nil {
			return nil, errorf(KindConflict, "the VM's template %q no longer exists", name)
		}
		return nil, errorf(KindConflict, "template %q is unusable: %v", name, err)
	}
	m.tmplCache[name] = s
	return s, nil
}

func (m *Manager) templateInfoLocked(name string) (TemplateInfo, error) {
	t, err := m.loadTemplate(name)
	if err != nil {
		return TemplateInfo{}, err
	}
	s, err := snapshot.OpenWith(m.templateSnapshot(name), snapshot.OpenOptions{Verify: snapshot.VerifyMetadata})
	if err != nil {
		return TemplateInfo{}, errorf(KindInternal, "template %q: %v", name, err)
	}
	vms, _ := m.templateUsersLocked(name)
	if vms == nil {
		vms = []string{}
	}
	return TemplateInfo{Name: name, Created: t.Created, SourceVM: t.SourceVM, SourceSnapshot: t.SourceSnapshot,
		VCPUs: t.Config.VCPUs, Memory: t.Config.Memory, SizeBytes: allocatedBytes(m.templateDir(name)),
		MemoryBytes: s.Manifest.Memory.StoredPages * 4096, VMs: vms}, nil
}

// ListTemplates describes every valid template, by name.
func (m *Manager) ListTemplates() []TemplateInfo {
	m.tmplMu.Lock()
	defer m.tmplMu.Unlock()
	entries, _ := os.ReadDir(m.templatesRoot())
	out := []TemplateInfo{}
	for _, e := range entries {
		if !e.IsDir() || leftover(e.Name()) {
			continue
		}
		in, err := m.templateInfoLocked(e.Name())
		if err != nil {
			m.log.Warn("skipping an invalid template", "template", e.Name(), "err", err)
			continue
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TemplateCount is the number of template directories (for metrics).
func (m *Manager) TemplateCount() int {
	entries, _ := os.ReadDir(m.templatesRoot())
	n := 0
	for _, e := range entries {
		if e.IsDir() && !leftover(e.Name()) {
			n++
		}
	}
	return n
}

// templateUsersLocked lists the VMs created from the template (or whose
// disks lie in it) and the other templates made from such VMs; tmplMu is
// held.
func (m *Manager) templateUsersLocked(name string) (vms, templates []string) {
	dir := m.templateDir(name) + string(filepath.Separator)
	uses := func(c *Config) bool {
		if c.Template == name {
			return true
		}
		for _, d := range c.Drives {
			if strings.HasPrefix(d.File, dir) || strings.HasPrefix(d.Overlay, dir) {
				return true
			}
		}
		return false
	}
	m.mu.Lock()
	for _, v := range m.vms {
		v.mu.Lock()
		if uses(v.cfg) {
			vms = append(vms, v.name)
		}
		v.mu.Unlock()
	}
	m.mu.Unlock()
	entries, _ := os.ReadDir(m.templatesRoot())
	for _, e := range entries {
		if e.Name() == name || leftover(e.Name()) {
			continue
		}
		if t, err := m.loadTemplate(e.Name()); err == nil && uses(t.Config) {
			templates = append(templates, e.Name())
		}
	}
	sort.Strings(vms)
	return vms, templates
}

// DeleteTemplate removes a template no VM uses.
func (m *Manager) DeleteTemplate(name string) error {
	if err := validSnapshotName("template", name); err != nil {
		return err
	}
	m.tmplMu.Lock()
	defer m.tmplMu.Unlock()
	if _, err := os.Lstat(m.templateDir(name)); err != nil {
		return errorf(KindNotFound, "no template named %q", name)
	}
	vms, templates := m.templateUsersLocked(name)
	if len(vms) > 0 {
		return errorf(KindConflict, "template %q is in use by VM(s) %s: delete them first", name, strings.Join(vms, ", "))
	}
	if len(templates) > 0 {
		return errorf(KindConflict, "template %q is in use by template(s) %s (made from its clones): delete them first", name, strings.Join(templates, ", "))
	}
	// Rename first, so a crash never leaves a half-deleted template that
	// still looks like one.
	trash := filepath.Join(m.templatesRoot(), fmt.Sprintf(".deleted-%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(m.templateDir(name), trash); err != nil {
		return errorf(KindInternal, "deleting template %q: %v", name, err)
	}
	syncDir(m.templatesRoot())
	delete(m.tmplCache, name)
	if err := os.RemoveAll(trash); err != nil {
		m.log.Warn("removing a deleted template's files", "dir", trash, "err", err)
	}
	m.log.Info("template deleted", "template", name)
	return nil
}

// machineFields are the config fields a template decides.
func machineFields(c *Config) []string {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"kernel", c.Kernel != ""}, {"initrd", c.Initrd != ""}, {"cmdline", c.Cmdline != ""}, {"bios", c.BIOS != ""},
		{"vcpus", c.VCPUs != 0}, {"memory", c.Memory != ""}, {"mmu", c.MMU != ""}, {"rng", c.RNG != nil},
		{"drives", len(c.Drives) > 0}, {"shares", len(c.Shares) > 0},
	} {
		if f.set {
			set = append(set, f.name)
		}
	}
	return set
}

// cloneConfig is the definition of a new VM created from doc.Template;
// tmplMu is held. The machine and its devices are the template's; the
// VM gets its own identity: a MAC per NIC derived from its name (host
// forwards are dropped: they would collide), a vsock CID derived from its
// name on a socket in the state directory (unless doc gives nets or
// vsock), and disk overlays in STATE/disks/NAME over the template's
// frozen disks.
func (m *Manager) cloneConfig(doc *Config) (*Config, error) {
	if set := machineFields(doc); len(set) > 0 {
		return nil, errorf(KindInvalid, "%s: a VM created from template %q takes its machine from the template", strings.Join(set, ", "), doc.Template)
	}
	t, err := m.loadTemplate(doc.Template)
	if err != nil {
		return nil, err
	}
	s, err := snapshot.OpenWith(m.templateSnapshot(doc.Template), snapshot.OpenOptions{Verify: snapshot.VerifyMetadata})
	if err != nil {
		return nil, errorf(KindConflict, "template %q is unusable: %v", doc.Template, err)
	}
	c := t.Config.Clone()
	if err := checkShape(c, s); err != nil {
		return nil, errorf(KindConflict, "template %q is unusable: its snapshot does not match its config: %v", doc.Template, err)
	}
	c.Name, c.Template, c.Autostart, c.NoReboot = doc.Name, doc.Template, doc.Autostart, doc.NoReboot
	if doc.CPUWeight != 0 {
		c.CPUWeight = doc.CPUWeight
	}
	if doc.CPUCap != 0 {
		c.CPUCap = doc.CPUCap
	}
	switch {
	case len(doc.Nets) > 0 && len(doc.Nets) != len(c.Nets):
		return nil, errorf(KindInvalid, "nets: template %q has %d NIC(s), the document %d", doc.Template, len(c.Nets), len(doc.Nets))
	case len(doc.Nets) > 0:
		c.Nets = doc.Clone().Nets
	default:
		for i := range c.Nets {
			c.Nets[i].HostFwd, c.Nets[i].MAC = nil, ""
		}
	}
	for i := range c.Nets {
		if c.Nets[i].MAC == "" {
			c.Nets[i].MAC = nicMAC(c, i).String()
		}
	}
	switch {
	case doc.Vsock != nil && c.Vsock == nil:
		return nil, errorf(KindInvalid, "vsock: template %q has no vsock device", doc.Template)
	case doc.Vsock != nil:
		v := *doc.Vsock
		c.Vsock = &v
	case c.Vsock != nil:
		c.Vsock = &VsockConfig{CID: deriveCID(c.Name), UDS: m.vsockPath(c.Name)}
		// The directory exists before the clone's config is checked.
		if err := os.MkdirAll(filepath.Dir(c.Vsock.UDS), 0o700); err != nil {
			return nil, errorf(KindInternal, "vsock: %v", err)
		}
	}
	// The console's socket is the template's unless doc gives one (two
	// VMs cannot listen on one path: the second start is refused).
	switch {
	case doc.VirtioConsole != nil && c.VirtioConsole == nil:
		return nil, errorf(KindInvalid, "virtio_console: template %q has no virtio console", doc.Template)
	case doc.VirtioConsole != nil:
		v := *doc.VirtioConsole
		c.VirtioConsole = &v
	}
	disks := m.vmDisks(c.Name)
	for i := range c.Drives {
		d := &c.Drives[i]
		b := s.Manifest.VM.Devices[i].Block
		switch {
		case d.ReadOnly && b.Overlay != "":
			d.File, d.Overlay = b.Base, m.templateFileOf(doc.Template, b.Overlay)
		case d.ReadOnly:
			d.File, d.Overlay = b.Base, ""
		case b.Image != "":
			d.File, d.Overlay = m.templateFileOf(doc.Template, b.Image), filepath.Join(disks, fmt.Sprintf("disk%d.ovl", i))
		default:
			d.File, d.Overlay = b.Base, filepath.Join(disks, fmt.Sprintf("disk%d.ovl", i))
		}
	}
	return c, nil
}

func (m *Manager) templateFileOf(tmpl, name string) string {
	return filepath.Join(m.templateSnapshot(tmpl), filepath.FromSlash(name))
}

// deriveCID is a vsock CID from the VM's name: stable, 3..2^32-2.
func deriveCID(name string) uint64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 3 + uint64(h.Sum32())%(0xfffffffe-3)
}

// startClone is a clone VM's first start: the template's guest continues
// with the VM's identity, on fresh disk overlays; opMu is held.
func (v *VM) startClone(spec *bootSpec) error {
	m, cfg := v.mgr, spec.cfg
	s, err := m.openTemplate(cfg.Template)
	if err != nil {
		return err
	}
	if err := checkShape(cfg, s); err != nil {
		return errorf(KindConflict, "cannot clone template %q: %v", cfg.Template, err)
	}
	disks := m.vmDisks(v.name)
	// Disks of an earlier clone attempt that never ran are stale.
	if err := os.RemoveAll(disks); err != nil {
		return errorf(KindInternal, "VM %q: %v", v.name, err)
	}
	if err := os.MkdirAll(disks, 0o700); err != nil {
		return errorf(KindInternal, "VM %q: %v", v.name, err)
	}
	if cfg.Vsock != nil {
		os.MkdirAll(filepath.Dir(cfg.Vsock.UDS), 0o700)
	}
	for i, d := range cfg.Drives {
		b := s.Manifest.VM.Devices[i].Block
		if !d.ReadOnly && b.Overlay != "" {
			if err := snapshot.CopyFile(snapshotFile(s, b.Overlay), d.Overlay, 0o600); err != nil {
				os.RemoveAll(disks)
				return errorf(KindInternal, "VM %q: drives[%d]: %v", v.name, i, err)
			}
		}
	}
	err = v.launchWith(spec, restoreBuilder(s, true), launchOptions{event: EventStarted, message: "cloned from template " + cfg.Template})
	if err != nil {
		os.RemoveAll(disks)
		return err
	}
	m.mu.Lock()
	v.mu.Lock()
	v.clonePending = false
	rec := storedVM{CreatedAt: v.createdAt, Config: v.cfg}
	v.mu.Unlock()
	err = m.store.save(rec)
	m.mu.Unlock()
	if err != nil {
		m.log.Error("saving a cloned VM's definition", "vm", v.name, "err", err)
	}
	return nil
}
