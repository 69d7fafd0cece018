package vmm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in        string
		bareShift int
		want      uint64
		err       bool
	}{
		{"256M", 20, 256 << 20, false},
		{"256", 20, 256 << 20, false},
		{"256", 0, 256, false},
		{"1G", 20, 1 << 30, false},
		{"2GiB", 20, 2 << 30, false},
		{"512kb", 20, 512 << 10, false},
		{" 64 M ", 20, 64 << 20, false},
		{"1T", 0, 1 << 40, false},
		{"", 20, 0, true},
		{"M", 20, 0, true},
		{"-1M", 20, 0, true},
		{"1.5G", 20, 0, true},
		{"12X", 20, 0, true},
		{"99999999999999T", 0, 0, true},
	}
	for _, c := range cases {
		got, err := parseSize(c.in, c.bareShift)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("parseSize(%q, %d) = %d, %v; want %d, error %v", c.in, c.bareShift, got, err, c.want, c.err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[uint64]string{256 << 20: "256M", 1 << 30: "1G", 1536: "1536", 3 << 10: "3K", 0: "0"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseConfigFormats(t *testing.T) {
	cases := []struct {
		name, doc string
		want      Config
	}{
		{"yaml", "name: a\nvcpus: 2\nmemory: 512M\ncpu_weight: 300\ncpu_cap: 50\n",
			Config{Name: "a", VCPUs: 2, Memory: "512M", CPUWeight: 300, CPUCap: 50}},
		{"yaml bare memory number", "name: a\nmemory: 128\n", Config{Name: "a", Memory: "128"}},
		{"json", `{"name": "b", "memory": "64M", "vcpus": 1}`, Config{Name: "b", Memory: "64M", VCPUs: 1}},
		{"json numeric memory", `{"name": "b", "memory": 64}`, Config{Name: "b", Memory: "64"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != c.want.Name || got.VCPUs != c.want.VCPUs || got.Memory != c.want.Memory ||
				got.CPUWeight != c.want.CPUWeight || got.CPUCap != c.want.CPUCap {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseConfigDrivesAndLimits(t *testing.T) {
	doc := `
name: disks
drives:
  - file: /srv/a.img
    readonly: true
    serial: disk-a
    rate_limit:
      bytes_per_sec: 10M
      ops_per_sec: 500
nets:
  - hostfwd: ["tcp::2222-:22"]
shares:
  - path: /srv/share
`
	c, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	d := c.Drives[0]
	if d.File != "/srv/a.img" || !d.ReadOnly || d.Serial != "disk-a" || d.RateLimit == nil {
		t.Fatalf("drive %+v", d)
	}
	l, err := d.RateLimit.limit()
	if err != nil || l.BytesPerSec != 10<<20 || l.OpsPerSec != 500 {
		t.Fatalf("limit %+v, %v", l, err)
	}
	if c.Nets[0].Mode != "user" || c.Shares[0].Tag != "share" {
		t.Fatalf("defaults not applied: %+v %+v", c.Nets[0], c.Shares[0])
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"unknown yaml field", "name: a\nvcpu: 2\n", "field vcpu not found"},
		{"unknown json field", `{"name": "a", "cpus": 2}`, `unknown field "cpus"`},
		{"unknown nested field", "name: a\ndrives:\n  - file: /x\n    size: 1G\n", "field size not found"},
		{"duplicate key", "name: a\nname: b\n", "already defined"},
		{"two documents", "name: a\n---\nname: b\n", "one YAML document"},
		{"trailing json", `{"name": "a"} {"name": "b"}`, "trailing data"},
		{"empty", "  \n", "empty document"},
		{"wrong type", "name: a\nvcpus: many\n", "cannot unmarshal"},
		{"memory not scalar", "name: a\nmemory: [1]\n", "want a size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if KindOf(err) != KindInvalid {
				t.Fatalf("kind %v, want KindInvalid", KindOf(err))
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Config { c := &Config{Name: "ok"}; c.ApplyDefaults(); return c }
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // "" = valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"missing name", func(c *Config) { c.Name = "" }, "name: missing"},
		{"bad name", func(c *Config) { c.Name = "../etc" }, `name "../etc"`},
		{"long name", func(c *Config) { c.Name = strings.Repeat("a", 64) }, "1..63"},
		{"vcpus zero", func(c *Config) { c.VCPUs = -1 }, "vcpus: -1 is out of range 1..32"},
		{"vcpus too many", func(c *Config) { c.VCPUs = 33 }, "vcpus: 33 is out of range"},
		{"bad memory", func(c *Config) { c.Memory = "lots" }, `memory: bad size "lots"`},
		{"tiny memory", func(c *Config) { c.Memory = "1M" }, "too small"},
		{"huge memory", func(c *Config) { c.Memory = "2T" }, "larger than 1T"},
		{"odd memory", func(c *Config) { c.Memory = "4097K" }, "multiple of 4K"},
		{"mmu", func(c *Config) { c.MMU = "sv32" }, `mmu: "sv32"`},
		{"relative kernel", func(c *Config) { c.Kernel = "Image" }, "must be absolute"},
		{"bios none without kernel", func(c *Config) { c.BIOS = "none" }, "needs a kernel"},
		{"weight", func(c *Config) { c.CPUWeight = 10001 }, "cpu_weight: 10001"},
		{"cap", func(c *Config) { c.CPUCap = 150 }, "cpu_cap: 150"},
		{"drive without file", func(c *Config) { c.Drives = []DriveConfig{{}} }, "drives[0]: missing file"},
		{"long serial", func(c *Config) { c.Drives = []DriveConfig{{File: "/x", Serial: strings.Repeat("s", 21)}} }, "longer than 20"},
		{"bad rate", func(c *Config) {
			c.Drives = []DriveConfig{{File: "/x", RateLimit: &RateLimitConfig{BytesPerSec: "fast"}}}
		}, "drives[0].rate_limit: bytes_per_sec"},
		{"burst without rate", func(c *Config) {
			c.Drives = []DriveConfig{{File: "/x", RateLimit: &RateLimitConfig{OpsBurst: 5}}}
		}, "ops_burst without ops_per_sec"},
		{"net mode", func(c *Config) { c.Nets = []NetConfig{{Mode: "tap"}} }, `nets[0].mode: "tap"`},
		{"hostfwd", func(c *Config) { c.Nets = []NetConfig{{Mode: "user", HostFwd: []string{"tcp:22"}}} }, "hostfwd"},
		{"mac", func(c *Config) { c.Nets = []NetConfig{{Mode: "user", MAC: "52:54"}} }, "not a MAC"},
		{"multicast mac", func(c *Config) { c.Nets = []NetConfig{{Mode: "user", MAC: "01:00:5e:00:00:01"}} }, "multicast"},
		{"switch ok", func(c *Config) { c.Nets = []NetConfig{{Mode: "switch", Switch: "lan"}} }, ""},
		{"switch without name", func(c *Config) { c.Nets = []NetConfig{{Mode: "switch"}} }, "nets[0].switch: missing"},
		{"switch in user mode", func(c *Config) { c.Nets = []NetConfig{{Mode: "user", Switch: "lan"}} }, "needs mode switch"},
		{"hostfwd on a switch", func(c *Config) {
			c.Nets = []NetConfig{{Mode: "switch", Switch: "lan", HostFwd: []string{"tcp::2222-:22"}}}
		}, "hostfwd: needs mode user"},
		{"vsock ok", func(c *Config) { c.Vsock = &VsockConfig{CID: 3, UDS: "/run/v.sock"} }, ""},
		{"vsock reserved cid", func(c *Config) { c.Vsock = &VsockConfig{CID: 2, UDS: "/run/v.sock"} }, "vsock.cid: 2"},
		{"vsock without uds", func(c *Config) { c.Vsock = &VsockConfig{CID: 3} }, "vsock.uds: missing"},
		{"vsock relative uds", func(c *Config) { c.Vsock = &VsockConfig{CID: 3, UDS: "v.sock"} }, "vsock.uds: path"},
		{"duplicate share tag", func(c *Config) {
			c.Shares = []ShareConfig{{Path: "/a", Tag: "t"}, {Path: "/b", Tag: "t"}}
		}, `"t" is used twice`},
		{"too many devices", func(c *Config) {
			for i := 0; i < 8; i++ {
				c.Drives = append(c.Drives, DriveConfig{File: "/x"})
			}
		}, "9 virtio devices"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.mutate(cfg)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if KindOf(err) != KindInvalid {
				t.Fatalf("kind %v", KindOf(err))
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := &Config{Name: "x", VCPUs: 99, Memory: "zz", MMU: "sv57", CPUWeight: 100}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "vcpus") || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("err = %v, want both vcpus and memory", err)
	}
}

func TestCheckHost(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "k")
	os.WriteFile(file, []byte("x"), 0o644)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"present", Config{Kernel: file}, ""},
		{"missing kernel", Config{Kernel: filepath.Join(dir, "none")}, "kernel: stat"},
		{"kernel is a dir", Config{Kernel: dir}, "is a directory"},
		{"missing drive", Config{Drives: []DriveConfig{{File: "/nonexistent/disk"}}}, "drives[0].file"},
		{"share not a dir", Config{Shares: []ShareConfig{{Path: file}}}, "not a directory"},
		{"vsock socket ok", Config{Vsock: &VsockConfig{CID: 3, UDS: filepath.Join(dir, "v.sock")}}, ""},
		{"vsock socket dir missing", Config{Vsock: &VsockConfig{CID: 3, UDS: filepath.Join(dir, "no", "v.sock")}}, "vsock.uds: stat"},
		{"vsock socket too long", Config{Vsock: &VsockConfig{CID: 3, UDS: filepath.Join(dir, strings.Repeat("s", 120))}}, "a Unix socket path can be at most"},
		{"console socket is a file", Config{VirtioConsole: &VirtioConsoleConfig{Socket: file}}, "virtio_console.socket: " + file + " exists and is not a socket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.CheckHost()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestResolvePathsAndClone(t *testing.T) {
	on := true
	c := &Config{Name: "r", Kernel: "img/Image", BIOS: "none", RNG: &on,
		Drives: []DriveConfig{{File: "d.img", RateLimit: &RateLimitConfig{OpsPerSec: 1}}},
		Nets:   []NetConfig{{HostFwd: []string{"tcp::1-:2"}}},
		Shares: []ShareConfig{{Path: "/abs"}}}
	c.ResolvePaths("/base")
	if c.Kernel != "/base/img/Image" || c.BIOS != "none" || c.Drives[0].File != "/base/d.img" || c.Shares[0].Path != "/abs" {
		t.Fatalf("resolved %+v", c)
	}
	d := c.Clone()
	*d.RNG = false
	d.Drives[0].RateLimit.OpsPerSec = 9
	d.Nets[0].HostFwd[0] = "changed"
	if !*c.RNG || c.Drives[0].RateLimit.OpsPerSec != 1 || c.Nets[0].HostFwd[0] != "tcp::1-:2" {
		t.Fatal("Clone shares memory with the original")
	}
}

// TestMemMergeConfig: mem_merge defaults to on and false reaches the board.
func TestMemMergeConfig(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		noMerge bool
	}{
		{"name: a\n", false},
		{"name: a\nmem_merge: true\n", false},
		{"name: a\nmem_merge: false\n", true},
	} {
		c, err := ParseConfig([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		c.ApplyDefaults()
		spec, err := newBootSpec(c, Backends{}, &defaultGuest{})
		if err != nil {
			t.Fatal(err)
		}
		if spec.board.NoMemMerge != tc.noMerge {
			t.Errorf("%q: NoMemMerge %v, want %v", tc.doc, spec.board.NoMemMerge, tc.noMerge)
		}
		if cl := c.Clone(); (cl.MemMerge == nil) != (c.MemMerge == nil) || (cl.MemMerge != nil && cl.MemMerge == c.MemMerge) {
			t.Errorf("%q: Clone does not deep-copy mem_merge", tc.doc)
		}
	}
}
