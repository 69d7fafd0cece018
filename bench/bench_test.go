package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/smptest"
)

// benchContext bounds a benchmark's guests so that a hung one fails the
// benchmark instead of hanging it.
func benchContext(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	b.Cleanup(cancel)
	return ctx
}

// BenchmarkBootToUserspace boots the embedded kernel with the tiny init on
// one hart, as bench/boot.sh does with the popek binary: ns/op is the time
// to power-off, userspace-s the time to the first user-space line.
func BenchmarkBootToUserspace(b *testing.B) {
	ctx := benchContext(b)
	var toUser time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		g, err := smptest.Start(board.Config{
			Harts: 1, MemSize: smptest.GuestMemory, Boot: board.BootDirect,
			Kernel: images.Kernel(), Initrd: images.TinyInit(), Cmdline: images.DefaultCmdline,
			// No devices: boot.sh passes --rng=false to match QEMU's bare virt.
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := g.Console.WaitFor(ctx, images.TinyInitMessage, 0); err != nil {
			g.Close()
			b.Fatal(err)
		}
		toUser += time.Since(start)
		st, err := g.Wait(ctx)
		g.Close()
		if err != nil || st.Kind != board.ExitPoweroff {
			b.Fatalf("guest ended with %v, %v", st, err)
		}
	}
	b.ReportMetric(toUser.Seconds()/float64(b.N), "userspace-s")
}

// parallelMiB is what each of the two hashing goroutines hashes per op.
const parallelMiB = 4

// BenchmarkParallel runs the same two-goroutine hashing job (stress hash)
// in a 1-hart and a 2-hart guest per op and reports both times and the
// speedup; on a 2-core host that is idle otherwise, 2 is ideal.
func BenchmarkParallel(b *testing.B) {
	ctx := benchContext(b)
	bin, err := smptest.BuildStress(b.TempDir(), "riscv64")
	if err != nil {
		b.Fatal(err)
	}
	initrd, err := smptest.StressInitramfs(bin)
	if err != nil {
		b.Fatal(err)
	}
	guests := map[int]*smptest.Guest{}
	for _, harts := range []int{1, 2} {
		g, err := smptest.Start(smptest.LinuxConfig(harts, initrd))
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		if _, err := g.WaitPrompt(ctx, 0); err != nil {
			b.Fatal(err)
		}
		guests[harts] = g
	}
	cmd := smptest.HashCommand(2, parallelMiB, 1)
	want := "digest=" + smptest.ExpectedHash(2, parallelMiB, 1)
	var spent [3]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, harts := range []int{1, 2} {
			t0 := time.Now()
			out, err := guests[harts].Shell(ctx, cmd)
			spent[harts] += time.Since(t0)
			if err != nil || !strings.Contains(out, want) {
				b.Fatalf("%d harts: %v\n%s", harts, err, out)
			}
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(spent[1].Seconds()/n, "1hart-s")
	b.ReportMetric(spent[2].Seconds()/n, "2harts-s")
	b.ReportMetric(spent[1].Seconds()/spent[2].Seconds(), "speedup")
	b.ReportMetric(0, "ns/op")
}
