package vmm

import (
	"sync"
	"time"
)

// State is a VM's lifecycle state.
type State string

const (
	StateStopped  State = "stopped"  // defined, no machine
	StateRunning  State = "running"  // its harts run
	StatePaused   State = "paused"   // frozen at an instruction boundary, guest time stopped
	StateStopping State = "stopping" // a stop is tearing the machine down
	StateError    State = "error"    // stopped by a failure; VMInfo.Error says which
)

// VMInfo describes a VM (GET /v1/vms/{name}).
type VMInfo struct {
	Name      string     `json:"name"`
	State     State      `json:"state"`
	Config    *Config    `json:"config"`
	CreatedAt time.Time  `json:"created_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Boots     int        `json:"boots,omitempty"`     // machines booted in the current or last run
	LastExit  string     `json:"last_exit,omitempty"` // how the last run ended
	Error     string     `json:"error,omitempty"`     // the failure behind StateError
	// ClonePending is set on a VM created from a template until its first
	// start, which clones the template instead of booting.
	ClonePending bool `json:"clone_pending,omitempty"`
}

// VM is one defined virtual machine. opMu serialises lifecycle operations
// (held for their whole length, so they never interleave); mu guards the
// fields and is held only briefly, never while waiting for a machine to
// stop, so that readers and the run's supervisor are never blocked long.
type VM struct {
	mgr     *Manager
	name    string
	console *consoleLog
	inputMu sync.Mutex // one console writer at a time, so inputs do not interleave

	opMu sync.Mutex

	mu        sync.Mutex
	cfg       *Config
	createdAt time.Time
	state     State
	deleted   bool
	// clonePending: the first start clones cfg.Template (see startClone).
	clonePending bool
	run          *vmRun // nil unless running, paused or stopping
	startedAt    time.Time
	lastExit     string
	lastErr      string
	last         *VMStats // statistics of the last run, once it has ended
}

func newVM(mgr *Manager, cfg *Config, created time.Time) *VM {
	return &VM{mgr: mgr, name: cfg.Name, cfg: cfg, createdAt: created, state: StateStopped, console: newConsoleLog()}
}

// info returns the VM's description; mu is held.
func (v *VM) infoLocked() VMInfo {
	in := VMInfo{Name: v.name, State: v.state, Config: v.cfg.Clone(), CreatedAt: v.createdAt,
		LastExit: v.lastExit, Error: v.lastErr, ClonePending: v.clonePending}
	if !v.startedAt.IsZero() {
		t := v.startedAt
		in.StartedAt = &t
	}
	if v.run != nil {
		in.Boots = v.run.boots
	} else if v.last != nil {
		in.Boots = v.last.Boots
	}
	return in
}

func (v *VM) info() VMInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.infoLocked()
}

// event records a lifecycle change; mu is held so events come in order.
func (v *VM) eventLocked(typ, msg string) {
	v.mgr.events.add(Event{VM: v.name, Type: typ, State: v.state, Message: msg})
}
