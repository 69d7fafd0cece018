package vmm

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// configSeeds are documents as users and the API write them.
var configSeeds = []string{
	"name: web1\nvcpus: 2\nmemory: 512M\n",
	"name: a\nmemory: 128\nmmu: sv39\nrng: false\nmem_merge: false\nno_reboot: true\nautostart: true\n",
	`
name: disks
kernel: /srv/Image
initrd: /srv/initrd.cpio.gz
cmdline: console=ttyS0 root=/dev/vda
bios: none
cpu_weight: 300
cpu_cap: 50
drives:
  - file: /srv/a.img
    readonly: true
    serial: disk-a
    rate_limit:
      bytes_per_sec: 10M
      bytes_burst: 1M
      ops_per_sec: 500
      ops_burst: 50
  - file: /srv/base.qcow2
    overlay: /srv/vm.ovl
nets:
  - hostfwd: ["tcp::2222-:22", "udp:127.0.0.1:5353-:53"]
    mac: "52:54:00:12:34:56"
  - switch: lan
    rate_limit:
      bytes_per_sec: 1G
shares:
  - path: /srv/share
    tag: data
    readonly: true
vsock:
  cid: 3
  uds: /run/vm.sock
`,
	"name: t\ntemplate: base-snap\n",
	`{"name": "b", "memory": "64M", "vcpus": 1}`,
	`{"name": "b", "memory": 64, "drives": [{"file": "/x.img", "rate_limit": {"ops_per_sec": 1}}], "vsock": {"cid": 4294967294, "uds": "/v"}}`,
	"name: a\nname: b\n",
	"name: a\n---\nname: b\n",
	"name: &x a\ntemplate: *x\n",
	"name: a\nmemory: [1]\n",
	"name: a\nvcpus: 99999999999999999999\n",
	`{"name": "a"} {"name": "b"}`,
	"name: a\nnets:\n  - mode: switch\n    hostfwd: [\"tcp::1-:2\"]\n",
	"name: c\nmemory: 128M\nballoon:\n  size: 32M\nvirtio_console:\n  socket: /run/c.sock\n",
	`{"name": "c", "balloon": {"size": 0}, "virtio_console": {"socket": "/run/c.sock"}, "vsock": {"cid": 3, "uds": "/run/c.sock"}}`,
}

// FuzzConfig parses config documents as the API and `popek create -f`
// do: no panic, one-line errors of kind invalid, and a document that
// validates survives re-encoding (JSON, as the daemon stores it, and YAML)
// and re-parsing unchanged.
func FuzzConfig(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s))
		f.Add([]byte(s[:len(s)/2]))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseConfig(doc)
		if err != nil {
			checkConfigError(t, "ParseConfig", err, doc)
			return
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			checkConfigError(t, "Validate", err, doc)
			return
		}
		want := canonicalConfig(t, c)
		if clone := canonicalConfig(t, c.Clone()); !bytes.Equal(clone, want) {
			t.Fatalf("Clone changed the config:\n%s\n%s", want, clone)
		}
		y, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("yaml.Marshal of a valid config: %v", err)
		}
		for _, enc := range [][]byte{want, y} {
			back, err := ParseConfig(enc)
			if err != nil {
				t.Fatalf("re-parsing %q: %v", enc, err)
			}
			back.ApplyDefaults()
			if err := back.Validate(); err != nil {
				t.Fatalf("re-parsed config %q no longer validates: %v", enc, err)
			}
			if got := canonicalConfig(t, back); !bytes.Equal(got, want) {
				t.Fatalf("round trip through %q changed the config:\n%s\n%s", enc, want, got)
			}
		}
	})
}

// canonicalConfig is the JSON the daemon's store writes for c.
func canonicalConfig(t *testing.T, c *Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal of a valid config: %v", err)
	}
	return b
}

// checkConfigError fails unless err is one line of kind invalid without a
// formatting mistake (a "%!" the document did not bring).
func checkConfigError(t *testing.T, op string, err error, doc []byte) {
	t.Helper()
	msg := err.Error()
	if KindOf(err) != KindInvalid {
		t.Fatalf("%s error %q is of kind %v, want invalid", op, msg, KindOf(err))
	}
	if msg == "" || strings.Contains(msg, "\n") || strings.Contains(msg, "%!") && !bytes.Contains(doc, []byte("%!")) {
		t.Fatalf("%s error %q is not one clear line", op, msg)
	}
}
