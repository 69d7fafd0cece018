package vmm

import (
	"context"
	"fmt"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
)

// BalloonConfig adds a virtio memory balloon (after the RNG). The
// balloon's size is memory the host asks the guest to give back: the
// guest's driver takes that much out of use and the host frees it
// (madvise), so the VM's host footprint shrinks. Free pages the guest
// reports are freed as well. The size is changed at run time with
// Manager.SetBalloon (PUT /v1/vms/NAME/balloon, popek balloon NAME SIZE),
// as Firecracker's balloon amount is.
type BalloonConfig struct {
	// Size is the balloon's size at boot (a bare number means MiB; default
	// 0: the guest keeps all its memory until the host asks).
	Size Size `json:"size,omitempty" yaml:"size,omitempty"`
}

// bytes is the parsed size; a nil config is no balloon.
func (b *BalloonConfig) bytes() (uint64, error) {
	if b == nil || b.Size == "" {
		return 0, nil
	}
	return parseSize(string(b.Size), 20)
}

func (b *BalloonConfig) validate(c *Config) error {
	n, err := b.bytes()
	if err != nil {
		return err
	}
	return checkBalloonSize(c, n)
}

// checkBalloonSize refuses a balloon as large as the guest's memory: Linux
// would hand over pages until it runs out of memory.
func checkBalloonSize(c *Config, n uint64) error {
	if n == 0 {
		return nil
	}
	mem, err := c.MemoryBytes()
	if err != nil {
		return nil // reported as the memory field's problem
	}
	if n >= mem {
		return fmt.Errorf("%s is not less than the VM's memory (%s)", formatSize(n), formatSize(mem))
	}
	return nil
}

// BalloonInfo is a VM's balloon as the host sees it.
type BalloonInfo struct {
	// TargetBytes is the size the host asked for, ActualBytes what the
	// guest has put in the balloon so far (it follows the target when the
	// driver runs; pages are handed over in 4 KiB units).
	TargetBytes uint64 `json:"target_bytes"`
	ActualBytes uint64 `json:"actual_bytes"`
	// GuestMemoryBytes is the VM's memory less the balloon's actual size.
	GuestMemoryBytes uint64 `json:"guest_memory_bytes"`
	// Stats are the guest's latest memory statistics (virtio-balloon stats
	// queue: free_memory, available_memory, total_memory, disk_caches in
	// bytes; swap_in/out, major/minor_faults and hugetlb_* as counts).
	Stats map[string]uint64 `json:"stats,omitempty"`
	// StatsFresh says the guest answered this request's call for fresh
	// statistics; when false, Stats (if any) are older ones.
	StatsFresh bool `json:"stats_fresh"`
}

// BalloonRequest sets a running VM's balloon size.
type BalloonRequest struct {
	// Size is the new balloon size (a bare number means MiB; 0 gives the
	// guest all its memory back).
	Size Size `json:"size"`
}

// balloonStatNames are the spec's statistic tags.
var balloonStatNames = map[uint16]string{
	virtio.BalloonStatSwapIn: "swap_in", virtio.BalloonStatSwapOut: "swap_out",
	virtio.BalloonStatMajorFaults: "major_faults", virtio.BalloonStatMinorFaults: "minor_faults",
	virtio.BalloonStatFreeMemory: "free_memory", virtio.BalloonStatTotalMemory: "total_memory",
	virtio.BalloonStatAvailableMemory: "available_memory", virtio.BalloonStatDiskCaches: "disk_caches",
	virtio.BalloonStatHugetlbAllocs: "hugetlb_allocations", virtio.BalloonStatHugetlbFailures: "hugetlb_failures",
}

// balloonStatsWait bounds how long Balloon waits for the guest to answer
// a call for fresh statistics.
const balloonStatsWait = time.Second

// balloon returns the running machine's balloon and the run's boot spec
// (its cfg is the config the machine was built from: a template clone's
// is the template's), or an error saying why there is none.
func (v *VM) balloon() (*virtio.Balloon, *bootSpec, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if (v.state != StateRunning && v.state != StatePaused) || v.run == nil || v.run.machine == nil {
		if v.cfg.Balloon == nil && v.cfg.Template == "" {
			return nil, nil, errorf(KindConflict, "VM %q has no balloon: add balloon: {} to its config", v.name)
		}
		return nil, nil, errorf(KindConflict, "VM %q is %s: the balloon exists only while it runs", v.name, v.state)
	}
	for _, d := range v.run.machine.VirtioDevices() {
		if b, ok := d.(*virtio.Balloon); ok {
			return b, v.run.spec, nil
		}
	}
	return nil, nil, errorf(KindConflict, "VM %q has no balloon: add balloon: {} to its config", v.name)
}

// Balloon reports a running or paused VM's balloon. A running guest is
// first asked for fresh statistics, waiting up to a second for them.
func (m *Manager) Balloon(ctx context.Context, name string) (BalloonInfo, error) {
	v, err := m.vm(name)
	if err != nil {
		return BalloonInfo{}, err
	}
	b, spec, err := v.balloon()
	if err != nil {
		return BalloonInfo{}, err
	}
	fresh := false
	if v.info().State == StateRunning {
		before := b.StatsUpdates()
		if b.RequestStats() {
			ctx, cancel := context.WithTimeout(ctx, balloonStatsWait)
			defer cancel()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for !fresh && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-tick.C:
					fresh = b.StatsUpdates() != before
				}
			}
		}
	}
	in := balloonInfo(b, spec.cfg)
	in.StatsFresh = fresh
	return in, nil
}

func balloonInfo(b *virtio.Balloon, cfg *Config) BalloonInfo {
	mem, _ := cfg.MemoryBytes()
	in := BalloonInfo{TargetBytes: uint64(b.Target()) << 12, ActualBytes: uint64(b.Actual()) << 12}
	in.GuestMemoryBytes = mem - min(mem, in.ActualBytes)
	for _, s := range b.Stats() {
		name, ok := balloonStatNames[s.Tag]
		if !ok {
			name = fmt.Sprintf("tag_%d", s.Tag)
		}
		if in.Stats == nil {
			in.Stats = map[string]uint64{}
		}
		in.Stats[name] = s.Value
	}
	return in
}

// SetBalloon changes a running or paused VM's balloon size; the guest's
// driver inflates or deflates toward it on its own time (a paused guest
// once it resumes). The size holds across guest reboots until the VM
// stops; the config's boot size is unchanged.
func (m *Manager) SetBalloon(name string, size Size) (BalloonInfo, error) {
	v, err := m.vm(name)
	if err != nil {
		return BalloonInfo{}, err
	}
	n, err := parseSize(string(size), 20)
	if err != nil {
		return BalloonInfo{}, errorf(KindInvalid, "balloon size: %v", err)
	}
	b, spec, err := v.balloon()
	if err != nil {
		return BalloonInfo{}, err
	}
	cfg := spec.cfg
	if err := checkBalloonSize(cfg, n); err != nil {
		return BalloonInfo{}, errorf(KindInvalid, "balloon size: %v", err)
	}
	pages := uint32(n >> 12)
	spec.balloonPages.Store(&pages) // for the machine a guest reboot builds
	b.SetTarget(pages)
	m.log.Info("balloon size set", "vm", name, "bytes", n)
	return balloonInfo(b, cfg), nil
}
