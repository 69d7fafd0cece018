package vmm

import (
	"math"
	"testing"
	"time"
)

func TestFairShares(t *testing.T) {
	cases := []struct {
		name        string
		capacity    float64
		demand      []float64
		weight      []float64
		share       []float64
		constrained []bool
	}{
		{"1:3 on one core", 1, []float64{1, 1}, []float64{1, 3}, []float64{0.25, 0.75}, []bool{true, true}},
		{"demand below share is kept", 2, []float64{0.2, 4}, []float64{1, 1}, []float64{0.2, 1.8}, []bool{false, true}},
		{"saturated heavy VM frees the rest", 2, []float64{1, 1, 1}, []float64{1, 1, 4}, []float64{0.5, 0.5, 1}, []bool{true, true, false}},
		{"enough for everyone", 4, []float64{1, 2}, []float64{1, 1}, []float64{1, 2}, []bool{false, false}},
		{"idle claimant gets nothing", 1, []float64{0, 1}, []float64{5, 1}, []float64{0, 1}, []bool{false, false}},
		{"none", 1, nil, nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			share, constrained := fairShares(c.capacity, c.demand, c.weight)
			for i := range c.share {
				if math.Abs(share[i]-c.share[i]) > 1e-9 || constrained[i] != c.constrained[i] {
					t.Fatalf("shares %v %v, want %v %v", share, constrained, c.share, c.constrained)
				}
			}
		})
	}
}

// simHart is a simulated busy (or idle) vCPU thread for the scheduler.
type simHart struct {
	g       *cpuGroup
	busy    bool
	wakeAt  time.Time
	sleepAt time.Time
}

// simulate runs the scheduler policy on a fake clock: every step each
// awake busy hart runs one slice, of which the host delivers the fraction
// hostShare as CPU (the rest is run-queue wait). It returns each group's
// CPU time.
func simulate(t *testing.T, capacity float64, groups []simGroup, hostShare float64, total time.Duration) []time.Duration {
	t.Helper()
	clk := newFakeClock()
	s := newSchedulerClock(capacity, clk.now)
	var harts []*simHart
	gs := make([]*cpuGroup, len(groups))
	for i, sg := range groups {
		gs[i] = s.join(sg.weight, 1, sg.cap)
		harts = append(harts, &simHart{g: gs[i], busy: sg.busy})
	}
	const slice = 250 * time.Microsecond
	for end := clk.now().Add(total); clk.now().Before(end); clk.advance(slice) {
		now := clk.now()
		for _, h := range harts {
			if !h.busy {
				continue
			}
			if now.Before(h.wakeAt) {
				continue
			}
			if !h.sleepAt.IsZero() {
				s.slept(h.g, now.Sub(h.sleepAt))
				h.sleepAt = time.Time{}
			}
			cpu := time.Duration(float64(slice) * hostShare)
			d, _ := s.charge(h.g, cpu, slice-cpu, now.Add(slice))
			if d > 0 {
				h.sleepAt, h.wakeAt = now.Add(slice), now.Add(slice+d)
			}
		}
	}
	out := make([]time.Duration, len(gs))
	for i, g := range gs {
		out[i], _ = g.totals()
	}
	return out
}

type simGroup struct {
	weight, cap int
	busy        bool
}

func TestSchedulerPolicy(t *testing.T) {
	cases := []struct {
		name      string
		capacity  float64
		groups    []simGroup
		hostShare float64   // what the host gives each runnable thread
		want      []float64 // cores each group should get
		tol       float64
	}{
		{"weights 1:3 on one core", 1, []simGroup{{1, 0, true}, {3, 0, true}}, 1, []float64{0.25, 0.75}, 0.04},
		{"weights 1:3 on a busy host", 1, []simGroup{{1, 0, true}, {3, 0, true}}, 0.4, []float64{0.4 / 3, 0.4}, 0.04},
		{"no contention: work conserving", 2, []simGroup{{1, 0, true}, {3, 0, true}}, 1, []float64{1, 1}, 0.02},
		{"saturated heavy VM", 2, []simGroup{{1, 0, true}, {1, 0, true}, {4, 0, true}}, 1, []float64{0.5, 0.5, 1}, 0.05},
		{"idle VM does not hold others back", 1, []simGroup{{1, 0, true}, {3, 0, false}}, 1, []float64{1, 0}, 0.02},
		{"cap 50", 4, []simGroup{{100, 50, true}}, 1, []float64{0.5}, 0.03},
		{"cap 25 next to an uncapped VM", 1, []simGroup{{100, 25, true}, {100, 0, true}}, 1, []float64{0.25, 0.75}, 0.04},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			total := 10 * time.Second
			used := simulate(t, c.capacity, c.groups, c.hostShare, total)
			for i, u := range used {
				cores := float64(u) / float64(total)
				if math.Abs(cores-c.want[i]) > c.tol {
					t.Errorf("group %d used %.3f cores, want %.3f±%.2f (all: %v)", i, cores, c.want[i], c.tol, used)
				}
			}
		})
	}
}

func TestSchedulerSuspendCutsSleep(t *testing.T) {
	clk := newFakeClock()
	s := newSchedulerClock(1, clk.now)
	g := s.join(100, 1, 10)
	d, wake := s.charge(g, time.Second, 0, clk.now()) // far over a 10% cap
	if d != maxThrottleSleep {
		t.Fatalf("sleep %v, want the %v maximum", d, maxThrottleSleep)
	}
	g.setSuspended(true)
	select {
	case <-wake:
	default:
		t.Fatal("suspending did not wake the sleeper")
	}
	if d, _ := s.charge(g, time.Second, 0, clk.now()); d != 0 {
		t.Fatalf("a suspended group sleeps %v", d)
	}
	g.setSuspended(false)
	if d, _ := s.charge(g, time.Second, 0, clk.now()); d == 0 {
		t.Fatal("resumed group no longer capped")
	}
	g.leave()
	if len(s.groups) != 0 {
		t.Fatal("leave kept the group")
	}
}
