package vmm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/popek-vm/popek/snapshot"
)

// Options configure a Manager.
type Options struct {
	// StateDir holds the VM definitions (required).
	StateDir string
	// Logger receives lifecycle and failure lines; nil discards them.
	Logger *slog.Logger
	// CPUCapacity is the number of host cores the VMs share for cpu_weight
	// (0: all of them).
	CPUCapacity float64
	// Backends create devices popek has no built-in model for.
	Backends Backends
	// KeepGOMAXPROCS stops the manager from raising GOMAXPROCS (see
	// Manager.reserveProcs).
	KeepGOMAXPROCS bool
}

// Manager hosts many VMs. Each VM's machine runs on its own goroutines; a
// failure in one (even a Go panic in emulation or device code) stops that
// VM in StateError and leaves the others and the daemon running. Every
// method is safe for concurrent use.
type Manager struct {
	opts   Options
	log    *slog.Logger
	store  *store
	sched  *Scheduler
	events *eventLog
	guest  defaultGuest

	mu     sync.Mutex // guards vms and closed; held while a definition file changes
	vms    map[string]*VM
	closed bool

	procsMu      sync.Mutex
	runningHarts int // vCPUs of the VMs with a machine

	// tmplMu serialises template changes with the creation of VMs from
	// templates; it is taken before mu. tmplCache holds the templates
	// opened (verified) for cloning.
	tmplMu    sync.Mutex
	tmplCache map[string]*snapshot.Snapshot

	// incoming holds the names of VMs being received by live migration
	// (guarded by mu): Create refuses them until the migration ends.
	incoming map[string]bool
}

// reserveProcs accounts for n more (or, negative, fewer) running vCPUs and
// raises GOMAXPROCS to the host's cores plus every running vCPU. Each hart
// goroutine is locked to its own thread, and the scheduler measures demand
// from those threads' kernel run-queue time: that only works if the Go
// scheduler never keeps a runnable hart waiting for a P, so the kernel
// rather than Go arbitrates between harts. It never lowers GOMAXPROCS.
func (m *Manager) reserveProcs(n int) {
	m.procsMu.Lock()
	defer m.procsMu.Unlock()
	m.runningHarts += n
	if m.opts.KeepGOMAXPROCS {
		return
	}
	if want := runtime.NumCPU() + m.runningHarts; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
}

// Open loads the definitions in opts.StateDir (they come back stopped) and
// starts those marked autostart. Definitions that cannot be read are
// logged and skipped.
func Open(opts Options) (*Manager, error) {
	if opts.StateDir == "" {
		return nil, errors.New("vmm: no state directory")
	}
	st, err := openStore(opts.StateDir)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := &Manager{opts: opts, log: log, store: st, sched: NewScheduler(opts.CPUCapacity),
		events: newEventLog(), vms: map[string]*VM{}, tmplCache: map[string]*snapshot.Snapshot{},
		incoming: map[string]bool{}}
	recs, bad, err := st.loadAll()
	if err != nil {
		return nil, err
	}
	for _, b := range bad {
		log.Error("skipping unreadable VM definition", "file", b)
	}
	m.cleanSnapshotLeftovers()
	for _, rec := range recs {
		v := newVM(m, rec.Config, rec.CreatedAt)
		v.clonePending = rec.ClonePending
		m.vms[rec.Config.Name] = v
		cleanRevertLeftovers(rec.Config)
	}
	for _, rec := range recs {
		if rec.Config.Autostart {
			if _, err := m.Start(rec.Config.Name); err != nil {
				log.Error("autostart failed", "vm", rec.Config.Name, "err", err)
			}
		}
	}
	return m, nil
}

// Close stops every VM (their definitions stay) and makes further
// operations fail.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	vms := make([]*VM, 0, len(m.vms))
	for _, v := range m.vms {
		vms = append(vms, v)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					m.log.Error("stopping VM at shutdown panicked", "vm", v.name, "panic", p)
				}
			}()
			v.opMu.Lock()
			defer v.opMu.Unlock()
			v.stopOp("daemon shut down") // a VM that is not running just refuses
		}()
	}
	wg.Wait()
	return nil
}

// Scheduler returns the CPU scheduler shared by the VMs.
func (m *Manager) Scheduler() *Scheduler { return m.sched }

func (m *Manager) vm(name string) (*VM, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errorf(KindConflict, "the daemon is shutting down")
	}
	v, ok := m.vms[name]
	if !ok {
		return nil, errorf(KindNotFound, "no VM named %q", name)
	}
	return v, nil
}

// Create defines a VM from a config document (defaults are filled in).
// Nothing changes unless the whole document is valid. A document naming a
// template defines a clone of it (see cloneConfig): only name, template,
// autostart, no_reboot, cpu_weight, cpu_cap, nets, vsock and
// virtio_console may be given.
func (m *Manager) Create(cfg *Config) (VMInfo, error) {
	if cfg == nil {
		return VMInfo{}, errorf(KindInvalid, "config: missing")
	}
	c := cfg.Clone()
	if c.Template != "" {
		if err := ValidName(c.Name); err != nil {
			return VMInfo{}, err
		}
		if err := ValidName(c.Template); err != nil {
			return VMInfo{}, errorf(KindInvalid, "template: %v", err)
		}
		m.tmplMu.Lock()
		defer m.tmplMu.Unlock() // a template in use cannot go away meanwhile
		var err error
		if c, err = m.cloneConfig(c); err != nil {
			return VMInfo{}, err
		}
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return VMInfo{}, err
	}
	if err := m.opts.Backends.check(c); err != nil {
		return VMInfo{}, err
	}
	if err := c.CheckHost(); err != nil {
		return VMInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return VMInfo{}, errorf(KindConflict, "the daemon is shutting down")
	}
	if _, dup := m.vms[c.Name]; dup || m.incoming[c.Name] {
		return VMInfo{}, errorf(KindConflict, "a VM named %q already exists", c.Name)
	}
	// Files left by an earlier VM of this name (a crash while deleting it).
	os.RemoveAll(m.vmSnapshots(c.Name))
	os.RemoveAll(m.vmDisks(c.Name))
	created := time.Now().UTC().Truncate(time.Second)
	pending := c.Template != ""
	if err := m.store.save(storedVM{CreatedAt: created, Config: c, ClonePending: pending}); err != nil {
		return VMInfo{}, errorf(KindInternal, "saving VM %q: %v", c.Name, err)
	}
	v := newVM(m, c, created)
	v.clonePending = pending
	m.vms[c.Name] = v
	v.mu.Lock()
	defer v.mu.Unlock()
	v.eventLocked(EventCreated, "")
	m.log.Info("vm created", "vm", c.Name)
	return v.infoLocked(), nil
}

// List describes every VM, by name.
func (m *Manager) List() []VMInfo {
	m.mu.Lock()
	vms := make([]*VM, 0, len(m.vms))
	for _, v := range m.vms {
		vms = append(vms, v)
	}
	m.mu.Unlock()
	out := make([]VMInfo, 0, len(vms))
	for _, v := range vms {
		out = append(out, v.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get describes one VM.
func (m *Manager) Get(name string) (VMInfo, error) {
	v, err := m.vm(name)
	if err != nil {
		return VMInfo{}, err
	}
	return v.info(), nil
}

// Delete removes a stopped VM's definition, with its snapshots and the
// disk overlays the daemon made for it; force stops it first.
func (m *Manager) Delete(name string, force bool) error {
	v, err := m.lockedVM(name)
	if err != nil {
		return err
	}
	defer v.opMu.Unlock()
	v.mu.Lock()
	st := v.state
	v.mu.Unlock()
	if st == StateRunning || st == StatePaused {
		if !force {
			return errorf(KindConflict, "cannot delete VM %q: it is %s (stop it first, or force)", name, st)
		}
		if err := v.stopOp("deleted"); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store.remove(name); err != nil {
		return errorf(KindInternal, "removing VM %q: %v", name, err)
	}
	delete(m.vms, name)
	for _, dir := range []string{m.vmSnapshots(name), m.vmDisks(name)} {
		if err := os.RemoveAll(dir); err != nil {
			m.log.Warn("removing a deleted VM's files", "vm", name, "dir", dir, "err", err) // Open retries
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.deleted = true
	v.eventLocked(EventDeleted, "")
	m.log.Info("vm deleted", "vm", name)
	return nil
}

// lockedVM returns the VM called name with its operation lock held: the
// caller unlocks v.opMu.
func (m *Manager) lockedVM(name string) (*VM, error) {
	v, err := m.vm(name)
	if err != nil {
		return nil, err
	}
	if err := v.lockOp(); err != nil {
		return nil, err
	}
	return v, nil
}

// op runs a lifecycle operation under the VM's operation lock.
func (m *Manager) op(name string, f func(*VM) error) (VMInfo, error) {
	v, err := m.lockedVM(name)
	if err != nil {
		return VMInfo{}, err
	}
	defer v.opMu.Unlock()
	if err := f(v); err != nil {
		return VMInfo{}, err
	}
	return v.info(), nil
}

// Start boots a stopped (or failed) VM.
func (m *Manager) Start(name string) (VMInfo, error) { return m.op(name, (*VM).startOp) }

// Stop powers a running or paused VM off at once (no guest shutdown).
func (m *Manager) Stop(name string) (VMInfo, error) {
	return m.op(name, func(v *VM) error { return v.stopOp("stopped by request") })
}

// Pause freezes a running VM; guest time stops with it.
func (m *Manager) Pause(name string) (VMInfo, error) { return m.op(name, (*VM).pauseOp) }

// Resume continues a paused VM; guest time continues from where it stopped.
func (m *Manager) Resume(name string) (VMInfo, error) { return m.op(name, (*VM).resumeOp) }

// Reboot hard-resets a running or paused VM: a fresh machine boots.
func (m *Manager) Reboot(name string) (VMInfo, error) { return m.op(name, (*VM).rebootOp) }

// Stats returns a VM's statistics (those of its last run when stopped).
func (m *Manager) Stats(name string) (VMStats, error) {
	v, err := m.vm(name)
	if err != nil {
		return VMStats{}, err
	}
	return v.stats(), nil
}

// AllStats returns every VM's statistics, by name.
func (m *Manager) AllStats() []VMStats {
	var out []VMStats
	for _, in := range m.List() {
		if st, err := m.Stats(in.Name); err == nil {
			out = append(out, st)
		}
	}
	return out
}

func (v *VM) stats() VMStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.run != nil {
		return *v.run.statsLocked()
	}
	if v.last != nil {
		st := *v.last
		st.State, st.UptimeSeconds = v.state, 0
		return st
	}
	mem, _ := v.cfg.MemoryBytes()
	return VMStats{Name: v.name, State: v.state, VCPUs: v.cfg.VCPUs, MemoryBytes: mem,
		Exceptions: map[string]uint64{}, Interrupts: map[string]uint64{}}
}

// consoleChunk bounds one write into the UART, so a guest that does not
// read its console holds an input request only until its context ends.
const consoleChunk = 16

// ConsoleInput types data on a running VM's serial console. It waits while
// the guest drains its UART and gives up when ctx ends.
func (m *Manager) ConsoleInput(ctx context.Context, name string, data []byte) (int, error) {
	v, err := m.vm(name)
	if err != nil {
		return 0, err
	}
	v.inputMu.Lock()
	defer v.inputMu.Unlock()
	n := 0
	for n < len(data) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		v.mu.Lock()
		var con io.Writer
		if v.state == StateRunning && v.run != nil && v.run.machine != nil {
			con = v.run.machine.Console()
		}
		state := v.state
		v.mu.Unlock()
		if con == nil {
			return n, errorf(KindConflict, "cannot type on VM %q: it is %s", name, state)
		}
		k, err := con.Write(data[n:min(len(data), n+consoleChunk)])
		n += k
		if err != nil {
			return n, errorf(KindConflict, "VM %q stopped while typing", name)
		}
	}
	return n, nil
}

// Console returns a VM's console output stream.
func (m *Manager) Console(name string) (*ConsoleStream, error) {
	v, err := m.vm(name)
	if err != nil {
		return nil, err
	}
	return &ConsoleStream{log: v.console}, nil
}

// ConsoleStream reads a VM's console output by absolute stream offset.
type ConsoleStream struct{ log *consoleLog }

// Offsets returns the oldest offset still retained (scrollback start) and
// the current end of the stream.
func (s *ConsoleStream) Offsets() (oldest, end uint64) { return s.log.Offsets() }

// ReadAt reads output at pos, waiting for some; see consoleLog.ReadAt.
func (s *ConsoleStream) ReadAt(ctx context.Context, p []byte, pos uint64) (n int, next, lost uint64, err error) {
	return s.log.ReadAt(ctx, p, pos)
}

// LastEvent is the sequence number of the newest event.
func (m *Manager) LastEvent() uint64 { return m.events.Last() }

// EventSeqBefore is the sequence number to pass to WaitEvents to get the
// events at or after t.
func (m *Manager) EventSeqBefore(t time.Time) uint64 { return m.events.SinceTime(t) }

// WaitEvents returns the retained events after seq, waiting for one.
func (m *Manager) WaitEvents(ctx context.Context, after uint64) ([]Event, error) {
	return m.events.Wait(ctx, after)
}

// injectFault makes the VM's next hart slice panic inside emulation
// (tests only: shows that a fault stays inside its VM).
func (m *Manager) injectFault(name string) error {
	v, err := m.vm(name)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.run == nil {
		return v.conflict("inject a fault into")
	}
	v.run.injectPanic.Store(true)
	return nil
}
