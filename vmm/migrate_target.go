package vmm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/mem"
	"github.com/popek-vm/popek/snapshot"
)

// CheckIncoming says whether a VM named name could be received now: the
// target daemon asks before it accepts a migration connection, so that a
// duplicate is refused with a plain 409.
func (m *Manager) CheckIncoming(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errorf(KindConflict, "the daemon is shutting down")
	}
	if _, dup := m.vms[name]; dup || m.incoming[name] {
		return errorf(KindConflict, "a VM named %q already exists", name)
	}
	return nil
}

// ReceiveMigration receives a VM from the Manager.Migrate at the other end
// of conn, which it closes, and starts it here under the same name. On
// any error nothing of it is left: no definition, no files, no machine.
func (m *Manager) ReceiveMigration(ctx context.Context, conn io.ReadWriteCloser) (VMInfo, error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	rx := &migReceiver{m: m, fr: newFrameReader(bufio.NewReaderSize(conn, 256<<10)), fw: newFrameWriter(conn, false)}
	defer rx.fr.close()
	info, err := rx.receive()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("cancelled: %v", ctx.Err())
		}
		rx.discard()
		if !rx.peerGone(err) {
			rx.fw.writeJSON(frameError, errorBody(err)) // best effort: the source resumes either way
			rx.fw.flush()
		}
		name := "?"
		if rx.hello != nil {
			name = rx.hello.Name
		}
		m.log.Warn("incoming migration failed", "vm", name, "err", err)
		return VMInfo{}, err
	}
	return info, nil
}

// migReceiver is the target side of one migration.
type migReceiver struct {
	m     *Manager
	fr    *frameReader
	fw    *frameWriter
	hello *migHello
	cfg   *Config
	// reserved: hello.Name is in m.incoming; ram and disks are ours.
	reserved bool
	ram      *mem.RAM
	disks    *incomingDisks
	vm       *VM // set once the VM is defined here
	gotDone  bool
}

// peerGone reports an error that means the source is not listening.
func (rx *migReceiver) peerGone(err error) bool {
	var re *remoteError
	return errors.As(err, &re) || isClosedConn(err) || errors.Is(err, io.EOF)
}

func (rx *migReceiver) receive() (VMInfo, error) {
	if err := readPreamble(rx.fr.r); err != nil {
		return VMInfo{}, err
	}
	f, err := rx.fr.next()
	if err != nil {
		return VMInfo{}, err
	}
	if f.typ != frameHello {
		return VMInfo{}, streamErr("the stream starts with a %s frame", f.typ)
	}
	var h migHello
	if err := decodeJSON(f, &h); err != nil {
		return VMInfo{}, err
	}
	rx.hello = &h
	spec, err := rx.accept(&h)
	if err != nil {
		return VMInfo{}, err
	}
	if err := rx.fw.writeJSON(frameAccept, migAccept{Version: migVersion}); err != nil {
		return VMInfo{}, err
	}
	if err := rx.fw.flush(); err != nil {
		return VMInfo{}, err
	}
	st, err := rx.stream()
	if err != nil {
		return VMInfo{}, err
	}
	t0 := time.Now()
	if err := rx.launch(spec, st); err != nil {
		return VMInfo{}, err
	}
	info := rx.vm.info()
	err = rx.fw.writeJSON(frameRunning, migRunning{State: info.State, RestoreSeconds: time.Since(t0).Seconds()})
	if err == nil {
		err = rx.fw.flush()
	}
	if err != nil {
		return VMInfo{}, fmt.Errorf("confirming to the source: %v", err)
	}
	rx.commitSockets()
	rx.m.log.Info("vm received by live migration", "vm", h.Name, "state", info.State)
	return info, nil
}

// commitSockets moves taken-over vsock and console sockets to their real
// paths once the source knows the VM runs here: until then the source's
// sockets stay, so a migration that fails leaves the source VM reachable.
func (rx *migReceiver) commitSockets() {
	v := rx.vm
	v.mu.Lock()
	var devs []virtio.Device
	if v.run != nil && v.run.machine != nil {
		devs = v.run.machine.VirtioDevices()
	}
	v.mu.Unlock()
	for _, d := range devs {
		if tk, ok := d.(interface{ Commit() error }); ok {
			if err := tk.Commit(); err != nil {
				rx.m.log.Warn("device socket not taken over", "vm", v.name, "err", err)
			}
		}
	}
}

// accept checks the hello against this host and reserves the name.
func (rx *migReceiver) accept(h *migHello) (*bootSpec, error) {
	m := rx.m
	if h.Config == nil {
		return nil, errorf(KindInvalid, "the stream carries no VM config")
	}
	c := h.Config.Clone()
	if c.Name != h.Name {
		return nil, errorf(KindInvalid, "the stream's config is for VM %q, not %q", c.Name, h.Name)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	memSize, _ := c.MemoryBytes()
	if h.Harts != c.VCPUs || h.MemSize != memSize {
		return nil, errorf(KindInvalid, "the stream's machine (%d vCPU, %d bytes) is not its config's", h.Harts, h.MemSize)
	}
	if h.StateVersion != board.MachineStateVersion {
		return nil, errorf(KindConflict, "the source's machine state version is %d, this popek reads version %d", h.StateVersion, board.MachineStateVersion)
	}
	want := slotTypes(c)
	if len(h.Slots) != len(want) {
		return nil, errorf(KindInvalid, "the stream has %d virtio slots, the config %d", len(h.Slots), len(want))
	}
	for i := range want {
		if h.Slots[i] != want[i] {
			return nil, errorf(KindInvalid, "virtio slot %d: the stream has a %s device, the config %s", i, typeName(h.Slots[i]), typeName(want[i]))
		}
	}
	if len(h.MACs) != len(c.Nets) {
		return nil, errorf(KindInvalid, "the stream has %d MACs for %d NICs", len(h.MACs), len(c.Nets))
	}
	for i, mac := range h.MACs {
		c.Nets[i].MAC = mac // the same VM: the guest keeps its addresses
		if _, err := net.ParseMAC(mac); err != nil {
			return nil, errorf(KindInvalid, "nets[%d]: MAC %q: %v", i, mac, err)
		}
	}
	if c.Vsock != nil {
		c.Vsock.CID = h.CID
		if h.VsockDerived {
			c.Vsock.UDS = m.vsockPath(c.Name)
			os.MkdirAll(filepath.Dir(c.Vsock.UDS), 0o700)
		}
	}
	if err := m.opts.Backends.check(c); err != nil {
		return nil, err
	}
	if err := m.reserve(c.Name); err != nil {
		return nil, err
	}
	rx.reserved = true
	os.RemoveAll(m.vmDisks(c.Name)) // leftovers of an earlier VM of this name
	disks, err := planIncomingDisks(c, h.Drives, m.vmDisks(c.Name))
	if err != nil {
		return nil, err
	}
	rx.disks = disks
	if err := c.CheckHost(); err != nil {
		return nil, errorf(KindConflict, "this host lacks the VM's files: %v", err)
	}
	spec, err := newBootSpec(c, m.opts.Backends, &m.guest)
	if err != nil {
		return nil, err
	}
	if rx.ram, err = mem.New(board.DRAMBase, memSize); err != nil {
		return nil, errorf(KindInternal, "guest RAM: %v", err)
	}
	if spec.board.NoMemMerge {
		rx.ram.SetMergeable(false)
	}
	rx.cfg = c
	return spec, nil
}

// reserve claims name for an incoming VM.
func (m *Manager) reserve(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errorf(KindConflict, "the daemon is shutting down")
	}
	if _, dup := m.vms[name]; dup || m.incoming[name] {
		return errorf(KindConflict, "a VM named %q already exists", name)
	}
	m.incoming[name] = true
	return nil
}

// stream receives memory, state and disks up to the done frame. Frames
// must come in order: pages and rounds, then state, then disks, then done.
func (rx *migReceiver) stream() (*board.MachineState, error) {
	const (
		phaseMemory = iota
		phaseState
		phaseDisks
	)
	phase := phaseMemory
	data, pages := rx.ram.Bytes(), pagesOf(rx.ram.Size())
	var state bytes.Buffer
	var got migDone
	for {
		f, err := rx.fr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("the source closed the connection before the end of the migration")
			}
			return nil, err
		}
		switch {
		case f.typ == frameError:
			var body migErrorBody
			if err := decodeJSON(f, &body); err != nil {
				return nil, err
			}
			return nil, &remoteError{body: body}
		case (f.typ == framePages || f.typ == frameZero || f.typ == frameRound) && phase == phaseMemory:
			if err := rx.memoryFrame(f, data, pages, &got); err != nil {
				return nil, err
			}
		case f.typ == frameState && phase <= phaseState:
			phase = phaseState
			if state.Len()+len(f.payload) > migMaxState {
				return nil, streamErr("machine state larger than %d bytes", migMaxState)
			}
			state.Write(f.payload)
		case f.typ == frameDiskBegin && phase >= phaseState:
			phase = phaseDisks
			if err := rx.disks.begin(f); err != nil {
				return nil, err
			}
		case f.typ == frameDisk && phase == phaseDisks:
			n, err := rx.disks.write(f.payload)
			if err != nil {
				return nil, err
			}
			got.DiskBytes += uint64(n)
		case f.typ == frameDone && phase >= phaseState:
			var want migDone
			if err := decodeJSON(f, &want); err != nil {
				return nil, err
			}
			got.StateBytes = uint64(state.Len())
			if got != want {
				return nil, streamErr("the source sent %+v, %+v arrived", want, got)
			}
			if err := rx.disks.finish(); err != nil {
				return nil, err
			}
			return decodeMigState(state.Bytes())
		default:
			return nil, streamErr("unexpected %s frame", f.typ)
		}
	}
}

// memoryFrame applies a pages, zero-pages or round frame to guest RAM.
func (rx *migReceiver) memoryFrame(f frame, data []byte, pages uint64, got *migDone) error {
	switch f.typ {
	case frameRound:
		var r migRoundEnd
		return decodeJSON(f, &r)
	case frameZero:
		idx, _, n, err := decodePages(f.payload, pages, true)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			p := binary.LittleEndian.Uint64(idx[8*i:])
			clear(data[p*pageBytes : (p+1)*pageBytes])
		}
		got.ZeroPages += uint64(n)
		return nil
	}
	idx, contents, n, err := decodePages(f.payload, pages, false)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		p := binary.LittleEndian.Uint64(idx[8*i:])
		copy(data[p*pageBytes:(p+1)*pageBytes], contents[i*pageBytes:(i+1)*pageBytes])
	}
	got.Pages += uint64(n)
	return nil
}

func decodeMigState(b []byte) (*board.MachineState, error) {
	var st board.MachineState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return nil, streamErr("machine state: %v", err)
	}
	if st.Version != board.MachineStateVersion {
		return nil, errorf(KindConflict, "machine state version %d, this popek reads version %d", st.Version, board.MachineStateVersion)
	}
	return &st, nil
}

// launch defines the VM here and starts its machine from what arrived.
func (rx *migReceiver) launch(spec *bootSpec, st *board.MachineState) error {
	m, c, h := rx.m, rx.cfg, rx.hello
	if got := st.Config.DeviceTypes; len(got) != len(h.Slots) {
		return streamErr("machine state has %d virtio slots, the stream announced %d", len(got), len(h.Slots))
	}
	for i, t := range st.Config.DeviceTypes {
		if t != h.Slots[i] {
			return streamErr("machine state: virtio slot %d holds type %d, the stream announced %d", i, t, h.Slots[i])
		}
	}
	if st.Config.Harts != c.VCPUs {
		return streamErr("machine state has %d harts, the config %d", st.Config.Harts, c.VCPUs)
	}
	created := time.Now().UTC().Truncate(time.Second)
	v := newVM(m, c, created)
	v.opMu.Lock()
	defer v.opMu.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errorf(KindConflict, "the daemon is shutting down")
	}
	if err := m.store.save(storedVM{CreatedAt: created, Config: c}); err != nil {
		m.mu.Unlock()
		return errorf(KindInternal, "saving VM %q: %v", c.Name, err)
	}
	delete(m.incoming, c.Name)
	rx.reserved = false
	m.vms[c.Name] = v
	m.mu.Unlock()
	rx.vm = v
	ram := rx.ram
	rx.ram = nil // the machine owns it from here, and closes it on failure
	err := v.launchWith(spec, migrationBuilder(st, ram, h), launchOptions{paused: h.Paused, event: EventMigrated,
		message: "arrived by live migration"})
	if err != nil {
		ram.Close()
		return err
	}
	return nil
}

// migrationBuilder restores the received machine on devices built from
// the VM's config, with the guest's MACs and CID.
func migrationBuilder(st *board.MachineState, ram *mem.RAM, h *migHello) machineBuilder {
	return func(r *vmRun) (*board.Machine, []*hartProbe, []disk, error) {
		probes, hook := r.newProbes()
		b := &deviceBuilder{spec: r.spec, takeover: true}
		c := r.spec.cfg
		var devs []virtio.Device
		fail := func(err error) (*board.Machine, []*hartProbe, []disk, error) {
			for _, d := range devs {
				d.Close()
			}
			return nil, nil, nil, errorf(KindInternal, "restoring the migrated machine: %v", err)
		}
		for slot, t := range h.Slots {
			ds := snapshot.DeviceSpec{Slot: slot, Type: t}
			if k := slot - len(c.Drives); k >= 0 && k < len(c.Nets) {
				ds.Net = &snapshot.NetSpec{MAC: h.MACs[k]}
			}
			if t == virtio.DeviceVsock {
				ds.Vsock = &snapshot.VsockSpec{CID: h.CID}
			}
			d, err := b.device(ds)
			if err != nil {
				return fail(err)
			}
			if d == nil && t == virtio.DeviceEntropy {
				d = virtio.NewRNG()
			}
			if d == nil && t == virtio.DeviceBalloon {
				d = virtio.NewBalloon(nil) // its target comes with the state
			}
			if d == nil {
				return fail(fmt.Errorf("virtio slot %d: no device for a %s", slot, typeName(t)))
			}
			devs = append(devs, d)
		}
		sb := r.spec.board
		cfg := board.Config{Devices: devs, Console: r.vm.console, Throttle: hook,
			Kernel: sb.Kernel, Initrd: sb.Initrd, Firmware: sb.Firmware}
		devs = nil // Restore owns them now
		mach, err := board.Restore(cfg, st, func(base, size uint64) (*mem.RAM, error) {
			if base != ram.Base() || size != ram.Size() {
				return nil, fmt.Errorf("the state wants %#x+%#x of RAM, %#x+%#x arrived", base, size, ram.Base(), ram.Size())
			}
			return ram, nil
		})
		if err != nil {
			return fail(err)
		}
		for i, hh := range mach.Harts() {
			probes[i].hart = hh
		}
		return mach, probes, b.disks, nil
	}
}

// discard undoes a failed receive: the VM, its files, the reservation.
func (rx *migReceiver) discard() {
	m := rx.m
	if rx.disks != nil {
		rx.disks.close()
	}
	if rx.ram != nil {
		rx.ram.Close()
		rx.ram = nil
	}
	if v := rx.vm; v != nil {
		v.opMu.Lock()
		v.mu.Lock()
		live := v.run != nil
		v.mu.Unlock()
		if live {
			v.stopRun("migration failed", true)
		}
		m.mu.Lock()
		m.store.remove(v.name)
		delete(m.vms, v.name)
		m.mu.Unlock()
		v.mu.Lock()
		v.deleted = true
		v.eventLocked(EventDeleted, "migration failed")
		v.mu.Unlock()
		v.opMu.Unlock()
	}
	if rx.hello != nil && (rx.reserved || rx.vm != nil) {
		os.RemoveAll(m.vmDisks(rx.hello.Name))
	}
	if rx.reserved {
		m.mu.Lock()
		delete(m.incoming, rx.hello.Name)
		m.mu.Unlock()
		rx.reserved = false
	}
}
