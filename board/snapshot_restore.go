package board

import (
	"fmt"
	"io"
	"sync"

	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/sbi"
	"github.com/popek-vm/popek/vclock"
)

// RAMSource provides the guest RAM of a restored machine, already holding
// the memory of the snapshot (a copy-on-write mapping of a memory file, or
// pages copied in). It is called once, with the base and size the state
// needs. nil means fresh zeroed RAM.
type RAMSource func(base, size uint64) (*mem.RAM, error)

// Restore builds a machine of the shape recorded in st, with its RAM from
// ram, and restores every hart and device, leaving it ready to Run: the
// guest continues at the instruction where it was paused. Guest time starts
// running again from st.Clock now; call Pause before Run to keep it
// stopped until Resume.
//
// cfg supplies what the state cannot: the device models (fresh backends in
// slot order, of the same types and configuration as when saved), the
// console writer and the slice hook. Its Harts, MemSize and Boot, when set,
// must match the state; the rest of the shape comes from st. Kernel,
// Initrd and Firmware are not loaded (RAM already holds them) but are kept
// in Config for a later reboot from the same images. As with New, the
// machine owns cfg.Devices from the call on and closes them, with the RAM,
// when Restore fails: a failed restore leaves nothing behind.
func Restore(cfg Config, st *MachineState, ram RAMSource) (m *Machine, err error) {
	var r *mem.RAM
	defer func() {
		if err == nil {
			return
		}
		if m != nil {
			m.Close()
			m = nil
			return
		}
		for _, d := range cfg.Devices {
			d.Close()
		}
		if r != nil {
			r.Close()
		}
	}()
	if st == nil {
		return nil, fmt.Errorf("restore: no machine state")
	}
	if err := st.check(&cfg); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	cs := st.Config
	cfg.Harts, cfg.MemSize, cfg.Boot = cs.Harts, cs.MemSize, cs.Boot
	cfg.Cmdline, cfg.MMU, cfg.RNGSeed = cs.Cmdline, cs.MMU, append([]byte(nil), cs.RNGSeed...)
	if ram == nil {
		ram = mem.New
	}
	if r, err = ram(DRAMBase, cs.MemSize); err != nil {
		return nil, fmt.Errorf("restore: guest RAM: %w", err)
	}
	if cfg.NoMemMerge {
		r.SetMergeable(false)
	}
	if r.Base() != DRAMBase || r.Size() != cs.MemSize {
		return nil, fmt.Errorf("restore: RAM source gave %#x+%#x, want %#x+%#x", r.Base(), r.Size(), uint64(DRAMBase), cs.MemSize)
	}
	m = &Machine{cfg: cfg, ram: r, clock: vclock.New()}
	m.cond = sync.NewCond(&m.mu)
	m.out = &syncWriter{w: cfg.Console}
	if m.out.w == nil {
		m.out.w = io.Discard
	}
	b := st.Boot
	m.layout = &layout{fdt: append([]byte(nil), b.FDT...), fdtAddr: b.FDTAddr}
	if b.HasKernel {
		m.layout.kernel = &program{kind: "restored", entry: b.KernelEntry, toHost: b.ToHost}
	}
	if b.HasFirmware {
		m.layout.firmware = &program{kind: "restored", entry: b.FirmwareEntry}
	}
	if err := m.buildDevices(); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if err := m.restoreDevices(st); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	return m, nil
}

// restoreDevices loads the state into the freshly built harts and devices.
// Interrupt controllers come after the harts, whose lines they re-drive,
// and virtio transports after the PLIC and RAM, which they check against.
func (m *Machine) restoreDevices(st *MachineState) error {
	m.clock.Set(st.Clock)
	for i, h := range m.harts {
		if err := h.SetState(st.Harts[i]); err != nil {
			return fmt.Errorf("hart %d: %w", i, err)
		}
	}
	if err := m.plic.RestoreState(st.PLIC); err != nil {
		return fmt.Errorf("PLIC: %w", err)
	}
	if err := m.clint.RestoreState(st.CLINT); err != nil {
		return fmt.Errorf("CLINT: %w", err)
	}
	if err := m.uart.RestoreState(st.UART); err != nil {
		return fmt.Errorf("UART: %w", err)
	}
	if err := m.rtc.RestoreState(st.RTC); err != nil {
		return fmt.Errorf("RTC: %w", err)
	}
	if err := m.test.RestoreState(st.Test); err != nil {
		return fmt.Errorf("test device: %w", err)
	}
	for i, v := range m.virtio {
		if err := v.RestoreState(st.Virtio[i]); err != nil {
			return fmt.Errorf("virtio slot %d: %w", i, err)
		}
	}
	for i, s := range st.HSM {
		m.slots[i] = hartSlot{state: s.State, entry: s.Entry, arg: s.Arg, suspend: s.Suspend}
	}
	return nil
}

// check validates the state's shape before anything is built, so bad
// states fail with a clear message instead of deep inside a device.
func (st *MachineState) check(cfg *Config) error {
	if st.Version != MachineStateVersion {
		return fmt.Errorf("machine state version %d, this popek reads version %d", st.Version, MachineStateVersion)
	}
	cs := st.Config
	probe := Config{Harts: cs.Harts, MemSize: cs.MemSize, Boot: BootFirmware, Firmware: []byte{0}, MMU: cs.MMU}
	if err := probe.validate(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	switch cs.Boot {
	case BootDirect, BootFirmware, BootBare:
	default:
		return fmt.Errorf("state: unknown boot mode %v", cs.Boot)
	}
	switch {
	case cfg.Harts != 0 && cfg.Harts != cs.Harts:
		return fmt.Errorf("state has %d harts, the configuration %d", cs.Harts, cfg.Harts)
	case cfg.MemSize != 0 && cfg.MemSize != cs.MemSize:
		return fmt.Errorf("state has %d MiB of RAM, the configuration %d MiB", cs.MemSize>>20, cfg.MemSize>>20)
	case cfg.Boot != cs.Boot && cfg.Boot != BootDirect: // BootDirect is the zero value: unset
		return fmt.Errorf("state was booted %v, the configuration asks for %v", cs.Boot, cfg.Boot)
	case len(st.Harts) != cs.Harts || len(st.HSM) != cs.Harts:
		return fmt.Errorf("state has %d hart states and %d HSM slots for %d harts", len(st.Harts), len(st.HSM), cs.Harts)
	case len(st.Virtio) != len(cs.DeviceTypes):
		return fmt.Errorf("state has %d virtio states for %d slots", len(st.Virtio), len(cs.DeviceTypes))
	case len(cfg.Devices) != len(st.Virtio):
		return fmt.Errorf("state has %d virtio devices, the configuration %d", len(st.Virtio), len(cfg.Devices))
	case len(st.Boot.FDT) == 0 || !containsRange(DRAMBase, cs.MemSize, st.Boot.FDTAddr, uint64(len(st.Boot.FDT))):
		return fmt.Errorf("state has no device tree inside RAM")
	case st.Boot.ToHost != 0 && !containsRange(DRAMBase, cs.MemSize, st.Boot.ToHost, 8):
		return fmt.Errorf("state has tohost %#x outside RAM", st.Boot.ToHost)
	case len(st.CLINT.MSIP) != cs.Harts:
		return fmt.Errorf("state has CLINT bits for %d harts, machine has %d", len(st.CLINT.MSIP), cs.Harts)
	}
	if st.Boot.ToHost%8 != 0 {
		return fmt.Errorf("state has misaligned tohost %#x", st.Boot.ToHost)
	}
	for i, d := range cfg.Devices {
		if d == nil {
			return fmt.Errorf("virtio slot %d: no device", i)
		}
		if got, want := d.Type(), cs.DeviceTypes[i]; got != want || st.Virtio[i].DeviceType != want {
			return fmt.Errorf("virtio slot %d: state is for device type %d, the configuration has type %d", i, want, got)
		}
	}
	for i, s := range st.HSM {
		switch s.State {
		case sbi.HartStarted, sbi.HartStopped, sbi.HartStartPending, sbi.HartResumePending:
		default:
			return fmt.Errorf("hart %d: HSM state %d cannot be restored", i, s.State)
		}
	}
	return nil
}
