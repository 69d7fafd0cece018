package vmm

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/popek-vm/popek/images"
)

// bootedGuest boots the default guest (128 MiB) to its prompt in a new
// manager, for the benchmarks.
func bootedGuest(b *testing.B) *Manager {
	m := newTestManager(b, Options{})
	if _, err := m.Create(&Config{Name: "src", Memory: "128M"}); err != nil {
		b.Fatal(err)
	}
	if _, err := m.Start("src"); err != nil {
		b.Fatal(err)
	}
	if _, err := waitConsoleOrPanic(m, "src", 0, images.Prompt); err != nil {
		b.Fatal(err)
	}
	return m
}

// executing reports whether the VM's harts have retired instructions.
func executing(m *Manager, name string) bool {
	v, err := m.vm(name)
	if err != nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.run == nil {
		return false
	}
	for _, p := range v.run.probes {
		if p.instret.Load() > 0 {
			return true
		}
	}
	return false
}

// BenchmarkTemplateStart measures the time from Manager.Create of a VM
// from a template of the booted default guest to the clone's guest
// executing instructions (its first run slice retired), Start included.
func BenchmarkTemplateStart(b *testing.B) {
	m := bootedGuest(b)
	if _, err := m.CreateTemplate(TemplateRequest{Name: "t", VM: "src"}); err != nil {
		b.Fatal(err)
	}
	m.Stop("src")
	var total time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("c%d", i)
		t0 := time.Now()
		if _, err := m.Create(&Config{Name: name, Template: "t"}); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Start(name); err != nil {
			b.Fatal(err)
		}
		for !executing(m, name) {
			if time.Since(t0) > time.Minute {
				b.Fatal("the clone never ran")
			}
			runtime.Gosched()
		}
		total += time.Since(t0)
		if err := m.Delete(name, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

// BenchmarkSnapshotCreate measures Manager.CreateSnapshot of the running
// default guest: the whole call and the guest's pause, full and
// incremental.
func BenchmarkSnapshotCreate(b *testing.B) {
	for _, incremental := range []bool{false, true} {
		b.Run(fmt.Sprintf("incremental=%v", incremental), func(b *testing.B) {
			m := bootedGuest(b)
			if _, err := m.CreateSnapshot("src", SnapshotRequest{Name: "base"}); err != nil {
				b.Fatal(err)
			}
			var total, paused time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				in, err := m.CreateSnapshot("src", SnapshotRequest{Name: fmt.Sprintf("s%d", i), Incremental: incremental})
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
				paused += time.Duration(in.PausedSeconds * float64(time.Second))
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/snapshot")
			b.ReportMetric(float64(paused.Microseconds())/1000/float64(b.N), "ms-paused/snapshot")
		})
	}
}
