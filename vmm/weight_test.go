package vmm

import (
	"fmt"
	"testing"
	"time"
)

// TestCPUWeightShares runs busy VMs with different weights competing for
// fewer host cores than they have vCPUs (the scheduler's capacity is set
// explicitly, whatever the host has) and checks the CPU they get, measured
// in host CPU time used by their harts, never in wall-clock time.
func TestCPUWeightShares(t *testing.T) {
	if testing.Short() {
		t.Skip("burns a few seconds of CPU")
	}
	cases := []struct {
		name     string
		capacity float64
		weights  []int
		// ratio is the expected CPU of the last VM over the mean of the
		// others, whatever share of capacity the (shared) host delivers:
		// weights 1 and 3 on one core give 25% and 75%; four single-vCPU
		// VMs, more than the two host cores, with weights 1, 1, 1 and 3 on
		// two cores give the heavy one a core and the others a third each.
		ratio float64
	}{
		{"weights 1 and 3 on one core", 1, []int{1, 3}, 3},
		{"four VMs, weights 1,1,1,3, on two cores", 2, []int{1, 1, 1, 3}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestManager(t, Options{CPUCapacity: c.capacity})
			busy := writeGuest(t, t.TempDir(), "busy", busyLoop)
			var names []string
			for i, w := range c.weights {
				cfg := bareConfig(fmt.Sprintf("w%d", i), busy)
				cfg.CPUWeight = w
				if _, err := m.Create(cfg); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Start(cfg.Name); err != nil {
					t.Fatal(err)
				}
				names = append(names, cfg.Name)
			}
			cpu := func() []float64 {
				out := make([]float64, len(names))
				for i, n := range names {
					st, _ := m.Stats(n)
					out[i] = st.VCPUSeconds
				}
				return out
			}
			sum := func(v []float64) (s float64) {
				for _, x := range v {
					s += x
				}
				return s
			}
			// Let the scheduler measure demand over a few windows first.
			waitFor(t, "the VMs to compete", func() bool { return sum(cpu()) > 0.3*c.capacity })
			start, t0 := cpu(), time.Now()
			var used []float64
			waitFor(t, "two CPU-seconds of competition", func() bool {
				now := cpu()
				used = make([]float64, len(now))
				for i := range now {
					used[i] = now[i] - start[i]
				}
				return sum(used) > 2
			})
			last := len(used) - 1
			light := sum(used[:last]) / float64(last)
			ratio := used[last] / light
			cores := sum(used) / time.Since(t0).Seconds()
			t.Logf("CPU seconds %.3f: ratio %.2f (ideal %.0f); the VMs got %.2f of %.0f cores", used, ratio, c.ratio, cores, c.capacity)
			// Weights divide what the host gives popek. On a host so busy
			// that the VMs get a small fraction of their capacity, slices
			// and sleeps are too coarse for the ratio to say anything.
			if cores < c.capacity/4 {
				t.Skipf("the host delivered %.2f cores of %.0f: too busy to judge the ratio", cores, c.capacity)
			}
			if lo, hi := c.ratio*2/3, c.ratio*3/2; ratio < lo || ratio > hi {
				t.Fatalf("heavy/light CPU ratio %.2f, want about %.0f (%.1f..%.1f)", ratio, c.ratio, lo, hi)
			}
		})
	}
}

// TestCPUCapThrottles checks that a busy VM with a cap is made to sleep.
// How much CPU it gets is checked deterministically in TestSchedulerPolicy.
func TestCPUCapThrottles(t *testing.T) {
	m := newTestManager(t, Options{})
	busy := writeGuest(t, t.TempDir(), "busy", busyLoop)
	c := bareConfig("capped", busy)
	c.CPUCap = 20
	if _, err := m.Create(c); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("capped"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cap to throttle", func() bool { st, _ := m.Stats("capped"); return st.ThrottledSeconds > 0.1 })
	if _, err := m.Pause("capped"); err != nil { // a throttled VM still pauses at once
		t.Fatal(err)
	}
}
