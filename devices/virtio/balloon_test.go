package virtio

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func pfnList(addrs ...uint64) []byte {
	b := make([]byte, 4*len(addrs))
	for i, a := range addrs {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(a>>12))
	}
	return b
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func TestBalloonQueueLayout(t *testing.T) {
	const base = FeatureVersion1
	cases := []struct {
		name      string
		features  uint64
		queues    int
		stats     int // index of statsq, -1 absent
		reporting int // index of reporting_vq, -1 absent
	}{
		{"inflate and deflate only", base, 2, -1, -1},
		{"stats", base | BalloonFStatsVQ, 3, 2, -1},
		{"reporting without stats", base | BalloonFPageReporting, 3, -1, 2},
		{"stats and reporting", base | BalloonFStatsVQ | BalloonFPageReporting, 4, 2, 3},
		{"deflate on oom adds no queue", base | BalloonFDeflateOnOOM | BalloonFPageReporting, 3, -1, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ram := newTestRAM(t, 4<<20)
			bal := NewBalloon(ram)
			d := newTestDriverRAM(t, bal, ram)
			d.start(c.features, 64)
			if len(d.queues) != c.queues {
				t.Fatalf("%d queues, want %d", len(d.queues), c.queues)
			}
			if (bal.statsQ == nil) != (c.stats < 0) || (c.stats >= 0 && bal.statsQ.Index() != c.stats) {
				t.Errorf("stats queue %v, want index %d", bal.statsQ, c.stats)
			}
			if c.reporting < 0 {
				if bal.report != nil {
					t.Error("reporting queue without the feature")
				}
				return
			}
			// Report a free page on the expected index: it must be released.
			d.m.Quiesce()                               // the buffer must hold data before the device sees it
			r := d.submit(c.reporting, false, in(4096)) // the reported range is the buffer
			fill(d.mem(r.addrs[0], 4096), 0x5a)
			d.m.Resume()
			d.kick(c.reporting)
			d.waitUsed(c.reporting, 1)
			if !bytes.Equal(d.mem(r.addrs[0], 4096), make([]byte, 4096)) {
				t.Error("reported page not released")
			}
		})
	}
}

func TestBalloonInflateReleasesPages(t *testing.T) {
	ram := newTestRAM(t, 4<<20)
	bal := NewBalloon(nil) // takes the transport's RAM
	d := newTestDriverRAM(t, bal, ram)
	d.start(FeatureVersion1, 64)
	region := d.alloc(5*4096, 4096)
	fill(d.mem(region, 5*4096), 0xaa)
	ram.TakeDirty()
	// Pages 0, 1 (adjacent), 3, a frame outside RAM, and page 0 again.
	pfns := pfnList(region, region+4096, region+3*4096, 0x1000, region)
	d.call(0, false, out(pfns))
	// The host really gave the memory back: released pages are no longer
	// resident (checked before reading them faults zero pages in).
	vec := make([]byte, 5)
	pages := d.mem(region, 5*4096)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&pages[0])), uintptr(len(pages)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for i, wantGone := range []bool{true, true, false, true, false} {
		if gone := vec[i]&1 == 0; gone != wantGone {
			t.Errorf("page %d resident = %v after inflate", i, !gone)
		}
	}
	for i, wantZero := range []bool{true, true, false, true, false} {
		page := d.mem(region+uint64(i)*4096, 4096)
		if isZero(page) != wantZero {
			t.Errorf("page %d zero = %v, want %v", i, !wantZero, wantZero)
		}
	}
	d.m.Quiesce()
	dirty := ram.TakeDirty()
	for _, i := range []uint64{0, 1, 3} {
		if p := (region - testRAMBase + i*4096) >> 12; !slices.Contains(dirty, p) {
			t.Errorf("released page %d not marked dirty", i)
		}
	}
	d.m.Resume()
	// Deflate just acknowledges.
	if _, n := d.call(1, false, out(pfnList(region))); n != 0 {
		t.Errorf("deflate used len %d", n)
	}
}

func TestBalloonTargetAndActual(t *testing.T) {
	ram := newTestRAM(t, 4<<20)
	bal := NewBalloon(ram)
	d := newTestDriverRAM(t, bal, ram)
	bal.SetTarget(10) // before the driver: generation moves, no interrupt
	if d.reg(regConfigGeneration) != 1 || d.reg(regInterruptStatus) != 0 {
		t.Fatal("config change before DRIVER_OK mishandled")
	}
	d.start(FeatureVersion1|BalloonFStatsVQ, 64)
	bal.SetTarget(256)
	if d.reg(regConfigGeneration) != 2 {
		t.Error("generation not bumped")
	}
	if d.reg(regInterruptStatus) != InterruptConfig || !d.irq.level.Load() {
		t.Error("no config change interrupt")
	}
	if got := d.m.Read(regConfig, 4); got != 256 {
		t.Errorf("num_pages = %d", got)
	}
	d.m.Write(regConfig, 4, 7)     // num_pages is the device's: ignored
	d.m.Write(regConfig+4, 4, 200) // actual is the driver's
	if bal.Target() != 256 || bal.Actual() != 200 || d.m.Read(regConfig+4, 4) != 200 {
		t.Errorf("target %d actual %d", bal.Target(), bal.Actual())
	}
}

func statsBuf(stats ...BalloonStat) []byte {
	b := make([]byte, balloonStatSize*len(stats))
	for i, s := range stats {
		binary.LittleEndian.PutUint16(b[i*balloonStatSize:], s.Tag)
		binary.LittleEndian.PutUint64(b[i*balloonStatSize+2:], s.Value)
	}
	return b
}

func TestBalloonStats(t *testing.T) {
	ram := newTestRAM(t, 4<<20)
	bal := NewBalloon(ram)
	d := newTestDriverRAM(t, bal, ram)
	if bal.RequestStats() {
		t.Fatal("stats requested without a stats queue")
	}
	d.start(FeatureVersion1|BalloonFStatsVQ, 64)
	const sq = 2
	first := []BalloonStat{{BalloonStatFreeMemory, 1 << 20}, {BalloonStatTotalMemory, 4 << 20}}
	r := d.submit(sq, false, out(statsBuf(first...)))
	d.kick(sq)
	waitFor(t, "first statistics", func() bool { return bal.StatsUpdates() == 1 })
	if !slices.Equal(bal.Stats(), first) {
		t.Fatalf("stats %v, want %v", bal.Stats(), first)
	}
	if d.usedIdx(sq) != 0 {
		t.Fatal("stats buffer returned before the host asked")
	}
	if !bal.RequestStats() {
		t.Fatal("RequestStats refused")
	}
	if e := d.waitUsed(sq, 1); e[0][0] != uint32(r.head) {
		t.Fatalf("returned %v, want head %d", e, r.head)
	}
	// The driver refills and resends, as its stats_request callback does.
	second := []BalloonStat{{BalloonStatAvailableMemory, 3 << 20}}
	d.submit(sq, false, out(statsBuf(second...)))
	d.kick(sq)
	waitFor(t, "second statistics", func() bool { return bal.StatsUpdates() == 2 })
	if !slices.Equal(bal.Stats(), second) {
		t.Fatalf("stats %v, want %v", bal.Stats(), second)
	}
	st := bal.SaveState()
	if !st.StatsHeld || st.StatsWanted {
		t.Fatalf("state %+v", st)
	}
}

func TestBalloonPoisonKeepsReportedPages(t *testing.T) {
	cases := []struct {
		name     string
		features uint64
		poison   uint32
		released bool
	}{
		{"no poisoning", FeatureVersion1 | BalloonFPageReporting, 0, true},
		{"zero poison", FeatureVersion1 | BalloonFPageReporting | BalloonFPagePoison, 0, true},
		{"poison pattern", FeatureVersion1 | BalloonFPageReporting | BalloonFPagePoison, 0xaaaaaaaa, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ram := newTestRAM(t, 4<<20)
			d := newTestDriverRAM(t, NewBalloon(ram), ram)
			d.start(c.features, 64)
			d.m.Write(regConfig+12, 4, uint64(c.poison))
			d.m.Quiesce() // the buffer must hold data before the device sees it
			r := d.submit(2, false, in(8192))
			fill(d.mem(r.addrs[0], 8192), 0xaa)
			d.m.Resume()
			d.kick(2)
			d.waitUsed(2, 1)
			if got := isZero(d.mem(r.addrs[0], 8192)); got != c.released {
				t.Fatalf("released = %v, want %v", got, c.released)
			}
		})
	}
}

func TestBalloonStateRoundTrip(t *testing.T) {
	a := NewBalloon(nil)
	a.SetTarget(77)
	a.WriteConfig(4, []byte{9, 0, 0, 0})
	a.RestoreState(BalloonState{NumPages: 77, Actual: 9, Stats: []BalloonStat{{1, 2}}, StatsUpdates: 3, StatsHeld: true, StatsHead: 5})
	blob, err := a.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	b := NewBalloon(nil)
	if err := b.UnmarshalState(blob); err != nil {
		t.Fatal(err)
	}
	got, want := b.SaveState(), a.SaveState()
	if got.NumPages != want.NumPages || got.Actual != want.Actual || !slices.Equal(got.Stats, want.Stats) ||
		got.StatsHead != want.StatsHead || !got.StatsHeld || got.StatsUpdates != 3 {
		t.Fatalf("restored %+v, want %+v", got, want)
	}
}
