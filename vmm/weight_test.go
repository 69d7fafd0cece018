package vmm

import (
	"testing"
)

// TestCPUWeightShares runs two busy single-vCPU VMs with weights 1 and 3
// competing for one core (the scheduler's capacity is set to one core even
// if the host has more) and checks they get about 25% and 75% of the CPU,
// measured in host CPU time used by their harts, not wall-clock time.
func TestCPUWeightShares(t *testing.T) {
	if testing.Short() {
		t.Skip("burns about two seconds of CPU")
	}
	m := newTestManager(t, Options{CPUCapacity: 1})
	busy := writeGuest(t, t.TempDir(), "busy", busyLoop)
	for _, vm := range []struct {
		name   string
		weight int
	}{{"light", 1}, {"heavy", 3}} {
		c := bareConfig(vm.name, busy)
		c.CPUWeight = vm.weight
		if _, err := m.Create(c); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Start(vm.name); err != nil {
			t.Fatal(err)
		}
	}
	cpu := func(name string) float64 { st, _ := m.Stats(name); return st.VCPUSeconds }
	// Let the scheduler measure demand over a few windows first.
	waitFor(t, "both VMs to compete", func() bool { return cpu("light")+cpu("heavy") > 0.3 })
	l0, h0 := cpu("light"), cpu("heavy")
	waitFor(t, "two CPU-seconds of competition", func() bool { return cpu("light")-l0+cpu("heavy")-h0 > 2 })
	light, heavy := cpu("light")-l0, cpu("heavy")-h0
	ratio := heavy / light
	t.Logf("light %.3fs, heavy %.3fs of CPU: ratio %.2f (ideal 3)", light, heavy, ratio)
	if ratio < 2 || ratio > 4.5 {
		t.Fatalf("heavy/light CPU ratio %.2f, want about 3 (2..4.5)", ratio)
	}
	for _, n := range []string{"light", "heavy"} {
		if st, _ := m.Stats(n); st.InstructionsRetired == 0 {
			t.Fatalf("%s retired nothing", n)
		}
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
