package vmm

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/mem"
)

// Migrate moves the running or paused VM name to the Manager at the other
// end of conn (see ReceiveMigration), which it closes. On success the VM
// runs there (paused if it was paused) and is gone from this manager; on
// any error it carries on here as if nothing happened.
func (m *Manager) Migrate(ctx context.Context, name string, conn io.ReadWriteCloser, o MigrateOptions) (MigrationResult, error) {
	defer conn.Close()
	v, err := m.lockedVM(name)
	if err != nil {
		return MigrationResult{}, err
	}
	defer v.opMu.Unlock()
	res, err := v.migrateOp(ctx, conn, o)
	if err != nil {
		m.log.Warn("vm migration failed; it runs on here", "vm", name, "target", o.Target, "err", err)
		return MigrationResult{}, migrationError(name, err)
	}
	return res, nil
}

// migSender is the source side of one migration.
type migSender struct {
	v      *VM
	r      *vmRun
	mach   *board.Machine
	cfg    *Config
	conn   io.ReadWriteCloser
	fw     *frameWriter
	paused bool // the VM was paused before the migration
	// frozen: the guest is paused for the final phase.
	frozen bool

	replies    chan migReply
	readerDone chan struct{}

	res      MigrationResult
	buf      []byte
	pending  []uint64 // page batch being built
	zeros    []uint64
	zeroSent uint64
}

// migReply is a frame from the target, or the reader's end.
type migReply struct {
	typ  frameType
	body []byte
	err  error
}

func (v *VM) migrateOp(ctx context.Context, conn io.ReadWriteCloser, o MigrateOptions) (MigrationResult, error) {
	start := time.Now()
	v.mu.Lock()
	r, st, cfg := v.run, v.state, v.cfg
	if r == nil || (st != StateRunning && st != StatePaused) {
		defer v.mu.Unlock()
		return MigrationResult{}, v.conflict("migrate")
	}
	mach := r.acquireMachineLocked()
	v.mu.Unlock()
	if mach == nil {
		return MigrationResult{}, errorf(KindConflict, "cannot migrate VM %q: it is rebooting; try again", v.name)
	}
	released := false
	release := func() {
		if !released {
			released = true
			r.releaseMachine()
		}
	}
	defer release()

	s := &migSender{v: v, r: r, mach: mach, cfg: cfg, conn: conn, fw: newFrameWriter(conn, o.Compress),
		paused: st == StatePaused, replies: make(chan migReply, 4), readerDone: make(chan struct{})}
	s.res = MigrationResult{VM: v.name, Target: o.Target, Compressed: o.Compress, Rounds: []MigrationRound{}}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go s.readReplies()
	defer func() { conn.Close(); <-s.readerDone }()

	downStart, running, err := s.send(ctx)
	if err != nil {
		s.thaw()
		return MigrationResult{}, s.cause(ctx, err)
	}
	now := time.Now()
	s.res.DowntimeSeconds = now.Sub(downStart).Seconds()
	s.res.TotalSeconds = now.Sub(start).Seconds()
	s.res.RestoreSeconds = running.RestoreSeconds
	s.res.State = running.State
	s.res.BytesSent = s.fw.bytes

	// The VM runs on the target: this copy ends for good.
	release()
	v.commitMigration(o)
	return s.res, nil
}

// send runs the whole exchange and returns when the target confirmed.
func (s *migSender) send(ctx context.Context) (downStart time.Time, running migRunning, err error) {
	hello, err := s.hello()
	if err != nil {
		return time.Time{}, running, err
	}
	if err := writePreamble(s.fw.w); err != nil {
		return time.Time{}, running, err
	}
	if err := s.fw.writeJSON(frameHello, hello); err != nil {
		return time.Time{}, running, err
	}
	if err := s.fw.flush(); err != nil {
		return time.Time{}, running, err
	}
	var acc migAccept
	if err := s.await(ctx, frameAccept, &acc); err != nil {
		return time.Time{}, running, err
	}
	if !s.paused {
		if err := s.precopy(ctx); err != nil {
			return time.Time{}, running, err
		}
	}
	downStart = time.Now()
	if err := s.final(); err != nil {
		return downStart, running, err
	}
	if err := s.await(ctx, frameRunning, &running); err != nil {
		return downStart, running, err
	}
	return downStart, running, nil
}

// hello describes the VM for the target.
func (s *migSender) hello() (*migHello, error) {
	c := s.cfg.Clone()
	st := s.mach.Config()
	h := &migHello{Name: c.Name, Config: c, Harts: st.Harts, MemSize: s.mach.RAM().Size(),
		StateVersion: board.MachineStateVersion, Paused: s.paused, Slots: slotTypes(c)}
	devs := s.mach.VirtioDevices()
	if len(devs) != len(h.Slots) {
		return nil, fmt.Errorf("the machine has %d virtio devices, the config %d", len(devs), len(h.Slots))
	}
	for i, d := range devs {
		if d.Type() != h.Slots[i] {
			return nil, fmt.Errorf("virtio slot %d holds a %s device, the config says %s", i, typeName(d.Type()), typeName(h.Slots[i]))
		}
	}
	nd := len(c.Drives)
	for k := range c.Nets {
		mac := nicMAC(c, k).String()
		if n, ok := devs[nd+k].(interface{ SaveState() virtio.NetState }); ok {
			hw := n.SaveState().MAC
			mac = net.HardwareAddr(hw[:]).String()
		}
		h.MACs = append(h.MACs, mac)
	}
	if c.Vsock != nil {
		h.CID = c.Vsock.CID
		if d, ok := devs[nd+len(c.Nets)+len(c.Shares)].(interface{ CID() uint64 }); ok {
			h.CID = d.CID()
		}
		h.VsockDerived = c.Vsock.UDS == s.v.mgr.vsockPath(c.Name)
	}
	drives, err := describeDrives(c)
	if err != nil {
		return nil, err
	}
	h.Drives = drives
	return h, nil
}

// readReplies delivers the target's frames until the stream ends. An
// error frame also closes the connection, so that a send blocked on a
// target that gave up returns at once.
func (s *migSender) readReplies() {
	defer close(s.readerDone)
	fr := newFrameReader(s.conn)
	defer fr.close()
	for {
		f, err := fr.next()
		if err != nil {
			s.replies <- migReply{err: err}
			return
		}
		s.replies <- migReply{typ: f.typ, body: bytes.Clone(f.payload)}
		if f.typ == frameError {
			s.conn.Close()
		}
		if f.typ == frameError || f.typ == frameRunning {
			return
		}
	}
}

// await waits for the target's next frame, which must be of type want.
func (s *migSender) await(ctx context.Context, want frameType, v any) error {
	select {
	case rep := <-s.replies:
		return s.reply(rep, want, v)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *migSender) reply(rep migReply, want frameType, v any) error {
	switch {
	case rep.err != nil:
		return fmt.Errorf("the target closed the connection: %v", rep.err)
	case rep.typ == frameError:
		var body migErrorBody
		if decodeJSON(frame{typ: rep.typ, payload: rep.body}, &body) != nil {
			return fmt.Errorf("the target sent an unreadable error")
		}
		return &remoteError{body: body}
	case rep.typ != want:
		return fmt.Errorf("the target sent a %s frame where %s was due", rep.typ, want)
	}
	return decodeJSON(frame{typ: rep.typ, payload: rep.body}, v)
}

// cause explains a failed send: the target's own error when it sent one
// (a write fails as soon as the target hangs up after refusing).
func (s *migSender) cause(ctx context.Context, err error) error {
	if _, ok := err.(*remoteError); ok {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("cancelled: %v", ctx.Err())
	}
	wait := time.NewTimer(2 * time.Second) // the target's last words, if it is still there
	defer wait.Stop()
	select {
	case rep := <-s.replies:
		if rep.err == nil && rep.typ == frameError {
			return s.reply(rep, frameError, nil)
		}
	case <-wait.C:
	}
	return err
}

// pauseBriefly runs f with every hart stopped (for TakeDirty and the TLB
// flushes that re-arm dirty tracking).
func (s *migSender) pauseBriefly(f func()) error {
	s.r.group.setSuspended(true) // throttling sleeps end, so Pause does not wait for them
	s.mach.Pause()
	f()
	exited := s.mach.Exited()
	s.mach.Resume()
	s.r.group.setSuspended(false)
	if exited {
		return errorf(KindConflict, "the guest stopped or rebooted during the migration")
	}
	return nil
}

// flushTLBs makes every hart mark the next store to each page again.
func (s *migSender) flushTLBs() {
	for _, h := range s.mach.Harts() {
		h.RequestFlushTLB()
	}
}

// thaw resumes the guest after a failed final phase.
func (s *migSender) thaw() {
	if s.frozen && !s.paused {
		s.mach.Resume()
		s.r.group.setSuspended(false)
	}
	s.frozen = false
}

// precopy sends memory while the guest runs.
func (s *migSender) precopy(ctx context.Context) error {
	ram := s.mach.RAM()
	var untouched []uint64
	if err := s.pauseBriefly(func() {
		ram.TakeDirty() // from here on, every write is caught
		s.flushTLBs()
		untouched, _ = ram.UntouchedPages()
	}); err != nil {
		return err
	}
	t0, b0 := time.Now(), s.fw.bytes
	sent, err := s.sendNonZero(ram, untouched)
	if err != nil {
		return err
	}
	if err := s.endRound(1, sent, t0, b0); err != nil {
		return err
	}
	// Round 1 copied memory, not a dirty set: convergence is judged from
	// round 3 on, against the previous dirty set.
	prev := ^uint64(0)
	for round := 2; round <= migMaxRounds; round++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var dirty []uint64
		if err := s.pauseBriefly(func() {
			dirty = ram.TakeDirty()
			s.flushTLBs()
		}); err != nil {
			return err
		}
		t0, b0 := time.Now(), s.fw.bytes
		if err := s.sendPages(ram.Bytes(), dirty); err != nil {
			return err
		}
		k := uint64(len(dirty))
		if err := s.endRound(round, k, t0, b0); err != nil {
			return err
		}
		if precopyDone(round, k, prev) {
			break
		}
		prev = k
	}
	return nil
}

// precopyDone says whether pre-copy stops after a round that sent k dirty
// pages, prev being the previous round's count (all ones after round 1).
func precopyDone(round int, k, prev uint64) bool {
	return k <= migSmallDirty || k >= prev || round >= migMaxRounds
}

func (s *migSender) endRound(round int, pages uint64, t0 time.Time, b0 uint64) error {
	if err := s.fw.writeJSON(frameRound, migRoundEnd{Round: round, Pages: pages}); err != nil {
		return err
	}
	if err := s.fw.flush(); err != nil {
		return err
	}
	s.res.Rounds = append(s.res.Rounds, MigrationRound{Round: round, Pages: pages, Bytes: s.fw.bytes - b0, Seconds: time.Since(t0).Seconds()})
	s.res.PrecopyRounds = len(s.res.Rounds)
	return nil
}

// final pauses the guest and sends the rest: the last dirty pages (or,
// for a paused VM, all memory), the machine state and the disks.
func (s *migSender) final() error {
	if !s.paused {
		s.r.group.setSuspended(true)
		s.mach.Pause()
	}
	s.frozen = true
	if s.mach.Exited() {
		return errorf(KindConflict, "the guest stopped or rebooted during the migration")
	}
	ram := s.mach.RAM()
	before := s.res.PagesSent
	if s.paused {
		untouched, _ := ram.UntouchedPages()
		if _, err := s.sendNonZero(ram, untouched); err != nil {
			return err
		}
	} else if err := s.sendPages(ram.Bytes(), ram.TakeDirty()); err != nil {
		return err
	}
	s.res.FinalPages = s.res.PagesSent - before
	st, err := s.mach.SaveState()
	if err != nil {
		return err
	}
	var enc bytes.Buffer
	if err := gob.NewEncoder(&enc).Encode(st); err != nil {
		return fmt.Errorf("encoding the machine state: %v", err)
	}
	if enc.Len() > migMaxState {
		return fmt.Errorf("the machine state is %d bytes, more than a migration carries (%d)", enc.Len(), migMaxState)
	}
	for b := enc.Bytes(); len(b) > 0; {
		n := min(len(b), diskChunk)
		if err := s.fw.write(frameState, b[:n], true); err != nil {
			return err
		}
		b = b[n:]
	}
	s.res.StateBytes = uint64(enc.Len())
	if err := s.sendDisks(); err != nil {
		return err
	}
	done := migDone{Pages: s.res.PagesSent, ZeroPages: s.zeroSent, StateBytes: s.res.StateBytes, DiskBytes: s.res.DiskBytes}
	if err := s.fw.writeJSON(frameDone, done); err != nil {
		return err
	}
	return s.fw.flush()
}

// sendNonZero sends every page that is not known untouched and not zero.
func (s *migSender) sendNonZero(ram *mem.RAM, untouched []uint64) (uint64, error) {
	data := ram.Bytes()
	pages := pagesOf(ram.Size())
	var sent uint64
	for p := uint64(0); p < pages; p++ {
		if untouched != nil && untouched[p>>6]&(1<<(p&63)) != 0 {
			continue
		}
		if isZeroPage(data[p*pageBytes : (p+1)*pageBytes]) {
			continue
		}
		s.pending = append(s.pending, p)
		sent++
		if len(s.pending) == pagesPerFrame {
			if err := s.flushPending(data); err != nil {
				return sent, err
			}
		}
	}
	return sent, s.flushPending(data)
}

// sendPages sends the listed pages: contents, or a zero mark for pages
// that are zero now (the target may hold older contents).
func (s *migSender) sendPages(data []byte, idx []uint64) error {
	for _, p := range idx {
		if isZeroPage(data[p*pageBytes : (p+1)*pageBytes]) {
			s.zeros = append(s.zeros, p)
			if len(s.zeros) == zeroPerFrame {
				if err := s.flushZeros(); err != nil {
					return err
				}
			}
			continue
		}
		s.pending = append(s.pending, p)
		if len(s.pending) == pagesPerFrame {
			if err := s.flushPending(data); err != nil {
				return err
			}
		}
	}
	if err := s.flushPending(data); err != nil {
		return err
	}
	return s.flushZeros()
}

func (s *migSender) flushPending(data []byte) error {
	if len(s.pending) == 0 {
		return nil
	}
	s.buf = encodePages(s.buf, s.pending, data, false)
	s.res.PagesSent += uint64(len(s.pending))
	s.pending = s.pending[:0]
	return s.fw.write(framePages, s.buf, true)
}

func (s *migSender) flushZeros() error {
	if len(s.zeros) == 0 {
		return nil
	}
	s.buf = encodePages(s.buf, s.zeros, nil, true)
	s.zeroSent += uint64(len(s.zeros))
	s.zeros = s.zeros[:0]
	return s.fw.write(frameZero, s.buf, false)
}

var zeroPage [pageBytes]byte

func isZeroPage(p []byte) bool { return bytes.Equal(p, zeroPage[:]) }

// commitMigration ends the VM here once it runs on the target: the run
// stops and the definition goes, as `popek rm` would remove it.
func (v *VM) commitMigration(o MigrateOptions) {
	m := v.mgr
	to := fmtTarget(o)
	v.mu.Lock()
	v.eventLocked(EventMigrated, "to "+to)
	v.mu.Unlock()
	if err := v.stopRun("migrated to "+to, true); err != nil {
		m.log.Warn("stopping a migrated VM", "vm", v.name, "err", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store.remove(v.name); err != nil {
		m.log.Error("removing a migrated VM's definition", "vm", v.name, "err", err)
	}
	delete(m.vms, v.name)
	for _, dir := range []string{m.vmSnapshots(v.name), m.vmDisks(v.name)} {
		if err := os.RemoveAll(dir); err != nil {
			m.log.Warn("removing a migrated VM's files", "vm", v.name, "dir", dir, "err", err)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.deleted = true
	v.eventLocked(EventDeleted, "migrated to "+to)
	m.log.Info("vm migrated", "vm", v.name, "target", to)
}
