package board

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/popek-vm/popek/devices"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/riscv"
	"github.com/popek-vm/popek/sbi"
	"github.com/popek-vm/popek/vclock"
)

// ExitKind says why a machine stopped.
type ExitKind int

const (
	ExitPoweroff ExitKind = iota // guest powered off (SBI shutdown, syscon, test device pass)
	ExitReset                    // guest asked for a reboot
	ExitFail                     // test device failure: Code is the guest's exit code
	ExitToHost                   // HTIF tohost written: Code is value>>1, 0 = pass
	ExitCanceled                 // the Run context ended
	ExitError                    // the emulator failed (a recovered panic): see Run's error
)

func (k ExitKind) String() string {
	switch k {
	case ExitPoweroff:
		return "poweroff"
	case ExitReset:
		return "reset"
	case ExitFail:
		return "fail"
	case ExitToHost:
		return "tohost"
	case ExitCanceled:
		return "canceled"
	case ExitError:
		return "error"
	}
	return fmt.Sprintf("ExitKind(%d)", int(k))
}

// ExitStatus is how a machine's run ended.
type ExitStatus struct {
	Kind ExitKind
	Code int
}

func (s ExitStatus) String() string {
	if s.Code != 0 {
		return fmt.Sprintf("%v (code %d)", s.Kind, s.Code)
	}
	return s.Kind.String()
}

// Machine is one virt board: RAM, harts, devices and their run loops.
type Machine struct {
	cfg    Config
	ram    *mem.RAM
	clock  *vclock.Clock
	bus    Bus
	harts  []*riscv.Hart
	out    *syncWriter
	layout *layout

	uart   *devices.UART16550
	clint  *devices.CLINT
	plic   *devices.PLIC
	rtc    *devices.GoldfishRTC
	test   *devices.SiFiveTest
	virtio []*virtio.MMIO
	sbi    *sbi.SBI
	htif   htif

	console *Console

	// mu guards everything below; cond signals any change of it.
	mu       sync.Mutex
	cond     *sync.Cond
	slots    []hartSlot
	pauseReq bool
	active   int  // hart goroutines not parked
	started  bool // Run was called; a machine runs once
	closed   bool
	exit     *ExitStatus
	exitErr  error
	wg       sync.WaitGroup
}

// New builds a machine, loads its kernel, firmware, initrd and device tree
// into fresh RAM and leaves it ready to Run. Errors are one clear line.
func New(cfg Config) (m *Machine, err error) {
	// The machine owns the devices from here on, even when New fails.
	defer func() {
		if err != nil {
			if m != nil {
				m.Close()
			} else {
				for _, d := range cfg.Devices {
					d.Close()
				}
			}
		}
	}()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	firmware, kernel, err := parsePrograms(&cfg)
	if err != nil {
		return nil, err
	}
	ram, err := mem.New(DRAMBase, cfg.MemSize)
	if err != nil {
		return nil, err
	}
	if cfg.NoMemMerge {
		ram.SetMergeable(false)
	}
	m = &Machine{cfg: cfg, ram: ram, clock: vclock.New()}
	m.cond = sync.NewCond(&m.mu)
	m.out = &syncWriter{w: cfg.Console}
	if m.out.w == nil {
		m.out.w = io.Discard
	}
	mmu, _ := mmuType(cfg.MMU)
	tc := treeConfig{
		harts: cfg.Harts, memBase: DRAMBase, memSize: cfg.MemSize, isa: ISA, mmuType: mmu,
		bootargs: cfg.Cmdline, virtioSlots: len(cfg.Devices), rngSeed: cfg.RNGSeed,
	}
	m.layout, err = planLayout(DRAMBase, cfg.MemSize, firmware, kernel, cfg.Initrd, func(start, end uint64) ([]byte, error) {
		tc.initrdStart, tc.initrdEnd = start, end
		return buildDeviceTree(tc)
	})
	if err != nil {
		return m, err
	}
	if err := m.layout.load(ram); err != nil {
		return m, err
	}
	if err := m.buildDevices(); err != nil {
		return m, err
	}
	m.resetHarts()
	return m, nil
}

// parsePrograms decodes the firmware and kernel the boot mode needs.
func parsePrograms(cfg *Config) (firmware, kernel *program, err error) {
	if cfg.Boot == BootFirmware {
		if firmware, err = parseFirmware(cfg.Firmware); err != nil {
			return nil, nil, fmt.Errorf("firmware: %v", err)
		}
	}
	if len(cfg.Kernel) == 0 {
		return firmware, nil, nil
	}
	place := placeByHeader
	if cfg.Boot == BootFirmware {
		place = placeForFirmware
	}
	if kernel, err = parseKernel(cfg.Kernel, place, cfg.MemSize); err != nil {
		return nil, nil, fmt.Errorf("kernel: %v", err)
	}
	if cfg.Boot == BootBare && kernel.kind != "ELF" {
		return nil, nil, fmt.Errorf("kernel: --bios none needs an ELF kernel, got a Linux %s", kernel.kind)
	}
	return firmware, kernel, nil
}

// buildDevices creates the harts and devices and maps them on the bus.
func (m *Machine) buildDevices() error {
	n := m.cfg.Harts
	m.slots = make([]hartSlot, n)
	if m.cfg.Boot == BootDirect {
		m.sbi = sbi.New(sbi.Config{Platform: (*sbiPlatform)(m), RAM: m.ram})
	}
	targets := make([]devices.Hart, n)
	for i := 0; i < n; i++ {
		hc := riscv.Config{HartID: uint64(i), RAM: m.ram, Bus: &m.bus, Clock: m.clock}
		if m.sbi != nil {
			hc.SBI = &hartSBI{m: m, id: i, inner: m.sbi.ForHart(uint64(i))}
		}
		h := riscv.New(hc)
		m.harts = append(m.harts, h)
		targets[i] = h
	}
	m.clint = devices.NewCLINT(targets, m.clock)
	m.plic = devices.NewPLIC(targets, PLICSources+1)
	m.uart = devices.NewUART16550(m.plic.Source(IRQUART), m.out)
	m.rtc = devices.NewGoldfishRTC(m.plic.Source(IRQRTC))
	m.test = devices.NewSiFiveTest(m.testDeviceExit)
	m.console = &Console{m: m}

	entry := uint64(KernelBase)
	if k := m.layout.kernel; k != nil {
		entry = k.entry
		m.htif.toHost = k.toHost
	}
	fwEntry := uint64(DRAMBase)
	if f := m.layout.firmware; f != nil {
		fwEntry = f.entry
	}
	windows := []struct {
		name       string
		base, size uint64
		dev        devices.Device
	}{
		{"rom", ResetROMBase, ResetROMSize, resetROM(fwEntry, m.layout.fdtAddr, entry)},
		{"test", TestBase, TestSize, m.test},
		{"rtc", RTCBase, RTCSize, m.rtc},
		{"clint", CLINTBase, CLINTSize, m.clint},
		{"plic", PLICBase, PLICSize, m.plic},
		{"uart", UARTBase, UARTSize, m.uart},
	}
	for _, w := range windows {
		if err := m.bus.MapNamed(w.name, w.base, w.size, w.dev); err != nil {
			return err
		}
	}
	for i, d := range m.cfg.Devices {
		t := virtio.NewMMIO(d, m.ram, m.plic.Source(IRQVirtioBase+i))
		m.virtio = append(m.virtio, t)
		if err := m.bus.MapNamed(fmt.Sprintf("virtio%d-%s", i, virtioName(d.Type())), VirtioSlotBase(i), VirtioStride, t); err != nil {
			return err
		}
	}
	return nil
}

// resetHarts puts every hart at its boot entry with its HSM state.
func (m *Machine) resetHarts() {
	fdt := m.layout.fdtAddr
	for i, h := range m.harts {
		id := uint64(i)
		switch m.cfg.Boot {
		case BootDirect:
			if i == 0 {
				enterSupervisor(h, m.layout.kernel.entry, id, fdt)
				m.slots[i].state = sbi.HartStarted
			} else {
				h.Reset(0)
				m.slots[i].state = sbi.HartStopped
			}
		case BootFirmware:
			h.Reset(ResetROMBase)
			m.slots[i].state = sbi.HartStarted
		case BootBare:
			h.Reset(m.layout.kernel.entry)
			h.X[10], h.X[11] = id, fdt
			m.slots[i].state = sbi.HartStarted
		}
	}
}

// RAM returns the machine's guest memory.
func (m *Machine) RAM() *mem.RAM { return m.ram }

// Clock returns the machine's time base.
func (m *Machine) Clock() *vclock.Clock { return m.clock }

// Harts returns the machine's harts, indexed by hart ID.
func (m *Machine) Harts() []*riscv.Hart { return m.harts }

// FDT returns the device tree blob given to the guest and its address.
func (m *Machine) FDT() ([]byte, uint64) { return m.layout.fdt, m.layout.fdtAddr }

// Console returns the guest console: its Write feeds the UART receiver.
func (m *Machine) Console() *Console { return m.console }

// Close stops the machine if it runs and releases its RAM, devices and
// goroutines. Idempotent.
func (m *Machine) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.requestExitLocked(ExitStatus{Kind: ExitCanceled}, nil)
	m.mu.Unlock()
	m.wg.Wait() // no hart touches RAM after this
	var errs []error
	if len(m.virtio) < len(m.cfg.Devices) {
		// Devices that never got a transport are closed directly.
		for _, d := range m.cfg.Devices[len(m.virtio):] {
			errs = append(errs, d.Close())
		}
	}
	for _, v := range m.virtio {
		errs = append(errs, v.Close())
	}
	if m.rtc != nil {
		m.rtc.Close()
	}
	errs = append(errs, m.ram.Close())
	return errors.Join(errs...)
}

// syncWriter serialises console output from the UART and the SBI, which
// run on different hart goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
