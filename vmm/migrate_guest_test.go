package vmm

import (
	"testing"
	"time"

	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/vswitch"
)

// TestMigrateLinuxGuest migrates the booted default guest, with a user-mode
// NIC, while a background loop writes a counter: the shell variable, a
// file in /tmp and the loop survive, the console works on the target and
// the NIC keeps its MAC.
func TestMigrateLinuxGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	reg := vswitch.NewRegistry(vswitch.Options{})
	src := newTestManager(t, Options{Backends: NewBackends(reg)})
	dst := newTestManager(t, Options{Backends: NewBackends(reg)})
	if _, err := src.Create(&Config{Name: "lx", Memory: "64M", Nets: []NetConfig{{Mode: "user"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Start("lx"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitConsoleOrPanic(src, "lx", 0, images.Prompt); err != nil {
		t.Fatal(err)
	}
	mac := deviceMAC(t, src, "lx", 0)
	sh := &linuxShell{t: t, m: src, name: "lx"}
	sh.run("V=moved; echo file-ok > /tmp/f; (i=0; while true; do i=$((i+1)); echo $i > /tmp/c; sleep 0.05; done) & echo set-$V", "set-moved")
	sh.run("sleep 0.3; echo c-$(cat /tmp/c)-started", "-started")

	res, _, err, rerr := migratePipe(t, src, dst, "lx", MigrateOptions{Target: "dst"}, nil)
	if err != nil || rerr != nil {
		t.Fatalf("migrate: %v; target: %v", err, rerr)
	}
	t.Logf("%d pre-copy rounds %+v, %d final pages, %d MiB sent, downtime %.1f ms, total %.0f ms",
		res.PrecopyRounds, res.Rounds, res.FinalPages, res.BytesSent>>20, res.DowntimeSeconds*1000, res.TotalSeconds*1000)
	if res.PrecopyRounds < 1 {
		t.Errorf("no pre-copy round: %+v", res)
	}
	sh.m = dst
	sh.run("echo got-$V-$(cat /tmp/f)", "got-moved-file-ok")
	sh.run("a=$(cat /tmp/c); sleep 0.5; b=$(cat /tmp/c); [ $b -gt $a ] && echo counting-$((b > a))", "counting-1")
	if got := deviceMAC(t, dst, "lx", 0); got != mac {
		t.Errorf("MAC on the target %s, on the source %s", got, mac)
	}
	if _, err := src.Get("lx"); KindOf(err) != KindNotFound {
		t.Errorf("the source still has the VM: %v", err)
	}
}

// BenchmarkMigrateIdleGuest migrates the default guest (256 MiB) idle at
// its prompt between two managers over an in-memory pipe, back and forth,
// and reports the guest's downtime and the total time.
func BenchmarkMigrateIdleGuest(b *testing.B) {
	src := newTestManager(b, Options{})
	dst := newTestManager(b, Options{})
	if _, err := src.Create(&Config{Name: "idle", Memory: "256M"}); err != nil {
		b.Fatal(err)
	}
	if _, err := src.Start("idle"); err != nil {
		b.Fatal(err)
	}
	if _, err := waitConsoleOrPanic(src, "idle", 0, images.Prompt); err != nil {
		b.Fatal(err)
	}
	var down, total time.Duration
	var sent uint64
	var rounds int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, _, err, rerr := migratePipe(b, src, dst, "idle", MigrateOptions{Target: "peer"}, nil)
		if err != nil || rerr != nil {
			b.Fatalf("migrate: %v; target: %v", err, rerr)
		}
		down += time.Duration(res.DowntimeSeconds * float64(time.Second))
		total += time.Duration(res.TotalSeconds * float64(time.Second))
		sent += res.BytesSent
		rounds += res.PrecopyRounds
		src, dst = dst, src
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64(down/n)/1e6, "downtime-ms")
	b.ReportMetric(float64(total/n)/1e6, "total-ms")
	b.ReportMetric(float64(sent/uint64(b.N))/(1<<20), "MiB-sent")
	b.ReportMetric(float64(rounds)/float64(b.N), "rounds")
	b.Logf("default guest, 256 MiB, idle: downtime %v, total %v, %.1f MiB sent, %.1f pre-copy rounds (mean of %d)",
		down/n, total/n, float64(sent/uint64(b.N))/(1<<20), float64(rounds)/float64(b.N), b.N)
}
