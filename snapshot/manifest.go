package snapshot

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/zeebo/xxh3"
)

// FormatVersion is the snapshot directory format this package writes and
// reads. Open refuses other versions.
const FormatVersion = 1

// Names of the files in a snapshot directory.
const (
	ManifestFile  = "manifest.json"
	StateFile     = "state.bin"
	MemoryRawFile = "memory.raw"
	MemoryZstFile = "memory.zst"
	PageIndexFile = "memory.idx"
	disksDir      = "disks"
	bootDir       = "boot"
)

// Memory file formats (Manifest.Memory.Format).
const (
	MemoryRaw  = "raw"
	MemoryZstd = "zstd"
)

// maxManifestSize bounds what Open reads as JSON.
const maxManifestSize = 4 << 20

// Manifest is manifest.json: what the snapshot is and how to check it.
type Manifest struct {
	FormatVersion int `json:"format_version"`
	// ID identifies the snapshot for its children; it never changes, not
	// even when the snapshot is marked as a template.
	ID           string     `json:"id"`
	Name         string     `json:"name,omitempty"`
	PopekVersion string     `json:"popek_version"`
	Created      time.Time  `json:"created"`
	Template     bool       `json:"template"`
	Parent       *ParentRef `json:"parent,omitempty"`
	VM           VMConfig   `json:"vm"`
	Memory       MemoryInfo `json:"memory"`
	// Files lists every other file of the snapshot with its checksum.
	Files []FileEntry `json:"files"`
	// Checksum covers the manifest itself: the digest of its canonical
	// encoding with this field empty.
	Checksum string `json:"checksum"`
}

// ParentRef names the snapshot an incremental one builds on.
type ParentRef struct {
	// Path is the parent directory, relative to this snapshot's directory
	// (or absolute).
	Path string `json:"path"`
	ID   string `json:"id"`
}

// VMConfig is the machine's shape and devices, enough to rebuild it.
type VMConfig struct {
	Harts   int          `json:"harts"`
	MemSize uint64       `json:"mem_size"`
	Boot    string       `json:"boot"`
	Cmdline string       `json:"cmdline,omitempty"`
	MMU     string       `json:"mmu,omitempty"`
	Devices []DeviceSpec `json:"devices"`
	// Kernel, Initrd and Firmware name the boot images kept in the
	// snapshot (for a reboot of the restored guest), "" when absent.
	Kernel   string `json:"kernel,omitempty"`
	Initrd   string `json:"initrd,omitempty"`
	Firmware string `json:"firmware,omitempty"`
}

// DeviceSpec describes the device model in one virtio slot.
type DeviceSpec struct {
	Slot  int        `json:"slot"`
	Type  uint32     `json:"type"`
	Kind  string     `json:"kind"`
	Block *BlockSpec `json:"block,omitempty"`
	Net   *NetSpec   `json:"net,omitempty"`
	Vsock *VsockSpec `json:"vsock,omitempty"`
	P9    *P9Spec    `json:"p9,omitempty"`
}

// BlockSpec is a frozen disk. Exactly one form is used:
//   - Image: a writable raw disk, copied into the snapshot; restored as
//     the read-only base of a fresh overlay per VM.
//   - Overlay (+ Base): an overlay copied into the snapshot over a base
//     image outside it; each restored VM writes its own copy of Overlay.
//   - Base alone: a read-only raw disk outside the snapshot.
//
// Base files are referenced, not copied: they must not change while
// snapshots use them (the size and the SHA-256 of the first MiB, which
// overlays also check, catch a replaced base).
type BlockSpec struct {
	Serial       string `json:"serial,omitempty"`
	ReadOnly     bool   `json:"read_only"`
	Image        string `json:"image,omitempty"`
	Overlay      string `json:"overlay,omitempty"`
	Base         string `json:"base,omitempty"`
	BaseSize     int64  `json:"base_size,omitempty"`
	BaseIdentity string `json:"base_identity,omitempty"`
}

// NetSpec is a network device's identity.
type NetSpec struct {
	MAC string `json:"mac"`
}

// VsockSpec is a vsock device's identity.
type VsockSpec struct {
	CID uint64 `json:"cid"`
}

// P9Spec is a shared directory's identity. The host directory is not
// recorded: a restore names it (it may be another one, on another host).
type P9Spec struct {
	Tag      string `json:"tag"`
	ReadOnly bool   `json:"read_only"`
}

// MemoryInfo describes the guest memory files.
type MemoryInfo struct {
	Format string `json:"format"` // MemoryRaw or MemoryZstd
	Pages  uint64 `json:"pages"`
	// StoredPages are the non-zero pages held by this snapshot's memory
	// file (for an incremental one: those changed since the parent).
	StoredPages uint64 `json:"stored_pages"`
	// ChangedPages (incremental only) counts pages that differ from the
	// parent, including pages that became zero.
	ChangedPages uint64 `json:"changed_pages,omitempty"`
}

// FileEntry is one file of the snapshot and its checksum.
type FileEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// selfChecksum is the digest of the canonical encoding without Checksum.
func (m *Manifest) selfChecksum() (string, error) {
	c := *m
	c.Checksum = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	h := xxh3.Hash128(b).Bytes()
	return "xxh3-128:" + hex.EncodeToString(h[:]), nil
}

// encode seals the manifest (sets Checksum) and returns its file bytes.
func (m *Manifest) encode() ([]byte, error) {
	sum, err := m.selfChecksum()
	if err != nil {
		return nil, err
	}
	m.Checksum = sum
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeManifest parses and checks a manifest.json.
func decodeManifest(b []byte) (*Manifest, error) {
	var probe struct {
		FormatVersion int `json:"format_version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %v", err)
	}
	if probe.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("snapshot format version %d, this popek reads version %d", probe.FormatVersion, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("bad manifest: %v", err)
	}
	if dec.More() {
		return nil, errors.New("bad manifest: data after the JSON object")
	}
	sum, err := m.selfChecksum()
	if err != nil {
		return nil, err
	}
	if m.Checksum != sum {
		return nil, errors.New("manifest checksum mismatch: the manifest is corrupt or was edited")
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("bad manifest: %w", err)
	}
	return &m, nil
}

// validate checks what the rest of the package relies on.
func (m *Manifest) validate() error {
	seen := map[string]bool{}
	for _, f := range m.Files {
		if !safeName(f.Name) {
			return fmt.Errorf("file name %q is not a plain relative path", f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("file %q listed twice", f.Name)
		}
		if f.Size < 0 || !strings.HasPrefix(f.Digest, digestPrefix) {
			return fmt.Errorf("file %q has a bad size or checksum", f.Name)
		}
		seen[f.Name] = true
	}
	v := m.VM
	if m.ID == "" {
		return errors.New("no snapshot id")
	}
	if v.MemSize == 0 || v.MemSize%pageSize != 0 || v.MemSize > 1<<40 || m.Memory.Pages != v.MemSize/pageSize {
		return fmt.Errorf("memory of %d bytes in %d pages", v.MemSize, m.Memory.Pages)
	}
	memFile := MemoryRawFile
	switch m.Memory.Format {
	case MemoryRaw:
	case MemoryZstd:
		memFile = MemoryZstFile
	default:
		return fmt.Errorf("unknown memory format %q", m.Memory.Format)
	}
	for _, need := range []string{StateFile, PageIndexFile, memFile} {
		if !seen[need] {
			return fmt.Errorf("%s is not listed", need)
		}
	}
	if m.Parent != nil && (m.Parent.Path == "" || m.Parent.ID == "") {
		return errors.New("parent reference without path or id")
	}
	for _, name := range []string{v.Kernel, v.Initrd, v.Firmware} {
		if name != "" && !seen[name] {
			return fmt.Errorf("boot image %s is not listed", name)
		}
	}
	for i, d := range v.Devices {
		if d.Slot != i {
			return fmt.Errorf("device %d claims slot %d", i, d.Slot)
		}
		if d.P9 != nil && d.P9.Tag == "" {
			return fmt.Errorf("slot %d: shared directory without a tag", i)
		}
		if b := d.Block; b != nil {
			for _, name := range []string{b.Image, b.Overlay} {
				if name != "" && !seen[name] {
					return fmt.Errorf("slot %d: disk file %s is not listed", i, name)
				}
			}
			if b.Image != "" && (b.Overlay != "" || b.Base != "") || b.Image == "" && b.Base == "" {
				return fmt.Errorf("slot %d: inconsistent disk description", i)
			}
		}
	}
	return nil
}

// file returns the entry for name.
func (m *Manifest) file(name string) (FileEntry, bool) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return FileEntry{}, false
}

// safeName accepts slash-separated relative paths that stay inside the
// snapshot directory.
func safeName(name string) bool {
	return name != "" && !strings.Contains(name, `\`) && path.Clean(name) == name &&
		!path.IsAbs(name) && name != "." && !strings.HasPrefix(name, "../") && name != ".."
}
