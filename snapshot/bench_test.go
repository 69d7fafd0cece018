package snapshot

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
)

// BenchmarkSnapshot256 boots a 256 MiB guest, starts a busy process in it
// (so the hart is executing, not asleep in WFI, at every snapshot) and
// measures:
//
//	write        full snapshot: pause and total time, memory stored, disk use
//	incremental  snapshot on the previous one
//	open         Open with full verification and with metadata only
//	restore      Open + Restore + Run until the first run slice (65536
//	             instructions) has executed: restore-to-running
//	clone        Clone + Run until the first slice; host memory per clone
//
// Run: go test ./snapshot -run XXX -bench Snapshot256 -benchtime 5x
func BenchmarkSnapshot256(b *testing.B) {
	dir := b.TempDir()
	log := newConsoleLog()
	v := bootGuest(b, guestConfig(1, 256<<20, log, virtio.NewRNG()))
	v.run("yes > /dev/null &")
	var last *Snapshot
	n := 0
	next := func() string { n++; return filepath.Join(dir, fmt.Sprint("s", n)) }

	b.Run("write", func(b *testing.B) {
		var paused, total time.Duration
		var s *Snapshot
		for b.Loop() {
			var err error
			if s, err = Write(next(), v.m, WriteOptions{}); err != nil {
				b.Fatal(err)
			}
			paused += s.Written.Paused
			total += s.Written.Total
		}
		last = s
		b.ReportMetric(ms(paused)/float64(b.N), "ms-paused/op")
		b.ReportMetric(ms(total)/float64(b.N), "ms-total/op")
		b.ReportMetric(float64(s.Written.MemoryBytes)/(1<<20), "MiB-memory")
		b.ReportMetric(float64(s.Written.Allocated)/(1<<20), "MiB-on-disk")
	})
	b.Run("incremental", func(b *testing.B) {
		var paused time.Duration
		var s *Snapshot
		for b.Loop() {
			var err error
			if s, err = Write(next(), v.m, WriteOptions{Parent: last}); err != nil {
				b.Fatal(err)
			}
			paused += s.Written.Paused
		}
		b.ReportMetric(ms(paused)/float64(b.N), "ms-paused/op")
		b.ReportMetric(float64(s.Written.MemoryBytes)/(1<<20), "MiB-memory")
	})
	v.m.Close()

	for _, verify := range []struct {
		name string
		v    Verify
	}{{"open-verify-all", VerifyAll}, {"open-verify-metadata", VerifyMetadata}} {
		b.Run(verify.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := OpenWith(last.Dir, OpenOptions{Verify: verify.v}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, verify := range []struct {
		name string
		v    Verify
	}{{"restore-verify-all", VerifyAll}, {"restore-verify-metadata", VerifyMetadata}} {
		b.Run(verify.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				s, err := OpenWith(last.Dir, OpenOptions{Verify: verify.v})
				if err != nil {
					b.Fatal(err)
				}
				total += runUntilFirstSlice(b, start, func(hook board.SliceHook) (*board.Machine, error) {
					return s.Restore(RestoreOptions{Throttle: hook})
				})
			}
			b.ReportMetric(ms(total)/float64(b.N), "ms-to-running/op")
		})
	}
	b.Run("clone", func(b *testing.B) {
		tmpl, err := OpenWith(last.Dir, OpenOptions{Verify: VerifyMetadata})
		if err != nil {
			b.Fatal(err)
		}
		var total time.Duration
		i := 0
		for b.Loop() {
			i++
			total += runUntilFirstSlice(b, time.Now(), func(hook board.SliceHook) (*board.Machine, error) {
				return tmpl.Clone(CloneOptions{RestoreOptions: RestoreOptions{Throttle: hook, DiskDir: filepath.Join(dir, fmt.Sprint("c", i))}})
			})
		}
		b.ReportMetric(ms(total)/float64(b.N), "ms-to-running/op")
		b.ReportMetric(memoryPerClone(b, tmpl, 4), "MiB-PSS/clone")
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runUntilFirstSlice builds a machine with a slice hook, runs it until the
// first run slice completes and returns the time from start to then.
func runUntilFirstSlice(b *testing.B, start time.Time, build func(board.SliceHook) (*board.Machine, error)) time.Duration {
	first := make(chan time.Time, 1)
	m, err := build(func(int, uint64) {
		select {
		case first <- time.Now():
		default:
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	go m.Run(b.Context())
	return (<-first).Sub(start)
}

// memoryPerClone runs n clones for a moment and returns the growth of
// the process's PSS per clone, in MiB.
func memoryPerClone(b *testing.B, tmpl *Snapshot, n int) float64 {
	runtime.GC()
	before, err := smapsRollup()
	if err != nil {
		b.Skip(err)
	}
	var ms []*board.Machine
	for i := range n {
		m, err := tmpl.Clone(CloneOptions{RestoreOptions: RestoreOptions{DiskDir: filepath.Join(b.TempDir(), fmt.Sprint(i))}})
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
		go m.Run(b.Context())
	}
	time.Sleep(500 * time.Millisecond) // let them touch their working sets
	after, _ := smapsRollup()
	for _, m := range ms {
		m.Close()
	}
	return float64(after["Pss"]-before["Pss"]) / 1024 / float64(n)
}
