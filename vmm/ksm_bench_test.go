package vmm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/popek-vm/popek/images"
)

const ksmDir = "/sys/kernel/mm/ksm"

func readKSM(b *testing.B, name string) uint64 {
	data, err := os.ReadFile(filepath.Join(ksmDir, name))
	if err != nil {
		b.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// setKSM writes a KSM knob and returns a function that puts it back.
func setKSM(b *testing.B, name, value string) func() {
	path := filepath.Join(ksmDir, name)
	old, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("no KSM: %v", err)
	}
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		b.Skipf("cannot drive KSM (needs root): %v", err)
	}
	return func() { os.WriteFile(path, old, 0) }
}

// BenchmarkPageSharing boots vmsPerRound idle default guests and lets the
// host kernel's same-page merging (KSM, which popek offers guest RAM to as
// QEMU's mem-merge does) run over them, then reports how much host memory
// identical pages saved per VM. It needs root, since it turns ksmd on (and
// back to how it was): the figure depends on ksmd having scanned
// everything, so it waits until pages_sharing stops growing.
func BenchmarkPageSharing(b *testing.B) {
	const vmsPerRound = 4
	defer setKSM(b, "pages_to_scan", "20000")()
	defer setKSM(b, "sleep_millisecs", "10")()
	restoreRun := setKSM(b, "run", "1")
	defer func() {
		os.WriteFile(filepath.Join(ksmDir, "run"), []byte("2"), 0) // unmerge what this run merged
		restoreRun()
	}()
	m := newTestManager(b, Options{})
	m.guest.load()
	var saved float64
	for round := 0; round < b.N; round++ {
		before := readKSM(b, "pages_sharing")
		var names []string
		for i := 0; i < vmsPerRound; i++ {
			name := fmt.Sprintf("ksm-%d-%d", round, i)
			if _, err := m.Create(&Config{Name: name, Memory: "128M"}); err != nil {
				b.Fatal(err)
			}
			if _, err := m.Start(name); err != nil {
				b.Fatal(err)
			}
			names = append(names, name)
		}
		for _, name := range names {
			if _, err := waitConsoleOrPanic(m, name, 0, images.Prompt); err != nil {
				b.Fatal(err)
			}
		}
		var resident uint64
		for _, name := range names {
			st, _ := m.Stats(name)
			resident += st.ResidentBytes
		}
		// Wait for ksmd to cover the guests: stop when a full scan adds
		// nothing (bounded, so a busy host still ends the benchmark).
		sharing, last := readKSM(b, "pages_sharing"), uint64(0)
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
			scans := readKSM(b, "full_scans")
			for readKSM(b, "full_scans") < scans+2 && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
			last, sharing = sharing, readKSM(b, "pages_sharing")
			if sharing <= last {
				break
			}
		}
		perVM := float64(sharing-min(sharing, before)) * 4096 / vmsPerRound
		saved += perVM
		b.Logf("round %d: %d VMs, guest RAM resident %.1f MiB in all, KSM saves %.1f MiB per VM (pages_sharing %d)",
			round, vmsPerRound, float64(resident)/(1<<20), perVM/(1<<20), sharing)
		for _, name := range names {
			m.Delete(name, true)
		}
	}
	b.ReportMetric(saved/float64(b.N), "saved-bytes/vm")
	b.ReportMetric(0, "ns/op")
}
