package vmm

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/popek-vm/popek/images"
)

// processRSS is the resident set of this process, from /proc/self/statm.
func processRSS(b *testing.B) uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(data))
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return pages * uint64(os.Getpagesize())
}

// BenchmarkIdleVMOverhead measures the host memory one idle 128 MiB VM
// costs beyond the guest RAM it has touched: harts, decoded-block caches,
// TLBs, devices, console ring and goroutine stacks. Each iteration boots
// vmsPerRound VMs of the embedded Linux guest to its shell prompt (idle
// from then on), measures the process's RSS growth minus the VMs' resident
// guest RAM, and stops them. POPEK_BENCH_BARE=1 uses a bare-metal WFI loop
// instead of Linux.
func BenchmarkIdleVMOverhead(b *testing.B) {
	const vmsPerRound = 4
	bare := os.Getenv("POPEK_BENCH_BARE") != ""
	m := newTestManager(b, Options{})
	idle := writeGuest(b, b.TempDir(), "idle", idleLoop)
	m.guest.load() // the shared default-guest images are not per VM
	var total float64
	for round := 0; round < b.N; round++ {
		runtime.GC()
		debug.FreeOSMemory()
		before := processRSS(b)
		var names []string
		for i := 0; i < vmsPerRound; i++ {
			name := fmt.Sprintf("idle-%d-%d", round, i)
			cfg := &Config{Name: name, Memory: "128M"}
			if bare {
				cfg = bareConfig(name, idle)
				cfg.Memory = "128M"
			}
			if _, err := m.Create(cfg); err != nil {
				b.Fatal(err)
			}
			if _, err := m.Start(name); err != nil {
				b.Fatal(err)
			}
			names = append(names, name)
		}
		for _, name := range names {
			if !bare {
				if _, err := waitConsoleOrPanic(m, name, 0, images.Prompt); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.GC()
		after := processRSS(b)
		var guest uint64
		for _, name := range names {
			st, _ := m.Stats(name)
			guest += st.ResidentBytes
		}
		overhead := float64(int64(after-before)-int64(guest)) / vmsPerRound
		total += overhead
		b.Logf("round %d: RSS +%.1f MiB, guest RAM touched %.1f MiB, overhead %.1f MiB per VM",
			round, float64(after-before)/(1<<20), float64(guest)/(1<<20), overhead/(1<<20))
		for _, name := range names {
			m.Delete(name, true)
		}
	}
	b.ReportMetric(total/float64(b.N), "overhead-bytes/vm")
	b.ReportMetric(0, "ns/op")
}
