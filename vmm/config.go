package vmm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"go.yaml.in/yaml/v3"
)

// Config is a VM's definition: the document given to `popek create` and
// stored, one file per VM, in the daemon's state directory. Paths must be
// absolute (the CLI makes paths in a file relative to the file's directory).
type Config struct {
	Name string `json:"name" yaml:"name"`
	// Kernel is a Linux Image, Image.gz or RISC-V ELF; empty with an empty
	// BIOS means popek's embedded default guest (kernel and initramfs).
	Kernel  string `json:"kernel,omitempty" yaml:"kernel,omitempty"`
	Initrd  string `json:"initrd,omitempty" yaml:"initrd,omitempty"`
	Cmdline string `json:"cmdline,omitempty" yaml:"cmdline,omitempty"`
	// BIOS is M-mode firmware; "none" runs Kernel (an ELF) in M-mode; empty
	// means popek itself is the SBI firmware.
	BIOS   string `json:"bios,omitempty" yaml:"bios,omitempty"`
	VCPUs  int    `json:"vcpus,omitempty" yaml:"vcpus,omitempty"`
	Memory Size   `json:"memory,omitempty" yaml:"memory,omitempty"`
	// MMU is the widest translation mode offered: sv39, sv48 or sv57.
	MMU string `json:"mmu,omitempty" yaml:"mmu,omitempty"`
	// RNG adds a virtio entropy device (default true).
	RNG *bool `json:"rng,omitempty" yaml:"rng,omitempty"`
	// MemMerge offers guest RAM to the host's same-page merging (KSM;
	// default true, as QEMU's mem-merge).
	MemMerge *bool `json:"mem_merge,omitempty" yaml:"mem_merge,omitempty"`
	// NoReboot stops the VM when the guest reboots instead of restarting it.
	NoReboot bool `json:"no_reboot,omitempty" yaml:"no_reboot,omitempty"`
	// Autostart starts the VM when the daemon starts.
	Autostart bool `json:"autostart,omitempty" yaml:"autostart,omitempty"`
	// Template, given at create, makes the VM a clone of the daemon's
	// template of that name: the machine, devices and disks come from it
	// (see Manager.Create), and the first start resumes the template's
	// guest instead of booting.
	Template string `json:"template,omitempty" yaml:"template,omitempty"`

	Drives []DriveConfig `json:"drives,omitempty" yaml:"drives,omitempty"`
	Nets   []NetConfig   `json:"nets,omitempty" yaml:"nets,omitempty"`
	Shares []ShareConfig `json:"shares,omitempty" yaml:"shares,omitempty"`
	// Vsock adds a virtio-vsock device (at most one per VM).
	Vsock *VsockConfig `json:"vsock,omitempty" yaml:"vsock,omitempty"`
	// Balloon adds a virtio memory balloon (see BalloonConfig).
	Balloon *BalloonConfig `json:"balloon,omitempty" yaml:"balloon,omitempty"`
	// VirtioConsole adds a virtio console (the guest's /dev/hvc1) on a
	// Unix socket the daemon listens on; it is the last virtio device.
	VirtioConsole *VirtioConsoleConfig `json:"virtio_console,omitempty" yaml:"virtio_console,omitempty"`

	// CPUWeight is the VM's share of contended host CPU relative to other
	// VMs (1..10000, default 100), as cgroup v2 cpu.weight.
	CPUWeight int `json:"cpu_weight,omitempty" yaml:"cpu_weight,omitempty"`
	// CPUCap limits each vCPU to this percentage of one host core (1..100;
	// 0 means no cap): cpu_cap 50 with 2 vCPUs allows one core in total.
	CPUCap int `json:"cpu_cap,omitempty" yaml:"cpu_cap,omitempty"`
}

// DriveConfig is one virtio disk. File is a raw image or a qcow2 image
// (detected by its magic, so there is no format field); qcow2 is only
// read, so it needs ReadOnly or an Overlay.
type DriveConfig struct {
	File     string `json:"file" yaml:"file"`
	ReadOnly bool   `json:"readonly,omitempty" yaml:"readonly,omitempty"`
	Serial   string `json:"serial,omitempty" yaml:"serial,omitempty"`
	// Overlay is a copy-on-write file over File; File is never written.
	Overlay   string           `json:"overlay,omitempty" yaml:"overlay,omitempty"`
	RateLimit *RateLimitConfig `json:"rate_limit,omitempty" yaml:"rate_limit,omitempty"`
}

// NetConfig is one virtio network interface: user-mode NAT ("user", the
// default) or a port on the daemon's virtual switch named Switch ("switch";
// a Switch alone implies it).
type NetConfig struct {
	Mode    string   `json:"mode,omitempty" yaml:"mode,omitempty"`
	Switch  string   `json:"switch,omitempty" yaml:"switch,omitempty"`
	HostFwd []string `json:"hostfwd,omitempty" yaml:"hostfwd,omitempty"` // user mode only
	// MAC defaults to one derived from the VM's name and the NIC's index.
	MAC       string           `json:"mac,omitempty" yaml:"mac,omitempty"`
	RateLimit *RateLimitConfig `json:"rate_limit,omitempty" yaml:"rate_limit,omitempty"`
}

// ShareConfig is a host directory exported to the guest, mounted by tag.
type ShareConfig struct {
	Path     string `json:"path" yaml:"path"`
	Tag      string `json:"tag,omitempty" yaml:"tag,omitempty"`
	ReadOnly bool   `json:"readonly,omitempty" yaml:"readonly,omitempty"`
}

// VsockConfig is the guest's vsock address and the host's Unix socket:
// the host connects to UDS and writes "CONNECT <port>\n"; guest
// connections to host port P go to UDS_P (Firecracker's scheme).
type VsockConfig struct {
	CID uint64 `json:"cid" yaml:"cid"` // 3..2^32-2
	UDS string `json:"uds" yaml:"uds"`
}

// VirtioConsoleConfig is the host side of the virtio console: a Unix
// socket one client at a time connects to (QEMU's chardev socket server).
type VirtioConsoleConfig struct {
	Socket string `json:"socket" yaml:"socket"`
}

// RateLimitConfig bounds a device's throughput with two token buckets, as
// Firecracker does: bytes per second and operations per second, each with a
// burst (bucket size; default one second's worth). Zero rates are no limit.
type RateLimitConfig struct {
	BytesPerSec Size   `json:"bytes_per_sec,omitempty" yaml:"bytes_per_sec,omitempty"`
	BytesBurst  Size   `json:"bytes_burst,omitempty" yaml:"bytes_burst,omitempty"`
	OpsPerSec   uint64 `json:"ops_per_sec,omitempty" yaml:"ops_per_sec,omitempty"`
	OpsBurst    uint64 `json:"ops_burst,omitempty" yaml:"ops_burst,omitempty"`
}

// Defaults and limits of a config document.
const (
	DefaultVCPUs     = 1
	DefaultMemory    = "256M"
	DefaultMMU       = "sv57"
	DefaultCPUWeight = 100
	MaxCPUWeight     = 10000
	maxNameLen       = 63
	maxSerialLen     = 20
)

// ParseConfig decodes a config document, YAML or JSON (a document whose
// first non-blank byte is '{' is read as JSON). Unknown fields, duplicate
// keys and trailing documents are errors. It does not validate.
func ParseConfig(doc []byte) (*Config, error) {
	var c Config
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 {
		return nil, errorf(KindInvalid, "config: empty document")
	}
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, errorf(KindInvalid, "config: %v", err)
		}
		if dec.More() {
			return nil, errorf(KindInvalid, "config: trailing data after the JSON document")
		}
		return &c, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, errorf(KindInvalid, "config: %s", oneLine(err.Error()))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errorf(KindInvalid, "config: want one YAML document, found more")
	}
	return &c, nil
}

// oneLine joins a multi-line library message ("yaml: unmarshal errors:\n  line 3: ...").
func oneLine(s string) string {
	fields := strings.Fields(strings.ReplaceAll(s, "\n", " "))
	return strings.Join(fields, " ")
}

// ApplyDefaults fills unset fields with their defaults.
func (c *Config) ApplyDefaults() {
	if c.VCPUs == 0 {
		c.VCPUs = DefaultVCPUs
	}
	if c.Memory == "" {
		c.Memory = DefaultMemory
	}
	if c.MMU == "" {
		c.MMU = DefaultMMU
	}
	if c.RNG == nil {
		on := true
		c.RNG = &on
	}
	if c.CPUWeight == 0 {
		c.CPUWeight = DefaultCPUWeight
	}
	for i := range c.Nets {
		if c.Nets[i].Mode == "" {
			c.Nets[i].Mode = "user"
			if c.Nets[i].Switch != "" {
				c.Nets[i].Mode = "switch"
			}
		}
	}
	for i := range c.Shares {
		if c.Shares[i].Tag == "" {
			c.Shares[i].Tag = "share"
		}
	}
}

// ResolvePaths makes relative paths absolute against dir (the directory of
// the document they were written in).
func (c *Config) ResolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && *p != "none" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Kernel)
	abs(&c.Initrd)
	abs(&c.BIOS)
	for i := range c.Drives {
		abs(&c.Drives[i].File)
		abs(&c.Drives[i].Overlay)
	}
	for i := range c.Shares {
		abs(&c.Shares[i].Path)
	}
	if c.Vsock != nil {
		abs(&c.Vsock.UDS)
	}
	if c.VirtioConsole != nil {
		abs(&c.VirtioConsole.Socket)
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ValidName checks a VM name: it names a file in the state directory and a
// URL path segment, so it is kept to a safe alphabet.
func ValidName(name string) error {
	if name == "" {
		return errorf(KindInvalid, "name: missing")
	}
	if len(name) > maxNameLen || !nameRE.MatchString(name) {
		return errorf(KindInvalid, "name %q: want 1..%d letters, digits, '.', '_' or '-', starting with a letter or digit", name, maxNameLen)
	}
	return nil
}

// MemoryBytes is the parsed memory size (a bare number means MiB).
func (c *Config) MemoryBytes() (uint64, error) {
	n, err := parseSize(string(c.Memory), 20)
	if err != nil {
		return 0, fmt.Errorf("memory: %v", err)
	}
	return n, nil
}

// Validate checks the document alone, after ApplyDefaults, and reports
// every problem found, one per line of the error.
func (c *Config) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := ValidName(c.Name); err != nil {
		add("%v", err)
	}
	if c.Template != "" {
		if err := ValidName(c.Template); err != nil {
			add("template: %v", err)
		}
	}
	if c.VCPUs < 1 || c.VCPUs > board.MaxHarts {
		add("vcpus: %d is out of range 1..%d", c.VCPUs, board.MaxHarts)
	}
	if n, err := c.MemoryBytes(); err != nil {
		add("%v", err)
	} else if n < board.MinMemSize {
		add("memory: %q is too small: want at least %dM", c.Memory, board.MinMemSize>>20)
	} else if n > 1<<40 {
		add("memory: %q is larger than 1T", c.Memory)
	} else if n%4096 != 0 {
		add("memory: %q is not a multiple of 4K", c.Memory)
	}
	switch c.MMU {
	case "sv39", "sv48", "sv57":
	default:
		add("mmu: %q: want sv39, sv48 or sv57", c.MMU)
	}
	checkPath := func(field, p string) {
		if p != "" && !filepath.IsAbs(p) {
			add("%s: path %q must be absolute", field, p)
		}
	}
	checkPath("kernel", c.Kernel)
	checkPath("initrd", c.Initrd)
	if c.BIOS != "none" {
		checkPath("bios", c.BIOS)
	}
	if c.BIOS == "none" && c.Kernel == "" {
		add("bios: none needs a kernel (an ELF to run in M-mode)")
	}
	if c.Initrd != "" && c.Kernel == "" && c.BIOS != "" {
		add("initrd: needs a kernel")
	}
	if c.CPUWeight < 1 || c.CPUWeight > MaxCPUWeight {
		add("cpu_weight: %d is out of range 1..%d", c.CPUWeight, MaxCPUWeight)
	}
	if c.CPUCap < 0 || c.CPUCap > 100 {
		add("cpu_cap: %d is out of range 0..100 (percent of one host core per vCPU; 0 = no cap)", c.CPUCap)
	}
	for i, d := range c.Drives {
		f := fmt.Sprintf("drives[%d]", i)
		if d.File == "" {
			add("%s: missing file", f)
		}
		checkPath(f+".file", d.File)
		checkPath(f+".overlay", d.Overlay)
		if len(d.Serial) > maxSerialLen {
			add("%s.serial: %q is longer than %d bytes", f, d.Serial, maxSerialLen)
		}
		if err := d.RateLimit.validate(); err != nil {
			add("%s.rate_limit: %v", f, err)
		}
	}
	for i, n := range c.Nets {
		f := fmt.Sprintf("nets[%d]", i)
		switch n.Mode {
		case "user":
			if n.Switch != "" {
				add("%s.switch: needs mode switch, not user", f)
			}
		case "switch":
			if n.Switch == "" {
				add("%s.switch: missing the switch's name", f)
			}
			if len(n.HostFwd) > 0 {
				add("%s.hostfwd: needs mode user (a switch has no host side)", f)
			}
		default:
			add("%s.mode: %q: want user or switch", f, n.Mode)
		}
		for _, fwd := range n.HostFwd {
			if err := checkHostFwd(fwd); err != nil {
				add("%s.hostfwd: %v", f, err)
			}
		}
		if n.MAC != "" {
			if hw, err := net.ParseMAC(n.MAC); err != nil || len(hw) != 6 {
				add("%s.mac: %q is not a MAC address like 52:54:00:12:34:56", f, n.MAC)
			} else if hw[0]&1 != 0 {
				add("%s.mac: %q is a multicast address", f, n.MAC)
			}
		}
		if err := n.RateLimit.validate(); err != nil {
			add("%s.rate_limit: %v", f, err)
		}
	}
	tags := map[string]bool{}
	for i, s := range c.Shares {
		f := fmt.Sprintf("shares[%d]", i)
		if s.Path == "" {
			add("%s: missing path", f)
		}
		checkPath(f+".path", s.Path)
		if tags[s.Tag] {
			add("%s.tag: %q is used twice", f, s.Tag)
		}
		tags[s.Tag] = true
	}
	if v := c.Vsock; v != nil {
		if v.CID < 3 || v.CID >= 0xffffffff {
			add("vsock.cid: %d: want 3..%d (0-2 are reserved)", v.CID, uint32(0xfffffffe))
		}
		if v.UDS == "" {
			add("vsock.uds: missing the host's Unix socket path")
		}
		checkPath("vsock.uds", v.UDS)
	}
	if err := c.Balloon.validate(c); err != nil {
		add("balloon.size: %v", err)
	}
	if vc := c.VirtioConsole; vc != nil {
		if vc.Socket == "" {
			add("virtio_console.socket: missing the host's Unix socket path")
		}
		checkPath("virtio_console.socket", vc.Socket)
		if c.Vsock != nil && vc.Socket != "" && filepath.Clean(vc.Socket) == filepath.Clean(c.Vsock.UDS) {
			add("virtio_console.socket: %s is vsock.uds too: give each its own path", vc.Socket)
		}
	}
	if n := c.virtioCount(); n > board.VirtioSlots {
		add("%d virtio devices (drives, nets, shares, vsock, rng, balloon, virtio_console): the board has %d slots", n, board.VirtioSlots)
	}
	if len(errs) > 0 {
		return &Error{Kind: KindInvalid, Msg: strings.Join(errs, "; ")}
	}
	return nil
}

func (c *Config) virtioCount() int {
	n := len(c.Drives) + len(c.Nets) + len(c.Shares)
	if c.Vsock != nil {
		n++
	}
	if c.RNG == nil || *c.RNG {
		n++
	}
	if c.Balloon != nil {
		n++
	}
	if c.VirtioConsole != nil {
		n++
	}
	return n
}

// checkHostFwd accepts QEMU's tcp::HOSTPORT-:GUESTPORT (and udp, with
// optional addresses).
func checkHostFwd(s string) error {
	bad := fmt.Errorf("%q: want tcp::HOSTPORT-:GUESTPORT", s)
	proto, rest, ok := strings.Cut(s, ":")
	if !ok || (proto != "tcp" && proto != "udp") {
		return bad
	}
	host, guest, ok := strings.Cut(rest, "-")
	if !ok {
		return bad
	}
	for _, hp := range []string{host, guest} {
		i := strings.LastIndexByte(hp, ':')
		if i < 0 {
			return bad
		}
		if p, err := strconv.Atoi(hp[i+1:]); err != nil || p < 1 || p > 65535 {
			return bad
		}
	}
	return nil
}

// CheckHost checks what the document names on the host: files readable,
// share directories present. Create runs it so that a VM that cannot start
// is refused up front; Start runs it again.
func (c *Config) CheckHost() error {
	var errs []string
	file := func(field, p string) {
		if p == "" || p == "none" {
			return
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("%s: %v", field, err))
		case fi.IsDir():
			errs = append(errs, fmt.Sprintf("%s: %s is a directory", field, p))
		}
	}
	file("kernel", c.Kernel)
	file("initrd", c.Initrd)
	file("bios", c.BIOS)
	for i, d := range c.Drives {
		f := fmt.Sprintf("drives[%d].file", i)
		file(f, d.File)
		// qcow2 is detected by its magic (no format field) and only read.
		if d.File != "" && !d.ReadOnly && d.Overlay == "" {
			if format, err := virtio.DiskFormat(d.File); err == nil && format == "qcow2" {
				errs = append(errs, fmt.Sprintf("%s: %s is a qcow2 image, which popek only reads: set overlay: PATH (a copy-on-write file for the guest's writes) or readonly: true", f, d.File))
			}
		}
	}
	// Sockets the daemon will listen on: a path too long for sun_path or
	// in a missing directory would only fail when the VM starts.
	sock := func(field, p string) {
		if p == "" {
			return
		}
		if err := virtio.CheckSocketPath(p); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", field, err))
			return
		}
		if fi, err := os.Stat(filepath.Dir(p)); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", field, err))
		} else if !fi.IsDir() {
			errs = append(errs, fmt.Sprintf("%s: %s is not a directory", field, filepath.Dir(p)))
		}
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSocket == 0 {
			errs = append(errs, fmt.Sprintf("%s: %s exists and is not a socket", field, p))
		}
	}
	if c.Vsock != nil {
		sock("vsock.uds", c.Vsock.UDS)
	}
	if c.VirtioConsole != nil {
		sock("virtio_console.socket", c.VirtioConsole.Socket)
	}
	for i, s := range c.Shares {
		if fi, err := os.Stat(s.Path); err != nil {
			errs = append(errs, fmt.Sprintf("shares[%d].path: %v", i, err))
		} else if !fi.IsDir() {
			errs = append(errs, fmt.Sprintf("shares[%d].path: %s is not a directory", i, s.Path))
		}
	}
	if len(errs) > 0 {
		return &Error{Kind: KindInvalid, Msg: strings.Join(errs, "; ")}
	}
	return nil
}

// Clone returns a deep copy, so stored definitions never alias callers'.
func (c *Config) Clone() *Config {
	out := *c
	if c.RNG != nil {
		v := *c.RNG
		out.RNG = &v
	}
	if c.MemMerge != nil {
		v := *c.MemMerge
		out.MemMerge = &v
	}
	out.Drives = append([]DriveConfig(nil), c.Drives...)
	for i := range out.Drives {
		out.Drives[i].RateLimit = out.Drives[i].RateLimit.clone()
	}
	out.Nets = append([]NetConfig(nil), c.Nets...)
	for i := range out.Nets {
		out.Nets[i].HostFwd = append([]string(nil), out.Nets[i].HostFwd...)
		out.Nets[i].RateLimit = out.Nets[i].RateLimit.clone()
	}
	out.Shares = append([]ShareConfig(nil), c.Shares...)
	if c.Vsock != nil {
		v := *c.Vsock
		out.Vsock = &v
	}
	if c.Balloon != nil {
		v := *c.Balloon
		out.Balloon = &v
	}
	if c.VirtioConsole != nil {
		v := *c.VirtioConsole
		out.VirtioConsole = &v
	}
	return &out
}

func (r *RateLimitConfig) clone() *RateLimitConfig {
	if r == nil {
		return nil
	}
	v := *r
	return &v
}
