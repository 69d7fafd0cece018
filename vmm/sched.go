package vmm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduler shares host CPU among the VMs by duty-cycling their harts: the
// board calls a hook after every run slice of a hart, the hook charges the
// slice's host CPU time to the VM's group, and the group may make the hart
// sleep for a while. Two policies combine:
//
//   - cap: a token bucket per VM refilled at cpu_cap% of one core per vCPU;
//     a hart sleeps while its VM is in debt.
//   - weight: only while the hungry VMs want more CPU than the host has
//     (Capacity cores), each window divides Capacity among them by weight
//     (max-min fair: a VM wanting less than its share keeps what it wants
//     and the rest is shared out again). Within the window a contending VM
//     (one held to its share) sleeps whenever it got ahead of another
//     contending VM in CPU used per granted share, or of its own share of
//     elapsed time. The relative rule keeps the ratio right even when the
//     host is busy with other work and delivers less than Capacity.
//
// "Wanting" CPU is measured from the hart threads themselves: CPU used plus
// time spent runnable in the host's run queue plus time spent throttled,
// so a hart idling in WFI wants nothing.
type Scheduler struct {
	mu        sync.Mutex
	capacity  float64 // host cores shared by the VMs
	now       func() time.Time
	groups    []*cpuGroup
	winStart  time.Time
	contended bool
}

// Policy constants. The window is long enough to measure demand over many
// slices (a slice is well under a millisecond of host time) and short
// enough that a VM going idle frees its share quickly.
const (
	schedWindow      = 100 * time.Millisecond
	schedLag         = 500 * time.Microsecond // progress lead tolerated before a sleep
	minThrottleSleep = 200 * time.Microsecond
	maxThrottleSleep = 10 * time.Millisecond // so pause and stop stay prompt
	capBurst         = 20 * time.Millisecond // cap bucket depth, in wall time at the cap rate
	hungryCores      = 0.05                  // demand below this is idle
	waitSample       = 5 * time.Millisecond  // how often a hart reads schedstat
)

// NewScheduler shares capacity host cores (0: runtime.NumCPU()).
func NewScheduler(capacity float64) *Scheduler {
	return newSchedulerClock(capacity, time.Now)
}

func newSchedulerClock(capacity float64, now func() time.Time) *Scheduler {
	if capacity <= 0 {
		capacity = float64(runtime.NumCPU())
	}
	return &Scheduler{capacity: capacity, now: now, winStart: now()}
}

// Capacity is the number of host cores the VMs share.
func (s *Scheduler) Capacity() float64 { return s.capacity }

// cpuGroup is one VM's CPU account.
type cpuGroup struct {
	s       *Scheduler
	weight  float64
	vcpus   int
	capRate float64 // cores; 0 = no cap

	// suspended is set while the VMM pauses or stops the VM: its harts do
	// not sleep, so that Pause and Close are never held up.
	suspended atomic.Bool

	// Guarded by s.mu.
	used, throttled    time.Duration // totals
	winUsed, winWanted time.Duration // this window
	share              float64       // cores granted this window
	contending         bool          // held to its share this window (see roll)
	capTokens          float64       // CPU nanoseconds of credit
	capLast            time.Time
	wake               chan struct{} // closed to cut throttling sleeps short
}

// join adds a VM with weight, vcpus and a cap in percent of a core per
// vCPU (0 = none).
func (s *Scheduler) join(weight, vcpus, capPercent int) *cpuGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &cpuGroup{s: s, weight: float64(weight), vcpus: vcpus, wake: make(chan struct{}), capLast: s.now()}
	if capPercent > 0 {
		g.capRate = float64(capPercent) / 100 * float64(vcpus)
		g.capTokens = g.capRate * float64(capBurst)
	}
	s.groups = append(s.groups, g)
	return g
}

// leave removes g; its totals stay readable.
func (g *cpuGroup) leave() {
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.groups {
		if o == g {
			s.groups = append(s.groups[:i], s.groups[i+1:]...)
			break
		}
	}
	g.contending = false
	g.suspend()
}

// setSuspended turns throttling off (pause, stop) or back on.
func (g *cpuGroup) setSuspended(on bool) {
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		g.contending = false
		g.suspend()
		return
	}
	g.suspended.Store(false)
	g.wake = make(chan struct{})
	g.capLast = s.now()
}

// suspend wakes sleeping harts; s.mu is held.
func (g *cpuGroup) suspend() {
	if !g.suspended.Swap(true) {
		close(g.wake)
	}
}

// totals returns the CPU used and the time harts slept for caps and weights.
func (g *cpuGroup) totals() (used, throttled time.Duration) {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	return g.used, g.throttled
}

// charge books cpu (host CPU of one slice) and wait (run-queue time) to g
// and says how long the hart should sleep, with the channel that cuts the
// sleep short.
func (s *Scheduler) charge(g *cpuGroup, cpu, wait time.Duration, now time.Time) (time.Duration, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roll(now)
	g.used += cpu
	g.winUsed += cpu
	g.winWanted += cpu + wait
	if g.suspended.Load() {
		return 0, g.wake
	}
	sleep := max(g.capSleep(cpu, now), s.weightSleep(g, cpu, now))
	if sleep <= 0 {
		return 0, g.wake
	}
	return min(max(sleep, minThrottleSleep), maxThrottleSleep), g.wake
}

// slept books time a hart spent throttled.
func (s *Scheduler) slept(g *cpuGroup, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.throttled += d
	g.winWanted += d
}

// capSleep refills g's cap bucket, takes cpu from it and returns how long
// the VM's harts must sleep to repay a debt.
func (g *cpuGroup) capSleep(cpu time.Duration, now time.Time) time.Duration {
	if g.capRate == 0 {
		return 0
	}
	if d := now.Sub(g.capLast); d > 0 {
		g.capTokens = min(g.capTokens+float64(d)*g.capRate, float64(capBurst)*g.capRate)
		g.capLast = now
	}
	g.capTokens -= float64(cpu)
	if g.capTokens >= 0 {
		return 0
	}
	return time.Duration(-g.capTokens / g.capRate)
}

// weightSleep is the weight policy for one contending group: progress is
// CPU used this window per core granted; g may lead the slowest other
// contending group, and elapsed time, by schedLag. The check looks one
// slice (the one just run) ahead, so that a group does not overshoot by a
// slice each time before it is held back.
func (s *Scheduler) weightSleep(g *cpuGroup, slice time.Duration, now time.Time) time.Duration {
	if !s.contended || !g.contending || g.share <= 0 {
		return 0
	}
	limit := float64(now.Sub(s.winStart) + schedLag)
	for _, o := range s.groups {
		if o != g && o.contending && o.share > 0 {
			limit = min(limit, float64(o.winUsed)/o.share+float64(schedLag))
		}
	}
	progress := float64(g.winUsed+slice) / g.share
	if progress <= limit {
		return 0
	}
	return time.Duration((progress - limit) * g.share)
}

// roll closes the window when it is over: every group's demand in cores
// is measured, Capacity is divided if the groups want more than it, and a
// new window starts.
func (s *Scheduler) roll(now time.Time) {
	elapsed := now.Sub(s.winStart)
	if elapsed < schedWindow {
		return
	}
	demand := make([]float64, len(s.groups))
	weight := make([]float64, len(s.groups))
	total := 0.0
	for i, g := range s.groups {
		d := float64(g.winWanted) / float64(elapsed)
		if g.suspended.Load() || d < hungryCores {
			d = 0
		}
		demand[i] = min(d, g.maxCores())
		weight[i] = g.weight
		total += demand[i]
		g.winUsed, g.winWanted = 0, 0
	}
	s.contended = total > s.capacity
	shares, constrained := fairShares(s.capacity, demand, weight)
	for i, g := range s.groups {
		// Contending: wants more than its share, or is saturated (wants
		// all its vCPUs or cap can give). A saturated group joins the
		// comparison so that, when the host delivers less than capacity,
		// it is held to its weight like the others; a group merely using
		// less than its share (partly idle) must not hold others back.
		saturated := demand[i] > 0 && demand[i] >= 0.9*g.maxCores()
		g.share, g.contending = shares[i], s.contended && (constrained[i] || saturated)
	}
	s.winStart = now
}

// maxCores is the most CPU g can use: one core per vCPU, or its cap.
func (g *cpuGroup) maxCores() float64 {
	if g.capRate > 0 {
		return min(g.capRate, float64(g.vcpus))
	}
	return float64(g.vcpus)
}

// fairShares divides capacity by weight, max-min fair: a claimant whose
// demand is below its weighted share gets its demand, and what it leaves
// is divided among the rest. constrained[i] says claimant i got less than
// it wants.
func fairShares(capacity float64, demand, weight []float64) (share []float64, constrained []bool) {
	n := len(demand)
	share = make([]float64, n)
	constrained = make([]bool, n)
	open := make([]bool, n)
	for i := range demand {
		open[i] = demand[i] > 0 && weight[i] > 0
	}
	left := capacity
	for {
		w := 0.0
		for i := range open {
			if open[i] {
				w += weight[i]
			}
		}
		if w == 0 {
			return share, constrained
		}
		fixed := false
		for i := range open {
			if open[i] && demand[i] <= left*weight[i]/w {
				share[i], open[i] = demand[i], false
				left -= demand[i]
				fixed = true
			}
		}
		if fixed {
			continue
		}
		for i := range open {
			if open[i] {
				share[i], constrained[i] = left*weight[i]/w, true
			}
		}
		return share, constrained
	}
}

// hartMeter is the per-hart end of the scheduler; afterSlice runs on the
// hart's goroutine after each slice.
type hartMeter struct {
	g        *cpuGroup
	started  bool
	clock    threadClock
	lastCPU  time.Duration
	lastWait time.Duration
	waitAt   time.Time
	timer    *time.Timer
}

func newHartMeter(g *cpuGroup) *hartMeter { return &hartMeter{g: g} }

// afterSlice charges the slice just run and sleeps if the policy says so.
// The first call locks the hart goroutine to its OS thread, for good: the
// thread's clocks then measure this hart alone (see threadClock). The
// thread exits with the hart goroutine.
func (h *hartMeter) afterSlice() {
	s := h.g.s
	now := s.now()
	if !h.started {
		runtime.LockOSThread()
		h.started = true
		h.clock = openThreadClock()
		h.lastCPU, h.lastWait, h.waitAt = h.clock.cpu(), h.clock.runQueueWait(), now
		return
	}
	cpu := h.clock.cpu()
	used := cpu - h.lastCPU
	h.lastCPU = cpu
	var wait time.Duration
	if now.Sub(h.waitAt) >= waitSample {
		w := h.clock.runQueueWait()
		wait, h.lastWait, h.waitAt = w-h.lastWait, w, now
	}
	d, wake := s.charge(h.g, used, wait, now)
	if d <= 0 {
		return
	}
	if h.timer == nil {
		h.timer = time.NewTimer(d)
	} else {
		h.timer.Reset(d)
	}
	select {
	case <-h.timer.C:
	case <-wake:
		h.timer.Stop()
	}
	s.slept(h.g, s.now().Sub(now))
}

// close releases the meter's file; the hart goroutine has exited.
func (h *hartMeter) close() {
	h.clock.close()
	if h.timer != nil {
		h.timer.Stop()
	}
}
