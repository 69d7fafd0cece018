package vmm

import (
	"context"
	"sync"
	"time"

	"github.com/popek-vm/popek/board"
)

// Lifecycle operations. Each holds the VM's opMu throughout, checks the
// state under mu before doing anything, and either completes or leaves the
// VM exactly as it was.

// lockOp takes opMu and fails if the VM was deleted meanwhile.
func (v *VM) lockOp() error {
	v.opMu.Lock()
	v.mu.Lock()
	deleted := v.deleted
	v.mu.Unlock()
	if deleted {
		v.opMu.Unlock()
		return errorf(KindNotFound, "no VM named %q", v.name)
	}
	return nil
}

func (v *VM) conflict(op string) error {
	return errorf(KindConflict, "cannot %s VM %q: it is %s", op, v.name, v.state)
}

// startOp boots the VM; opMu is held.
func (v *VM) startOp() error {
	v.mu.Lock()
	if v.state != StateStopped && v.state != StateError {
		defer v.mu.Unlock()
		return v.conflict("start")
	}
	cfg, pending := v.cfg, v.clonePending
	v.mu.Unlock()
	spec, err := v.prepare(cfg)
	if err != nil {
		return err
	}
	if pending {
		return v.startClone(spec)
	}
	return v.launch(spec)
}

// prepare reads everything a start needs, so that a start or reboot that
// cannot succeed fails before it changes anything.
func (v *VM) prepare(cfg *Config) (*bootSpec, error) {
	if err := cfg.CheckHost(); err != nil {
		return nil, err
	}
	return newBootSpec(cfg, v.mgr.opts.Backends, &v.mgr.guest)
}

// launch boots the first machine and starts the supervisor.
func (v *VM) launch(spec *bootSpec) error {
	return v.launchWith(spec, (*vmRun).boot, launchOptions{event: EventStarted, message: spec.String()})
}

// machineBuilder makes a run's first machine: a fresh boot, or a machine
// restored or cloned from a snapshot.
type machineBuilder func(r *vmRun) (*board.Machine, []*hartProbe, []disk, error)

type launchOptions struct {
	paused         bool   // install the machine paused
	event, message string // announced once it is installed
	lastSnap       string // the run's parent for incremental snapshots
}

// launchWith starts a run whose first machine comes from build.
func (v *VM) launchWith(spec *bootSpec, build machineBuilder, o launchOptions) error {
	cfg := spec.cfg
	ctx, cancel := context.WithCancel(context.Background())
	r := &vmRun{vm: v, spec: spec, ctx: ctx, cancel: cancel, done: make(chan struct{}), lastSnap: o.lastSnap}
	r.usersIdle = sync.NewCond(&v.mu)
	r.group = v.mgr.sched.join(cfg.CPUWeight, cfg.VCPUs, cfg.CPUCap)
	m, probes, disks, err := build(r)
	if err != nil {
		r.group.leave()
		cancel()
		return err
	}
	v.mgr.reserveProcs(cfg.VCPUs)

	v.mu.Lock()
	defer v.mu.Unlock()
	v.run = r
	v.state, v.lastExit, v.lastErr = StateRunning, "", ""
	if o.paused {
		v.state = StatePaused
		r.group.setSuspended(true)
	}
	v.startedAt = time.Now()
	v.last = nil
	r.installLocked(m, probes, disks)
	go r.supervise()
	v.eventLocked(o.event, o.message)
	v.mgr.log.Info("vm "+o.event, "vm", v.name, "how", o.message)
	return nil
}

// stopOp tears the machine down and waits for it; opMu is held.
func (v *VM) stopOp(exit string) error { return v.stopRun(exit, false) }

// stopRun is stopOp; quiet sends no stopped event, for a revert that
// replaces the run at once.
func (v *VM) stopRun(exit string, quiet bool) error {
	v.mu.Lock()
	r := v.run
	if r == nil || (v.state != StateRunning && v.state != StatePaused) {
		defer v.mu.Unlock()
		return v.conflict("stop")
	}
	r.stopRequested = true
	v.state = StateStopping
	r.group.setSuspended(true)
	r.cancel()
	v.mu.Unlock()

	<-r.done

	v.mu.Lock()
	defer v.mu.Unlock()
	if quiet {
		r.closeLocked(StateStopped, exit, "")
	} else {
		r.endLocked(StateStopped, exit, "")
	}
	v.mgr.log.Info("vm stopped", "vm", v.name, "exit", exit)
	return nil
}

// pauseOp freezes every hart at an instruction boundary; the board stops
// guest time with it.
func (v *VM) pauseOp() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != StateRunning {
		return v.conflict("pause")
	}
	r := v.run
	r.group.setSuspended(true) // cut throttling sleeps short: Pause waits for every hart
	if r.machine != nil {
		r.machine.Pause()
		r.refreshProbesLocked()
	}
	v.state = StatePaused
	v.eventLocked(EventPaused, "")
	return nil
}

func (v *VM) resumeOp() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != StatePaused {
		return v.conflict("resume")
	}
	r := v.run
	if r.machine != nil {
		r.machine.Resume()
	}
	r.group.setSuspended(false)
	v.state = StateRunning
	v.eventLocked(EventResumed, "")
	return nil
}

// rebootOp replaces the machine with a freshly booted one (a hard reset).
// The new boot is prepared first, so a reboot that cannot boot again
// leaves the VM running.
func (v *VM) rebootOp() error {
	v.mu.Lock()
	st, cfg := v.state, v.cfg
	v.mu.Unlock()
	if st != StateRunning && st != StatePaused {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.conflict("reboot")
	}
	spec, err := v.prepare(cfg)
	if err != nil {
		return err
	}
	if err := v.stopOp("rebooted by request"); err != nil {
		return err
	}
	if err := v.launch(spec); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.eventLocked(EventRebooted, "rebooted by request")
	return nil
}
