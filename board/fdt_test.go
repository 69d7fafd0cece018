package board

import (
	"bytes"
	"encoding/binary"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func testTree(harts int) treeConfig {
	return treeConfig{
		harts: harts, memBase: DRAMBase, memSize: 256 << 20,
		isa: "rv64imafdc_zicsr_zifencei", mmuType: "riscv,sv57",
		bootargs: "console=ttyS0", initrdStart: 0x8f000000, initrdEnd: 0x8f100000,
		virtioSlots: 3, rngSeed: []byte{1, 2, 3, 4},
	}
}

func mustTree(t *testing.T, c treeConfig) *FDTNode {
	t.Helper()
	blob, err := buildDeviceTree(c)
	if err != nil {
		t.Fatal(err)
	}
	root, err := ParseFDT(blob)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func u64s(cells []uint32) []uint64 {
	var out []uint64
	for i := 0; i+1 < len(cells); i += 2 {
		out = append(out, uint64(cells[i])<<32|uint64(cells[i+1]))
	}
	return out
}

func TestDeviceTreeProperties(t *testing.T) {
	root := mustTree(t, testTree(2))
	str := func(path, prop string) string {
		n := root.Find(path)
		if n == nil {
			t.Fatalf("node %s missing", path)
		}
		return strings.Join(n.Strings(prop), ",")
	}
	cells := func(path, prop string) []uint32 {
		n := root.Find(path)
		if n == nil {
			t.Fatalf("node %s missing", path)
		}
		return n.U32s(prop)
	}
	strTests := []struct{ path, prop, want string }{
		{"/", "compatible", "riscv-virtio"},
		{"/chosen", "bootargs", "console=ttyS0"},
		{"/chosen", "stdout-path", "/soc/serial@10000000"},
		{"/memory@80000000", "device_type", "memory"},
		{"/cpus/cpu@0", "riscv,isa", "rv64imafdc_zicsr_zifencei"},
		{"/cpus/cpu@1", "mmu-type", "riscv,sv57"},
		{"/cpus/cpu@1", "compatible", "riscv"},
		{"/cpus/cpu@1/interrupt-controller", "compatible", "riscv,cpu-intc"},
		{"/soc/clint@2000000", "compatible", "sifive,clint0,riscv,clint0"},
		{"/soc/plic@c000000", "compatible", "sifive,plic-1.0.0,riscv,plic0"},
		{"/soc/serial@10000000", "compatible", "ns16550a"},
		{"/soc/rtc@101000", "compatible", "google,goldfish-rtc"},
		{"/soc/test@100000", "compatible", "sifive,test1,sifive,test0,syscon"},
		{"/soc/virtio_mmio@10003000", "compatible", "virtio,mmio"},
		{"/poweroff", "compatible", "syscon-poweroff"},
		{"/reboot", "compatible", "syscon-reboot"},
	}
	for _, tc := range strTests {
		if got := str(tc.path, tc.prop); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.path, tc.prop, got, tc.want)
		}
	}
	intc0 := cells("/cpus/cpu@0/interrupt-controller", "phandle")[0]
	intc1 := cells("/cpus/cpu@1/interrupt-controller", "phandle")[0]
	plic := cells("/soc/plic@c000000", "phandle")[0]
	test := cells("/soc/test@100000", "phandle")[0]
	cellTests := []struct {
		path, prop string
		want       []uint32
	}{
		{"/cpus", "timebase-frequency", []uint32{10000000}},
		{"/cpus/cpu@1", "reg", []uint32{1}},
		{"/cpus/cpu@0/interrupt-controller", "#interrupt-cells", []uint32{1}},
		{"/cpus/cpu-map/cluster0/core1", "cpu", cells("/cpus/cpu@1", "phandle")},
		{"/memory@80000000", "reg", []uint32{0, 0x80000000, 0, 0x10000000}},
		{"/soc/plic@c000000", "riscv,ndev", []uint32{95}},
		{"/soc/plic@c000000", "interrupts-extended", []uint32{intc0, 11, intc0, 9, intc1, 11, intc1, 9}},
		{"/soc/clint@2000000", "interrupts-extended", []uint32{intc0, 3, intc0, 7, intc1, 3, intc1, 7}},
		{"/soc/clint@2000000", "reg", []uint32{0, 0x2000000, 0, 0x10000}},
		{"/soc/serial@10000000", "interrupts", []uint32{10}},
		{"/soc/serial@10000000", "interrupt-parent", []uint32{plic}},
		{"/soc/serial@10000000", "clock-frequency", []uint32{3686400}},
		{"/soc/rtc@101000", "interrupts", []uint32{11}},
		{"/soc/virtio_mmio@10001000", "interrupts", []uint32{1}},
		{"/soc/virtio_mmio@10003000", "interrupts", []uint32{3}},
		{"/soc/virtio_mmio@10003000", "reg", []uint32{0, 0x10003000, 0, 0x1000}},
		{"/poweroff", "regmap", []uint32{test}},
		{"/poweroff", "value", []uint32{0x5555}},
		{"/reboot", "value", []uint32{0x7777}},
	}
	for _, tc := range cellTests {
		if got := cells(tc.path, tc.prop); !slices.Equal(got, tc.want) {
			t.Errorf("%s %s = %#x, want %#x", tc.path, tc.prop, got, tc.want)
		}
	}
	if got := u64s(cells("/chosen", "linux,initrd-start")); !slices.Equal(got, []uint64{0x8f000000}) {
		t.Errorf("initrd-start = %#x", got)
	}
	if got := u64s(cells("/chosen", "linux,initrd-end")); !slices.Equal(got, []uint64{0x8f100000}) {
		t.Errorf("initrd-end = %#x", got)
	}
	if root.Find("/soc/virtio_mmio@10004000") != nil {
		t.Error("unpopulated virtio slot 3 is listed")
	}
	if _, ok := root.Find("/soc/plic@c000000").Prop("interrupt-controller"); !ok {
		t.Error("plic lacks interrupt-controller")
	}
}

func TestDeviceTreeHartCounts(t *testing.T) {
	for _, harts := range []int{1, 4, 32} {
		root := mustTree(t, testTree(harts))
		cpus := 0
		for _, c := range root.Find("/cpus").Children {
			if strings.HasPrefix(c.Name, "cpu@") {
				cpus++
			}
		}
		if cpus != harts {
			t.Errorf("%d harts: %d cpu nodes", harts, cpus)
		}
		if got := len(root.Find("/soc/plic@c000000").U32s("interrupts-extended")); got != 4*harts {
			t.Errorf("%d harts: plic interrupts-extended has %d cells", harts, got)
		}
	}
	for _, bad := range []int{0, 33} {
		if _, err := buildDeviceTree(testTree(bad)); err == nil {
			t.Errorf("%d harts accepted", bad)
		}
	}
}

func TestDeviceTreeOptionalProps(t *testing.T) {
	c := testTree(1)
	c.initrdStart, c.initrdEnd, c.bootargs, c.rngSeed = 0, 0, "", nil
	chosen := mustTree(t, c).Find("/chosen")
	for _, p := range []string{"linux,initrd-start", "linux,initrd-end", "bootargs", "rng-seed"} {
		if _, ok := chosen.Prop(p); ok {
			t.Errorf("/chosen has %s without a value for it", p)
		}
	}
}

// TestDeviceTreeDTC cross-checks the blob with the reference compiler.
func TestDeviceTreeDTC(t *testing.T) {
	if _, err := exec.LookPath("dtc"); err != nil {
		t.Skip("dtc not installed")
	}
	blob, err := buildDeviceTree(testTree(2))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dtc", "-I", "dtb", "-O", "dts", "-")
	cmd.Stdin = bytes.NewReader(blob)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dtc: %v: %s", err, stderr.String())
	}
	for _, want := range []string{`riscv,isa = "rv64imafdc_zicsr_zifencei";`, `compatible = "ns16550a";`, `bootargs = "console=ttyS0";`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dtc output lacks %s", want)
		}
	}
	if w := stderr.String(); strings.Contains(w, "Warning") {
		t.Errorf("dtc warnings:\n%s", w)
	}
}

func TestFDTBuilderErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *FDTBuilder)
	}{
		{"empty", func(b *FDTBuilder) {}},
		{"unclosed", func(b *FDTBuilder) { b.BeginNode("") }},
		{"extra end", func(b *FDTBuilder) { b.BeginNode(""); b.EndNode(); b.EndNode() }},
		{"prop outside node", func(b *FDTBuilder) { b.PropU32("x", 1) }},
		{"two roots", func(b *FDTBuilder) { b.BeginNode(""); b.EndNode(); b.BeginNode(""); b.EndNode() }},
	}
	for _, tc := range tests {
		b := NewFDTBuilder()
		tc.build(b)
		if _, err := b.Finish(0); err == nil {
			t.Errorf("%s: Finish succeeded", tc.name)
		}
	}
}

func TestParseFDTRejectsCorruptBlobs(t *testing.T) {
	good, err := buildDeviceTree(testTree(1))
	if err != nil {
		t.Fatal(err)
	}
	set32 := func(off int, v uint32) []byte {
		b := slices.Clone(good)
		binary.BigEndian.PutUint32(b[off:], v)
		return b
	}
	structOff := int(binary.BigEndian.Uint32(good[8:]))
	tests := []struct {
		name string
		blob []byte
	}{
		{"short", good[:20]},
		{"bad magic", set32(0, 0x12345678)},
		{"totalsize too big", set32(4, uint32(len(good)+1))},
		{"struct offset past end", set32(8, 0xfffffff0)},
		{"strings size huge", set32(32, 0xffffffff)},
		{"bad first token", set32(structOff, fdtProp)},
		{"truncated struct", set32(36, 8)},
		{"bogus token", set32(structOff+8, 0x77)},
	}
	for _, tc := range tests {
		if _, err := ParseFDT(tc.blob); err == nil {
			t.Errorf("%s: parsed without error", tc.name)
		}
	}
	// Every truncation of a valid blob must fail cleanly, never panic.
	for n := 0; n < len(good); n += 7 {
		b := slices.Clone(good[:n])
		if len(b) >= 8 {
			binary.BigEndian.PutUint32(b[4:], uint32(n))
		}
		ParseFDT(b)
	}
}
