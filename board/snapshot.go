package board

import (
	"errors"
	"fmt"

	"github.com/popek-vm/popek/devices"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/riscv"
	"github.com/popek-vm/popek/sbi"
)

// MachineStateVersion is the layout version of MachineState. Restore
// refuses any other: a state is only ever read by the popek that can
// interpret every field of it.
const MachineStateVersion = 1

// MachineState is everything a machine holds outside guest RAM and disk
// images, as plain data (exported fields only, gob and JSON friendly). With
// the RAM contents and the disks as they were at the same pause, it brings
// the guest back exactly where it was.
type MachineState struct {
	Version int
	Config  ConfigState
	Boot    BootState
	Harts   []riscv.State
	// HSM is the board's per-hart SBI HSM bookkeeping, indexed by hart.
	HSM    []HartSlotState
	CLINT  devices.CLINTState
	PLIC   devices.PLICState
	UART   devices.UART16550State
	RTC    devices.GoldfishRTCState
	Test   devices.SiFiveTestState
	Virtio []virtio.MMIOState // by slot
	// Clock is the VM time base (mtime) at the pause.
	Clock uint64
}

// ConfigState is the machine's shape: what Restore must rebuild
// identically. The boot images are not part of it: their bytes are already
// in RAM.
type ConfigState struct {
	Harts   int
	MemSize uint64
	Boot    Boot
	Cmdline string
	MMU     string
	RNGSeed []byte
	// DeviceTypes is the virtio device ID in each slot.
	DeviceTypes []uint32
}

// BootState is what the boot left outside RAM: the device tree (the guest
// may read it again) and the addresses the reset ROM and HTIF use.
type BootState struct {
	FDT           []byte
	FDTAddr       uint64
	HasKernel     bool
	KernelEntry   uint64
	ToHost        uint64
	HasFirmware   bool
	FirmwareEntry uint64
}

// HartSlotState is one hart's HSM state and a start or resume not yet
// performed by the hart's goroutine.
type HartSlotState struct {
	State      sbi.HartState
	Entry, Arg uint64
	Suspend    bool
}

// Config returns the configuration the machine was built from. Its byte
// slices and devices are the machine's own: do not modify them.
func (m *Machine) Config() Config { return m.cfg }

// VirtioDevices returns the device models in slot order.
func (m *Machine) VirtioDevices() []virtio.Device { return m.cfg.Devices }

// SaveState captures the machine. A running machine is paused for the copy
// and resumed afterwards; a paused one stays paused (callers that also copy
// RAM and disks pause it themselves, around all of it). Pausing quiesces
// every virtio transport, so no request is in flight and no device touches
// guest memory while the state and RAM are read.
func (m *Machine) SaveState() (*MachineState, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, errors.New("board: save state of a closed machine")
	}
	if !m.Paused() {
		m.Pause()
		defer m.Resume()
	}
	c := m.cfg
	st := &MachineState{
		Version: MachineStateVersion,
		Config: ConfigState{
			Harts: c.Harts, MemSize: c.MemSize, Boot: c.Boot, Cmdline: c.Cmdline, MMU: c.MMU,
			RNGSeed: append([]byte(nil), c.RNGSeed...),
		},
		Boot: BootState{
			FDT: append([]byte(nil), m.layout.fdt...), FDTAddr: m.layout.fdtAddr,
		},
		CLINT: m.clint.SaveState(),
		PLIC:  m.plic.SaveState(),
		UART:  m.uart.SaveState(),
		RTC:   m.rtc.SaveState(),
		Test:  m.test.SaveState(),
		Clock: m.clock.Now(),
	}
	if k := m.layout.kernel; k != nil {
		st.Boot.HasKernel, st.Boot.KernelEntry, st.Boot.ToHost = true, k.entry, k.toHost
	}
	if f := m.layout.firmware; f != nil {
		st.Boot.HasFirmware, st.Boot.FirmwareEntry = true, f.entry
	}
	for _, h := range m.harts {
		st.Harts = append(st.Harts, h.State())
	}
	m.mu.Lock()
	for _, s := range m.slots {
		st.HSM = append(st.HSM, HartSlotState{State: s.state, Entry: s.entry, Arg: s.arg, Suspend: s.suspend})
	}
	m.mu.Unlock()
	for _, v := range m.virtio {
		vs := v.SaveState()
		if vs.Device == nil {
			return nil, fmt.Errorf("board: virtio device type %d could not encode its state", vs.DeviceType)
		}
		st.Virtio = append(st.Virtio, vs)
		st.Config.DeviceTypes = append(st.Config.DeviceTypes, vs.DeviceType)
	}
	return st, nil
}
