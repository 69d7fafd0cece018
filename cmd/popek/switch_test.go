package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSwitchAcrossProcesses runs two `popek run --net switch=NAME`
// (each with its own registry, as two processes have) and pings between
// their guests over the host-wide switch.
func TestRunSwitchAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux twice; skipped in -short mode")
	}
	t.Setenv("POPEK_SWITCH_DIR", filepath.Join(t.TempDir(), "switches"))
	a := startRun(t, "--net", "switch=lan", "--rng=false")
	b := startRun(t, "--net", "switch=lan", "--rng=false")
	a.shell(t, 1, "ip addr add 192.168.77.1/24 dev eth0 && ip link set eth0 up")
	b.shell(t, 1, "ip addr add 192.168.77.2/24 dev eth0 && ip link set eth0 up")
	a.shell(t, 2, "ping -c 3 192.168.77.2")
	// u-root's ping prints a line per reply; allow one lost to a slow host.
	if out := a.out.String(); strings.Count(out, "bytes from 192.168.77.2") < 2 {
		t.Errorf("ping between the two processes' guests:\n%s", out[strings.LastIndex(out, "ping -c"):])
	}
	a.poweroff(t, 3)
	b.poweroff(t, 2)
}
