package smptest

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestStressProgramOnHost runs the guest stress program natively, so a
// bug in the program or in the host's expectations shows up in a second
// instead of after a Linux boot, and a failing guest run points at popek.
func TestStressProgramOnHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the stress program is Linux-only")
	}
	bin, err := BuildStress(t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	runs := []StressParams{
		{Seconds: 600, MaxRounds: 2, Seed: 1, Workers: 3, Iters: 5, RingKiB: 4, Stages: 2, ChainKiB: 64, Fan: 2, FanKiB: 8, ShmHelpers: 1, ShmAdds: 1000, PingPong: 50},
		{Seconds: 600, MaxRounds: 3, Seed: 99, Workers: 1, Iters: 1, RingKiB: 1, Stages: 1, ChainKiB: 1, Fan: 1, FanKiB: 1, ShmHelpers: 0, ShmAdds: 1, PingPong: 1},
		func() StressParams { p := DefaultStress(0); p.MaxRounds = 1; return p }(),
	}
	for i, p := range runs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			args := strings.Fields(p.Command())[1:]
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			checkStressOutput(t, p, string(out), runtime.NumCPU())
		})
	}

	for _, c := range []struct{ workers, mib int }{{1, 1}, {3, 2}} {
		out, err := exec.Command(bin, strings.Fields(HashCommand(c.workers, c.mib, 5))[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("hash: %v\n%s", err, out)
		}
		if want := "digest=" + ExpectedHash(c.workers, c.mib, 5); !strings.Contains(string(out), want) {
			t.Errorf("hash %d workers %d MiB printed %q, want %s", c.workers, c.mib, out, want)
		}
	}
}

// TestStressProgramReportsBadFlags: a mistyped invocation must fail loudly,
// not run some default workload the host did not expect.
func TestStressProgramReportsBadFlags(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the stress program is Linux-only")
	}
	bin, err := BuildStress(t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"run", "-workers", "0"}, {"run", "-nosuch"}, {"hash", "-mib", "0"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "STRESS FAIL") {
			t.Errorf("stress %q: err %v, output %q; want a STRESS FAIL exit", args, err, out)
		}
	}
}

// checkStressOutput compares a stress run's output with the host's
// expectations: every ROUND line exact, the CPU count, the final line.
func checkStressOutput(t *testing.T, p StressParams, out string, cpus int) (rounds int) {
	t.Helper()
	if strings.Contains(out, "STRESS FAIL") {
		t.Fatalf("the stress program failed:\n%s", tail(out, 4000))
	}
	if want := fmt.Sprintf("STRESS CPUS %d\n", cpus); !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "ROUND ") {
			continue
		}
		if want := p.ExpectedRound(uint64(rounds)); line != want {
			t.Errorf("round %d:\n got %s\nwant %s", rounds, line, want)
		}
		rounds++
	}
	done := fmt.Sprintf("STRESS DONE rounds=%d ", rounds)
	if rounds == 0 || !strings.Contains(out, done) {
		t.Errorf("output lacks %q after %d ROUND lines:\n%s", done, rounds, tail(out, 4000))
	}
	if p.MaxRounds != 0 && rounds > p.MaxRounds {
		t.Errorf("%d rounds, limit %d", rounds, p.MaxRounds)
	}
	return rounds
}
