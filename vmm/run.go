package vmm

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/riscv"
)

// vmRun is one run of a VM, from start to stop: a machine, replaced by a
// fresh one each time the guest reboots, watched by a supervisor goroutine.
// Fields after spec are guarded by vm.mu.
type vmRun struct {
	vm     *VM
	spec   *bootSpec
	group  *cpuGroup
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor has returned

	stopRequested bool
	machine       *board.Machine // nil between machines and after the end
	probes        []*hartProbe
	disks         []disk
	boots         int
	// users counts snapshot writers reading the machine outside mu; the
	// supervisor waits on usersIdle (with mu) before retiring a machine,
	// so guest RAM is never unmapped under a snapshot.
	users     int
	usersIdle *sync.Cond
	// lastSnap names the snapshot taken or reverted to last in this run:
	// the parent of the next incremental snapshot.
	lastSnap string

	// Totals of the machines already retired in this run.
	pastInstret []uint64 // per hart
	past        hartCounters
	pastDisks   []DiskStats
	pastExits   map[string]uint64 // exits of machines before a guest reboot

	// injectPanic is test-only fault injection: the next slice hook of any
	// hart panics, as a bug in emulation would.
	injectPanic atomic.Bool
}

// statsPublishEvery is how often a hart copies its counters for readers:
// riscv.Hart.Stats may only be called between slices, on its goroutine.
const statsPublishEvery = 20 * time.Millisecond

// hartProbe is the VMM's view of one hart of one machine: the slice hook
// counts instructions, publishes the hart's counters and runs the
// scheduler's meter.
type hartProbe struct {
	run     *vmRun
	hart    *riscv.Hart
	meter   *hartMeter
	instret atomic.Uint64

	mu     sync.Mutex
	snap   riscv.Stats
	snapAt time.Time // hart goroutine only
}

func (p *hartProbe) afterSlice(retired uint64) {
	p.instret.Add(retired)
	if p.run.injectPanic.Load() {
		p.run.injectPanic.Store(false)
		panic("vmm: injected fault")
	}
	if now := time.Now(); now.Sub(p.snapAt) >= statsPublishEvery {
		p.publish(p.hart.Stats())
		p.snapAt = now
	}
	p.meter.afterSlice()
}

func (p *hartProbe) publish(s riscv.Stats) {
	p.mu.Lock()
	p.snap = s
	p.mu.Unlock()
}

func (p *hartProbe) stats() riscv.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snap
}

// newProbes makes the probes of a machine of the run's shape and the
// slice hook that feeds them.
func (r *vmRun) newProbes() ([]*hartProbe, board.SliceHook) {
	probes := make([]*hartProbe, r.spec.board.Harts)
	for i := range probes {
		probes[i] = &hartProbe{run: r, meter: newHartMeter(r.group)}
	}
	return probes, func(hart int, retired uint64) { probes[hart].afterSlice(retired) }
}

// boot builds a fresh machine for the run.
func (r *vmRun) boot() (*board.Machine, []*hartProbe, []disk, error) {
	probes, hook := r.newProbes()
	m, disks, err := r.spec.newMachine(r.vm.console, hook)
	if err != nil {
		return nil, nil, nil, err
	}
	for i, h := range m.Harts() {
		probes[i].hart = h
	}
	return m, probes, disks, nil
}

// installLocked makes m the run's machine; a paused VM's new machine is
// paused before it runs.
func (r *vmRun) installLocked(m *board.Machine, probes []*hartProbe, disks []disk) {
	r.machine, r.probes, r.disks = m, probes, disks
	r.boots++
	if r.pastInstret == nil {
		r.pastInstret = make([]uint64, len(probes))
		r.pastDisks = make([]DiskStats, len(disks))
		for i, d := range r.spec.cfg.Drives {
			r.pastDisks[i].File = d.File
		}
	}
	if r.vm.state == StatePaused {
		m.Pause()
	}
}

// retireLocked folds the counters of the machine whose Run has returned
// into the run's totals and closes it (unmapping its RAM, which is why
// every reader of the machine holds vm.mu).
func (r *vmRun) retireLocked() {
	m := r.machine
	if m == nil {
		return
	}
	for i, p := range r.probes {
		s := p.hart.Stats() // Run has returned: no hart executes
		r.past.add(&s)
		r.pastInstret[i] += p.instret.Load()
		p.meter.close()
	}
	for i, d := range r.disks {
		addDisk(&r.pastDisks[i], d)
	}
	if r.pastExits == nil {
		r.pastExits = map[string]uint64{}
	}
	for k, n := range m.Exits() {
		r.pastExits[k] += n
	}
	if err := m.Close(); err != nil {
		r.vm.mgr.log.Warn("closing machine", "vm", r.vm.name, "err", err)
	}
	r.machine, r.probes, r.disks = nil, nil, nil
}

func addDisk(dst *DiskStats, d disk) {
	s := d.block.Stats()
	dst.ReadOps += s.ReadOps
	dst.ReadBytes += s.ReadBytes
	dst.WriteOps += s.WriteOps
	dst.WriteBytes += s.WriteBytes
	dst.FlushOps += s.FlushOps
	dst.Errors += s.Errors
}

// supervise runs machines until the guest stops for good or the VM is
// stopped. Nothing that goes wrong in here may escape: a panic ends this
// VM's run in StateError and the daemon carries on.
func (r *vmRun) supervise() {
	defer close(r.done)
	defer func() {
		if p := recover(); p != nil {
			r.fail(fmt.Errorf("vmm: supervisor panic: %v", p), debug.Stack())
		}
	}()
	for {
		m := r.currentMachine()
		st, err := m.Run(r.ctx)
		if r.retire() {
			return // Stop finishes the bookkeeping
		}
		switch {
		case err != nil || st.Kind == board.ExitError:
			if err == nil {
				err = fmt.Errorf("machine failed: %v", st)
			}
			r.fail(err, nil)
			return
		case st.Kind == board.ExitReset && !r.spec.cfg.NoReboot:
			if !r.reboot() {
				return
			}
		default:
			r.finish(exitText(st))
			return
		}
	}
}

func exitText(st board.ExitStatus) string {
	switch st.Kind {
	case board.ExitPoweroff:
		return "guest powered off"
	case board.ExitReset:
		return "guest rebooted (no_reboot)"
	case board.ExitFail:
		return fmt.Sprintf("guest failed with code %d", st.Code)
	case board.ExitToHost:
		if st.Code == 0 {
			return "guest passed (tohost)"
		}
		return fmt.Sprintf("guest failed with tohost code %d", st.Code)
	case board.ExitCanceled:
		return "stopped"
	}
	return st.String()
}

func (r *vmRun) currentMachine() *board.Machine {
	r.vm.mu.Lock()
	defer r.vm.mu.Unlock()
	return r.machine
}

// retire closes the machine that ended and reports whether a Stop is in
// charge of the run.
func (r *vmRun) retire() bool {
	r.vm.mu.Lock()
	defer r.vm.mu.Unlock()
	r.waitUsersLocked()
	r.retireLocked()
	return r.stopRequested
}

// reboot replaces the machine after a guest reboot; false means the run
// is over.
func (r *vmRun) reboot() bool {
	m, probes, disks, err := r.boot()
	v := r.vm
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		r.endLocked(StateError, "reboot failed", err.Error())
		return false
	}
	if r.stopRequested {
		m.Close()
		return false
	}
	r.installLocked(m, probes, disks)
	v.eventLocked(EventRebooted, "guest rebooted")
	v.mgr.log.Info("vm rebooted by guest", "vm", v.name, "boots", r.boots)
	return true
}

// finish ends the run normally (the guest powered off or stopped).
func (r *vmRun) finish(exit string) {
	v := r.vm
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.stopRequested || v.run != r {
		return
	}
	r.endLocked(StateStopped, exit, "")
	v.mgr.log.Info("vm stopped", "vm", v.name, "exit", exit)
}

// fail ends the run with StateError after an emulator failure or a panic.
func (r *vmRun) fail(err error, stack []byte) {
	v := r.vm
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.machine != nil {
		r.waitUsersLocked()
		r.machine.Close() // after a supervisor panic the harts may still run
		r.retireLocked()
	}
	if r.stopRequested || v.run != r {
		return
	}
	r.endLocked(StateError, "failed", err.Error())
	attrs := []any{"vm", v.name, "err", err}
	if stack != nil {
		attrs = append(attrs, "stack", string(stack))
	}
	v.mgr.log.Error("vm failed", attrs...)
}

// acquireMachineLocked lends the current machine to a reader that works
// without mu (a snapshot); releaseMachine gives it back.
func (r *vmRun) acquireMachineLocked() *board.Machine {
	if r.machine != nil {
		r.users++
	}
	return r.machine
}

func (r *vmRun) releaseMachine() {
	r.vm.mu.Lock()
	defer r.vm.mu.Unlock()
	r.users--
	r.usersIdle.Broadcast()
}

// waitUsersLocked waits (releasing mu meanwhile) until no snapshot reads
// the machine.
func (r *vmRun) waitUsersLocked() {
	for r.users > 0 {
		r.usersIdle.Wait()
	}
}

// endLocked ends the run: the VM is left in state with the reason.
func (r *vmRun) endLocked(state State, exit, errMsg string) {
	r.closeLocked(state, exit, errMsg)
	if state == StateError {
		r.vm.eventLocked(EventFailed, errMsg)
	} else {
		r.vm.eventLocked(EventStopped, exit)
	}
}

// closeLocked ends the run without an event (a revert replaces the run
// and announces that instead).
func (r *vmRun) closeLocked(state State, exit, errMsg string) {
	v := r.vm
	r.retireLocked()
	v.last = r.statsLocked()
	r.group.leave()
	r.cancel()
	v.mgr.reserveProcs(-r.spec.board.Harts)
	v.run = nil
	v.state, v.lastExit, v.lastErr = state, exit, errMsg
	v.last.State = state
}

// statsLocked assembles the run's statistics.
func (r *vmRun) statsLocked() *VMStats {
	v := r.vm
	st := &VMStats{Name: v.name, State: v.state, VCPUs: r.spec.board.Harts, Boots: r.boots,
		MemoryBytes: r.spec.board.MemSize}
	if !v.startedAt.IsZero() {
		st.UptimeSeconds = time.Since(v.startedAt).Seconds()
	}
	counters := r.past
	st.Harts = make([]HartStats, r.spec.board.Harts)
	for i := range st.Harts {
		st.Harts[i].ID = i
		if r.pastInstret != nil {
			st.Harts[i].InstructionsRetired = r.pastInstret[i]
		}
	}
	for i, p := range r.probes {
		s := p.stats()
		counters.add(&s)
		st.Harts[i].InstructionsRetired += p.instret.Load()
	}
	for _, h := range st.Harts {
		st.InstructionsRetired += h.InstructionsRetired
	}
	counters.fill(st)
	used, throttled := r.group.totals()
	st.VCPUSeconds, st.ThrottledSeconds = seconds(used), seconds(throttled)
	st.Disks = append([]DiskStats(nil), r.pastDisks...)
	for i, d := range r.disks {
		addDisk(&st.Disks[i], d)
		st.Disks[i].Throttled = d.lim.Throttled()
	}
	st.Exits = map[string]uint64{}
	for k, n := range r.pastExits {
		st.Exits[k] += n
	}
	if r.machine != nil {
		st.ResidentBytes = residentBytes(r.machine.RAM().Bytes())
		for k, n := range r.machine.Exits() {
			st.Exits[k] += n
		}
		for _, d := range r.machine.VirtioDevices() {
			switch d := d.(type) {
			case *virtio.Balloon:
				st.Balloon = &BalloonStats{TargetBytes: uint64(d.Target()) << 12, ActualBytes: uint64(d.Actual()) << 12}
			case *virtio.Console:
				if s := d.Socket(); s != nil {
					st.VirtioConsole = &VirtioConsoleStats{Connected: s.Connected(), InputDroppedBytes: d.Dropped(), OutputDroppedBytes: s.Dropped()}
				}
			}
		}
	}
	return st
}

// refreshProbesLocked copies every hart's counters directly; the machine
// is paused, so no hart executes.
func (r *vmRun) refreshProbesLocked() {
	for _, p := range r.probes {
		p.publish(p.hart.Stats())
	}
}
