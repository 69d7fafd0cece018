package vswitch

import (
	"fmt"
	"sync"
)

// Registry holds the named switches of one process (or daemon), so every
// --net switch=NAME with the same NAME joins the same segment and different
// names stay isolated. With Options.HostDir, Join makes the segments
// host-wide: shared with the other processes using the same directory.
type Registry struct {
	opts     Options
	mu       sync.Mutex
	switches map[string]*Switch
	hubs     map[string]*hub // host-wide switches this process hosts
	closed   bool
}

// NewRegistry returns an empty registry whose switches use opts.
func NewRegistry(opts Options) *Registry {
	return &Registry{opts: opts, switches: make(map[string]*Switch)}
}

// Connect plugs a new port into the switch called name, creating it on
// first use.
func (r *Registry) Connect(name string) (*Port, error) {
	if name == "" {
		return nil, fmt.Errorf("vswitch: empty switch name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.switches[name]
	if !ok {
		s = New(name, r.opts)
		r.switches[name] = s
	}
	return s.Connect(), nil
}

// Switch returns the switch called name, if it exists.
func (r *Registry) Switch(name string) (*Switch, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.switches[name]
	return s, ok
}

// Names lists the switches that exist.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.switches))
	for n := range r.switches {
		names = append(names, n)
	}
	return names
}
