package board

import "fmt"

// treeConfig is everything the device tree describes. It is derived from the
// machine's Config so the guest sees exactly the hardware that exists.
type treeConfig struct {
	harts    int
	memBase  uint64
	memSize  uint64
	isa      string
	mmuType  string // "riscv,sv39", "riscv,sv48" or "riscv,sv57"
	bootargs string
	// initrdStart/End are zero when there is no initrd.
	initrdStart, initrdEnd uint64
	virtioSlots            int // slots 0..virtioSlots-1 are populated
	rngSeed                []byte
}

// phandles are allocated densely in a fixed order so trees are reproducible.
type phandles struct {
	cpu, intc []uint32
	plic      uint32
	test      uint32
}

func allocPhandles(harts int) phandles {
	var p phandles
	next := uint32(1)
	for i := 0; i < harts; i++ {
		p.cpu = append(p.cpu, next)
		p.intc = append(p.intc, next+1)
		next += 2
	}
	p.plic, p.test = next, next+1
	return p
}

// buildDeviceTree renders the virt machine's device tree blob.
func buildDeviceTree(c treeConfig) ([]byte, error) {
	if c.harts < 1 || c.harts > MaxHarts {
		return nil, fmt.Errorf("device tree: %d harts (want 1..%d)", c.harts, MaxHarts)
	}
	ph := allocPhandles(c.harts)
	b := NewFDTBuilder()
	b.BeginNode("")
	b.PropU32("#address-cells", 2)
	b.PropU32("#size-cells", 2)
	b.PropString("compatible", "riscv-virtio")
	b.PropString("model", "riscv-virtio,popek")

	b.BeginNode("chosen")
	if c.bootargs != "" {
		b.PropString("bootargs", c.bootargs)
	}
	b.PropString("stdout-path", fmt.Sprintf("/soc/serial@%x", UARTBase))
	if c.initrdEnd > c.initrdStart {
		b.PropU64("linux,initrd-start", c.initrdStart)
		b.PropU64("linux,initrd-end", c.initrdEnd)
	}
	if len(c.rngSeed) > 0 {
		b.Prop("rng-seed", c.rngSeed)
	}
	b.EndNode()

	b.BeginNode(fmt.Sprintf("memory@%x", c.memBase))
	b.PropString("device_type", "memory")
	b.PropU64("reg", c.memBase, c.memSize)
	b.EndNode()

	writeCPUs(b, c, ph)

	b.BeginNode("poweroff")
	b.PropString("compatible", "syscon-poweroff")
	b.PropU32("regmap", ph.test)
	b.PropU32("offset", 0)
	b.PropU32("value", testPoweroff)
	b.EndNode()
	b.BeginNode("reboot")
	b.PropString("compatible", "syscon-reboot")
	b.PropU32("regmap", ph.test)
	b.PropU32("offset", 0)
	b.PropU32("value", testReset)
	b.EndNode()

	writeSoC(b, c, ph)
	b.EndNode()
	return b.Finish(0)
}

// SiFive test device commands the syscon nodes write.
const (
	testPoweroff = 0x5555
	testReset    = 0x7777
)

func writeCPUs(b *FDTBuilder, c treeConfig, ph phandles) {
	b.BeginNode("cpus")
	b.PropU32("#address-cells", 1)
	b.PropU32("#size-cells", 0)
	b.PropU32("timebase-frequency", TimebaseFreq)
	for i := 0; i < c.harts; i++ {
		b.BeginNode(fmt.Sprintf("cpu@%x", i))
		b.PropString("device_type", "cpu")
		b.PropU32("reg", uint32(i))
		b.PropString("status", "okay")
		b.PropString("compatible", "riscv")
		b.PropString("riscv,isa", c.isa)
		b.PropString("mmu-type", c.mmuType)
		b.PropU32("phandle", ph.cpu[i])
		b.BeginNode("interrupt-controller")
		b.PropU32("#address-cells", 0)
		b.PropU32("#interrupt-cells", 1)
		b.PropEmpty("interrupt-controller")
		b.PropString("compatible", "riscv,cpu-intc")
		b.PropU32("phandle", ph.intc[i])
		b.EndNode()
		b.EndNode()
	}
	b.BeginNode("cpu-map")
	b.BeginNode("cluster0")
	for i := 0; i < c.harts; i++ {
		b.BeginNode(fmt.Sprintf("core%d", i))
		b.PropU32("cpu", ph.cpu[i])
		b.EndNode()
	}
	b.EndNode()
	b.EndNode()
	b.EndNode()
}

// Local interrupt numbers on each hart's intc.
const (
	intcMSoft  = 3
	intcMTimer = 7
	intcSExt   = 9
	intcMExt   = 11
)

func writeSoC(b *FDTBuilder, c treeConfig, ph phandles) {
	b.BeginNode("soc")
	b.PropU32("#address-cells", 2)
	b.PropU32("#size-cells", 2)
	b.PropString("compatible", "simple-bus")
	b.PropEmpty("ranges")

	var clintIRQs, plicIRQs []uint32
	for i := 0; i < c.harts; i++ {
		clintIRQs = append(clintIRQs, ph.intc[i], intcMSoft, ph.intc[i], intcMTimer)
		plicIRQs = append(plicIRQs, ph.intc[i], intcMExt, ph.intc[i], intcSExt)
	}
	b.BeginNode(fmt.Sprintf("clint@%x", CLINTBase))
	b.PropStrings("compatible", "sifive,clint0", "riscv,clint0")
	b.PropU64("reg", CLINTBase, CLINTSize)
	b.PropU32("interrupts-extended", clintIRQs...)
	b.EndNode()

	b.BeginNode(fmt.Sprintf("plic@%x", PLICBase))
	b.PropStrings("compatible", "sifive,plic-1.0.0", "riscv,plic0")
	b.PropU32("#address-cells", 0)
	b.PropU32("#interrupt-cells", 1)
	b.PropEmpty("interrupt-controller")
	b.PropU64("reg", PLICBase, PLICRegSize)
	b.PropU32("riscv,ndev", PLICSources)
	b.PropU32("interrupts-extended", plicIRQs...)
	b.PropU32("phandle", ph.plic)
	b.EndNode()

	device := func(name string, base, size uint64, irq uint32, compatible ...string) {
		b.BeginNode(fmt.Sprintf("%s@%x", name, base))
		b.PropStrings("compatible", compatible...)
		b.PropU64("reg", base, size)
		b.PropU32("interrupt-parent", ph.plic)
		b.PropU32("interrupts", irq)
	}
	device("serial", UARTBase, UARTSize, IRQUART, "ns16550a")
	b.PropU32("clock-frequency", UARTClockFreq)
	b.EndNode()
	device("rtc", RTCBase, RTCSize, IRQRTC, "google,goldfish-rtc")
	b.EndNode()
	for i := 0; i < c.virtioSlots; i++ {
		device("virtio_mmio", VirtioSlotBase(i), VirtioStride, uint32(IRQVirtioBase+i), "virtio,mmio")
		b.EndNode()
	}

	b.BeginNode(fmt.Sprintf("test@%x", TestBase))
	b.PropStrings("compatible", "sifive,test1", "sifive,test0", "syscon")
	b.PropU64("reg", TestBase, TestSize)
	b.PropU32("phandle", ph.test)
	b.EndNode()

	b.EndNode()
}
