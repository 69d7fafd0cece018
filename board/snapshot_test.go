package board

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/sbi"
)

// copiedRAM is a RAMSource holding a copy of saved RAM bytes.
func copiedRAM(saved []byte) RAMSource {
	return func(base, size uint64) (*mem.RAM, error) {
		r, err := mem.New(base, size)
		if err != nil {
			return nil, err
		}
		copy(r.Bytes(), saved)
		return r, nil
	}
}

// snapshotProgram runs testdata/snapshot.S uninterrupted and returns its
// console output.
func snapshotProgram(t *testing.T) (elf []byte, full string) {
	t.Helper()
	elf = buildTestProgram(t, "snapshot")
	log := newConsoleLog()
	m, err := New(Config{Harts: 1, MemSize: 16 << 20, Boot: BootBare, Kernel: elf, Console: log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res := <-start(context.Background(), m, log)
	if res.err != nil || res.st != (ExitStatus{Kind: ExitToHost}) {
		t.Fatalf("uninterrupted run: %v, %v (console %q)", res.st, res.err, log.String())
	}
	return elf, log.String()
}

// TestSaveRestoreContinuesExactly pauses the program mid-computation, saves
// the machine, and restores it into a new machine from the saved state and
// a copy of RAM: the restored guest prints exactly what the uninterrupted
// run printed after that point and passes its own lost-instruction check.
// The original keeps running to the same result.
func TestSaveRestoreContinuesExactly(t *testing.T) {
	elf, full := snapshotProgram(t)
	if strings.Count(full, ".") < 20 {
		t.Fatalf("program printed %q: too short to interrupt", full)
	}
	log := newConsoleLog()
	m, err := New(Config{Harts: 2, MemSize: 16 << 20, Boot: BootBare, Kernel: elf, Console: log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	done := start(context.Background(), m, log)
	if _, _, ok := log.waitFor("....", 0); !ok {
		t.Fatalf("program ended early: %q", log.String())
	}
	m.Pause()
	st, err := m.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	saved := append([]byte(nil), m.RAM().Bytes()...)
	prefix := log.String()
	if !m.Paused() {
		t.Fatal("SaveState resumed a machine its caller had paused")
	}
	m.Resume()

	// The state must survive gob, the snapshot format's encoding.
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		t.Fatal(err)
	}
	var decoded MachineState
	if err := gob.NewDecoder(&buf).Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalise(st), normalise(&decoded)) {
		t.Fatalf("gob round trip changed the state:\n%+v\n%+v", st, &decoded)
	}

	rlog := newConsoleLog()
	r, err := Restore(Config{Console: rlog}, &decoded, copiedRAM(saved))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, h := range r.Harts() {
		if got := h.State(); !reflect.DeepEqual(got, decoded.Harts[i]) {
			t.Errorf("hart %d restored as\n%+v\nwant\n%+v", i, got, decoded.Harts[i])
		}
	}
	if st.Harts[1].X[15] == 0 {
		t.Error("hart 1 never ran before the snapshot")
	}
	if got, want := r.Clock().Now(), decoded.Clock; got < want {
		t.Errorf("restored clock %d is behind the saved %d", got, want)
	}
	res := <-start(context.Background(), r, rlog)
	if res.err != nil || res.st != (ExitStatus{Kind: ExitToHost}) {
		t.Fatalf("restored run: %v, %v (console %q)", res.st, res.err, rlog.String())
	}
	if got := prefix + rlog.String(); got != full {
		t.Errorf("restored output differs:\n got %q\nwant %q", got, full)
	}
	if orig := <-done; orig.err != nil || orig.st != (ExitStatus{Kind: ExitToHost}) || log.String() != full {
		t.Errorf("original after snapshot: %v, %v, %q", orig.st, orig.err, log.String())
	}
}

// normalise makes nil and empty slices compare equal (gob drops empties).
func normalise(st *MachineState) *MachineState {
	var buf bytes.Buffer
	gob.NewEncoder(&buf).Encode(st)
	var out MachineState
	gob.NewDecoder(&buf).Decode(&out)
	return &out
}

// closeRecorder is a device that notes whether the machine closed it.
type closeRecorder struct {
	virtio.RNG
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestRestoreRefusesBadState checks that every kind of inconsistent state
// fails with a clear error, closes the devices and RAM it was given and
// never panics.
func TestRestoreRefusesBadState(t *testing.T) {
	log := newConsoleLog()
	elf := buildTestProgram(t, "spin")
	m, err := New(Config{Harts: 2, MemSize: 8 << 20, Boot: BootBare, Kernel: elf, Console: log, Devices: []virtio.Device{virtio.NewRNG()}})
	if err != nil {
		t.Fatal(err)
	}
	good, err := m.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	ramErr := errors.New("no memory today")
	tests := []struct {
		name    string
		mutate  func(st *MachineState, cfg *Config)
		ram     RAMSource
		wantErr string
	}{
		{"version", func(st *MachineState, _ *Config) { st.Version = 99 }, nil, "version 99"},
		{"harts mismatch", func(_ *MachineState, c *Config) { c.Harts = 3 }, nil, "harts"},
		{"memory mismatch", func(_ *MachineState, c *Config) { c.MemSize = 16 << 20 }, nil, "RAM"},
		{"boot mismatch", func(_ *MachineState, c *Config) { c.Boot = BootFirmware }, nil, "booted"},
		{"zero harts", func(st *MachineState, _ *Config) { st.Config.Harts = 0 }, nil, "harts"},
		{"tiny memory", func(st *MachineState, _ *Config) { st.Config.MemSize = 4096 }, nil, "too small"},
		{"odd memory", func(st *MachineState, _ *Config) { st.Config.MemSize = 8<<20 + 1 }, nil, "multiple"},
		{"missing hart", func(st *MachineState, _ *Config) { st.Harts = st.Harts[:1] }, nil, "hart states"},
		{"device missing", func(_ *MachineState, c *Config) { c.Devices = nil }, nil, "virtio devices"},
		{"device type", func(st *MachineState, _ *Config) { st.Config.DeviceTypes[0] = virtio.DeviceBlock }, nil, "device type"},
		{"fdt outside RAM", func(st *MachineState, _ *Config) { st.Boot.FDTAddr = 0x1000 }, nil, "device tree"},
		{"no fdt", func(st *MachineState, _ *Config) { st.Boot.FDT = nil }, nil, "device tree"},
		{"tohost outside RAM", func(st *MachineState, _ *Config) { st.Boot.ToHost = 0x10 }, nil, "tohost"},
		{"bad privilege", func(st *MachineState, _ *Config) { st.Harts[1].Priv = 2 }, nil, "hart 1"},
		{"bad HSM", func(st *MachineState, _ *Config) { st.HSM[0].State = sbi.HartSuspendPending }, nil, "HSM"},
		{"PLIC arrays", func(st *MachineState, _ *Config) { st.PLIC.Enable = st.PLIC.Enable[:1] }, nil, "PLIC"},
		{"CLINT harts", func(st *MachineState, _ *Config) { st.CLINT.MSIP = nil }, nil, "CLINT"},
		{"UART overrun", func(st *MachineState, _ *Config) { st.UART.RX = make([]byte, 100) }, nil, "UART"},
		{"virtio device blob", func(st *MachineState, _ *Config) { st.Virtio[0].Device = []byte("{bad") }, nil, "virtio slot 0"},
		{"virtio no blob", func(st *MachineState, _ *Config) { st.Virtio[0].Device = nil }, nil, "virtio slot 0"},
		{"RAM source fails", func(*MachineState, *Config) {}, func(uint64, uint64) (*mem.RAM, error) { return nil, ramErr }, "no memory today"},
		{"RAM source wrong size", func(*MachineState, *Config) {}, func(base, _ uint64) (*mem.RAM, error) { return mem.New(base, 4<<20) }, "RAM source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := normalise(good)
			dev := &closeRecorder{}
			cfg := Config{Devices: []virtio.Device{dev}}
			tc.mutate(st, &cfg)
			r, err := Restore(cfg, st, tc.ram)
			if err == nil {
				r.Close()
				t.Fatal("restore succeeded")
			}
			if r != nil {
				t.Error("failed restore returned a machine")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
			if len(cfg.Devices) > 0 && !dev.closed {
				t.Error("device not closed after a failed restore")
			}
		})
	}
	if _, err := Restore(Config{}, nil, nil); err == nil {
		t.Error("nil state accepted")
	}
}

// TestSaveStateOfRunningMachineResumesIt checks SaveState's own pause.
func TestSaveStateOfRunningMachineResumesIt(t *testing.T) {
	elf := buildTestProgram(t, "spin")
	m, err := New(Config{Harts: 2, MemSize: 8 << 20, Boot: BootBare, Kernel: elf})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := start(ctx, m, nil)
	st, err := m.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	if m.Paused() {
		t.Error("SaveState left a running machine paused")
	}
	if len(st.Harts) != 2 || st.Version != MachineStateVersion || st.Config.MemSize != 8<<20 || !st.Boot.HasKernel {
		t.Errorf("state %+v", st.Config)
	}
	cancel()
	<-done
	m.Close()
	if _, err := m.SaveState(); err == nil {
		t.Error("SaveState of a closed machine succeeded")
	}
}
