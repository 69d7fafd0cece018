package devices

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/popek-vm/popek/vclock"
)

const testSources = 96 // as on QEMU virt

func plicPriorityOff(src int) uint64 { return plicPriorityBase + 4*uint64(src) }
func plicEnableOff(ctx, src int) uint64 {
	return plicEnableBase + plicEnableStride*uint64(ctx) + 4*uint64(src/32)
}
func plicThresholdOff(ctx int) uint64 { return plicContextBase + plicContextStride*uint64(ctx) }
func plicClaimOff(ctx int) uint64     { return plicThresholdOff(ctx) + plicClaim }

// plicStep is one action in a PLIC scenario; want is the expected claim or
// register value.
type plicStep struct {
	op   byte // 'p' priority, 'e' enable, 't' threshold, 'l' line, 'c' claim, 'd' complete, 'r' read
	ctx  int
	src  int
	val  uint64
	want uint64
}

func prio(src int, v uint64) plicStep   { return plicStep{op: 'p', src: src, val: v} }
func enable(ctx, src int) plicStep      { return plicStep{op: 'e', ctx: ctx, src: src} }
func thresh(ctx int, v uint64) plicStep { return plicStep{op: 't', ctx: ctx, val: v} }
func line(src int, high bool) plicStep  { return plicStep{op: 'l', src: src, val: b2u(high)} }
func claim(ctx int, want int) plicStep  { return plicStep{op: 'c', ctx: ctx, want: uint64(want)} }
func complete(ctx int, id int) plicStep { return plicStep{op: 'd', ctx: ctx, val: uint64(id)} }
func readReg(off, want uint64) plicStep { return plicStep{op: 'r', val: off, want: want} }
func writeReg(off, val uint64) plicStep { return plicStep{op: 'w', src: int(off), val: val} }
func pendingWord(w int) uint64          { return plicPendingBase + 4*uint64(w) }
func ctxLines(fakes []*fakeHart) string { // one digit per context: M0 S0 M1 S1
	s := ""
	for _, h := range fakes {
		s += fmt.Sprintf("%d%d", b2u(h.Pending(MEIP)), b2u(h.Pending(SEIP)))
	}
	return s
}

func TestPLICScenarios(t *testing.T) {
	tests := []struct {
		name  string
		steps []plicStep
		lines []string // context outputs after each step
	}{
		{"claim, gateway and complete",
			[]plicStep{prio(10, 1), enable(1, 10), line(10, true), readReg(pendingWord(0), 1<<10),
				claim(1, 10), readReg(pendingWord(0), 0), claim(1, 0), complete(1, 10),
				line(10, false), claim(1, 0)},
			[]string{"0000", "0000", "0100", "0100", "0000", "0000", "0000", "0100", "0000", "0000"}},
		{"line toggling while claimed stays masked",
			[]plicStep{prio(3, 2), enable(0, 3), line(3, true), claim(0, 3), line(3, false),
				line(3, true), readReg(pendingWord(0), 0), complete(0, 3), claim(0, 3)},
			[]string{"0000", "0000", "1000", "0000", "0000", "0000", "0000", "1000", "0000"}},
		{"highest priority first, ties to lowest ID",
			[]plicStep{prio(5, 3), prio(6, 3), prio(7, 5), prio(40, 3), enable(0, 5), enable(0, 6),
				enable(0, 7), enable(0, 40), line(40, true), line(6, true), line(7, true), line(5, true),
				claim(0, 7), claim(0, 5), claim(0, 6), claim(0, 40), claim(0, 0)},
			[]string{"0000", "0000", "0000", "0000", "0000", "0000", "0000", "0000", "1000", "1000",
				"1000", "1000", "1000", "1000", "1000", "0000", "0000"}},
		{"threshold masks priorities at or below it",
			[]plicStep{prio(3, 2), enable(0, 3), thresh(0, 2), line(3, true), claim(0, 0),
				thresh(0, 1), thresh(0, 9), readReg(plicThresholdOff(0), 1), claim(0, 3)},
			[]string{"0000", "0000", "0000", "0000", "0000", "1000", "1000", "1000", "0000"}},
		{"priority 0 never interrupts",
			[]plicStep{enable(0, 8), line(8, true), readReg(pendingWord(0), 1<<8), claim(0, 0)},
			[]string{"0000", "0000", "0000", "0000"}},
		{"complete ignored unless claimed and enabled",
			[]plicStep{prio(4, 1), enable(0, 4), line(4, true), complete(0, 4), claim(0, 4),
				complete(2, 4), readReg(pendingWord(0), 0), complete(0, 95), complete(0, 1000),
				complete(0, 4), claim(0, 4)},
			[]string{"0000", "0000", "1000", "1000", "0000", "0000", "0000", "0000", "0000", "1000", "0000"}},
		{"one source, two contexts",
			[]plicStep{prio(33, 7), enable(0, 33), enable(3, 33), line(33, true), claim(3, 33),
				claim(0, 0), complete(3, 33)},
			[]string{"0000", "0000", "0000", "1001", "0000", "0000", "1001"}},
		{"priority change re-evaluates",
			[]plicStep{prio(9, 1), enable(1, 9), thresh(1, 1), line(9, true), prio(9, 2), prio(9, 0)},
			[]string{"0000", "0000", "0000", "0000", "0100", "0000"}},
		{"register masks",
			[]plicStep{writeReg(plicPriorityOff(0), 7), readReg(plicPriorityOff(0), 0),
				writeReg(plicPriorityOff(95), 0xff), readReg(plicPriorityOff(95), 7),
				readReg(plicPriorityOff(96), 0),
				writeReg(plicEnableOff(0, 0), 0xffffffff), readReg(plicEnableOff(0, 0), 0xfffffffe),
				writeReg(plicEnableOff(0, 64), 0xffffffff), readReg(plicEnableOff(0, 64), 0xffffffff),
				writeReg(plicEnableOff(0, 96), 0xffffffff), readReg(plicEnableOff(0, 96), 0),
				writeReg(plicEnableOff(4, 0), 0xffffffff), readReg(plicEnableOff(4, 0), 0),
				writeReg(pendingWord(0), 0xffffffff), readReg(pendingWord(0), 0),
				readReg(plicClaimOff(4), 0), readReg(plicThresholdOff(0)+8, 0)},
			[]string{"0000", "0000", "0000", "0000", "0000", "0000", "0000", "0000", "0000", "0000",
				"0000", "0000", "0000", "0000", "0000", "0000", "0000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.lines) != len(tc.steps) {
				t.Fatalf("table has %d steps but %d line states", len(tc.steps), len(tc.lines))
			}
			fakes, harts := newFakeHarts(2)
			p := NewPLIC(harts, testSources)
			for i, s := range tc.steps {
				runPLICStep(t, p, i, s)
				if got := ctxLines(fakes); got != tc.lines[i] {
					t.Fatalf("step %d (%c): context lines %s, want %s", i, s.op, got, tc.lines[i])
				}
			}
		})
	}
}

func runPLICStep(t *testing.T, p *PLIC, i int, s plicStep) {
	t.Helper()
	switch s.op {
	case 'p':
		p.Write(plicPriorityOff(s.src), 4, s.val)
	case 'e':
		off := plicEnableOff(s.ctx, s.src)
		p.Write(off, 4, p.Read(off, 4)|1<<(s.src%32))
	case 't':
		p.Write(plicThresholdOff(s.ctx), 4, s.val)
	case 'l':
		p.Source(s.src).SetLevel(s.val != 0)
	case 'c':
		if got := p.Read(plicClaimOff(s.ctx), 4); got != s.want {
			t.Fatalf("step %d: context %d claimed %d, want %d", i, s.ctx, got, s.want)
		}
	case 'd':
		p.Write(plicClaimOff(s.ctx), 4, s.val)
	case 'r':
		if got := p.Read(s.val, 4); got != s.want {
			t.Fatalf("step %d: read %#x = %#x, want %#x", i, s.val, got, s.want)
		}
	case 'w':
		p.Write(uint64(s.src), 4, s.val)
	}
}

func TestPLICOnlyWordAccesses(t *testing.T) {
	_, harts := newFakeHarts(1)
	p := NewPLIC(harts, testSources)
	p.Write(plicPriorityOff(1), 4, 5)
	accesses := []struct {
		off  uint64
		size int
	}{{plicPriorityOff(1), 1}, {plicPriorityOff(1), 2}, {plicPriorityOff(1), 8}, {plicPriorityOff(1) + 2, 4}}
	for _, a := range accesses {
		if got := p.Read(a.off, a.size); got != 0 {
			t.Errorf("read %#x/%d = %#x, want 0", a.off, a.size, got)
		}
		p.Write(a.off, a.size, 0)
	}
	if got := p.Read(plicPriorityOff(1), 4); got != 5 {
		t.Fatalf("priority changed by a non-word write: %d", got)
	}
}

func TestPLICSourcesOutOfRangeAreInert(t *testing.T) {
	fakes, harts := newFakeHarts(1)
	p := NewPLIC(harts, testSources)
	for _, n := range []int{-1, 0, testSources, 1 << 20} {
		p.Source(n).SetLevel(true)
	}
	for w := range 4 {
		if got := p.Read(pendingWord(w), 4); got != 0 {
			t.Fatalf("pending word %d = %#x", w, got)
		}
	}
	if ctxLines(fakes) != "00" {
		t.Fatal("an inert source raised a context")
	}
}

// plicInState sets up claims, enables, priorities and lines on two harts.
func plicInState(p *PLIC) {
	for src := 1; src < testSources; src += 7 {
		p.Write(plicPriorityOff(src), 4, uint64(src%8))
		p.Source(src).SetLevel(src%3 != 0)
	}
	for ctx := range 4 {
		p.Write(plicEnableOff(ctx, 0), 4, 0x5555_5555<<ctx)
		p.Write(plicEnableOff(ctx, 64), 4, 0xffff_0000>>ctx)
		p.Write(plicThresholdOff(ctx), 4, uint64(ctx))
	}
	p.Read(plicClaimOff(0), 4)
	p.Read(plicClaimOff(3), 4)
}

func TestPLICSaveRestore(t *testing.T) {
	srcFakes, harts := newFakeHarts(2)
	src := NewPLIC(harts, testSources)
	plicInState(src)
	saved := src.SaveState()

	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(saved); err != nil {
		t.Fatal(err)
	}
	var decoded PLICState
	if err := gob.NewDecoder(&buf).Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	dstFakes, harts2 := newFakeHarts(2)
	dst := NewPLIC(harts2, testSources)
	if err := dst.RestoreState(decoded); err != nil {
		t.Fatal(err)
	}
	if got := dst.SaveState(); !reflect.DeepEqual(got, saved) {
		t.Fatalf("restored %+v\nwant %+v", got, saved)
	}
	if a, b := ctxLines(srcFakes), ctxLines(dstFakes); a != b || a == "0000" {
		t.Fatalf("context lines: original %s, restored %s (want equal and some high)", a, b)
	}
	for ctx := range 4 {
		if a, b := src.Read(plicClaimOff(ctx), 4), dst.Read(plicClaimOff(ctx), 4); a != b {
			t.Fatalf("context %d: original claims %d, restored %d", ctx, a, b)
		}
	}
}

func TestPLICRestoreRejectsMismatch(t *testing.T) {
	_, harts := newFakeHarts(2)
	good := NewPLIC(harts, testSources).SaveState()
	tests := []struct {
		name   string
		mutate func(*PLICState)
	}{
		{"sources", func(s *PLICState) { s.NumSources = 64 }},
		{"priority", func(s *PLICState) { s.Priority = s.Priority[:10] }},
		{"level", func(s *PLICState) { s.Level = nil }},
		{"claimed", func(s *PLICState) { s.Claimed = append(s.Claimed, 0) }},
		{"contexts", func(s *PLICState) { s.Enable = s.Enable[:2] }},
		{"enable words", func(s *PLICState) { s.Enable[1] = s.Enable[1][:1] }},
		{"thresholds", func(s *PLICState) { s.Threshold = s.Threshold[:3] }},
	}
	for _, tc := range tests {
		s := good
		s.Priority = append([]uint32(nil), good.Priority...)
		s.Enable = append([][]uint32(nil), good.Enable...)
		tc.mutate(&s)
		if err := NewPLIC(harts, testSources).RestoreState(s); err == nil {
			t.Errorf("%s: mismatched state accepted", tc.name)
		}
	}
}

// TestPLICConcurrent has devices raise lines while two harts claim and
// complete on their own goroutines; run with -race. Each device lowers its
// line before its interrupt is completed, so every raise is claimed exactly
// once; a second claim of an outstanding source is reported, not waited on.
func TestPLICConcurrent(t *testing.T) {
	const devices, rounds = 8, 200
	fakes, harts := newFakeHarts(2)
	p := NewPLIC(harts, testSources)
	for src := 1; src <= devices; src++ {
		p.Write(plicPriorityOff(src), 4, uint64(1+src%7))
	}
	p.Write(plicEnableOff(1, 0), 4, 0x1fe) // sources 1-8 to both S contexts
	p.Write(plicEnableOff(3, 0), 4, 0x1fe)

	// served[src] hands the claiming hart's acknowledgement channel to the
	// device; it can hold one claim, the most a correct PLIC allows.
	served := make([]chan chan struct{}, devices+1)
	for i := range served {
		served[i] = make(chan chan struct{}, 1)
	}
	devsDone := make(chan struct{})
	var claims atomic.Int64
	var harters, devs sync.WaitGroup
	for ctx := 1; ctx <= 3; ctx += 2 {
		harters.Add(1)
		go func() {
			defer harters.Done()
			for {
				select {
				case <-devsDone:
					return
				default:
				}
				id := p.Read(plicClaimOff(ctx), 4)
				if id == 0 {
					runtime.Gosched()
					continue
				}
				claims.Add(1)
				if id > devices {
					t.Errorf("claimed source %d, which was never raised", id)
					continue
				}
				ack := make(chan struct{})
				select {
				case served[id] <- ack:
					select {
					case <-ack:
					case <-devsDone:
					}
				default:
					t.Errorf("source %d claimed twice", id)
				}
				p.Write(plicClaimOff(ctx), 4, id)
			}
		}()
	}
	for src := 1; src <= devices; src++ {
		devs.Add(1)
		go func() {
			defer devs.Done()
			irq := p.Source(src)
			for range rounds {
				irq.SetLevel(true)
				ack := <-served[src]
				irq.SetLevel(false)
				close(ack)
			}
		}()
	}
	devs.Wait()
	close(devsDone)
	harters.Wait()
	if got := claims.Load(); got != devices*rounds {
		t.Fatalf("%d claims, want %d", got, devices*rounds)
	}
	if p.Read(pendingWord(0), 4) != 0 || ctxLines(fakes) != "0000" {
		t.Fatalf("left pending %#x, lines %s", p.Read(pendingWord(0), 4), ctxLines(fakes))
	}
}

func FuzzPLICRegisters(f *testing.F) {
	f.Add([]byte{0, 0, 0, 10, 1, 1, 2, 0, 0x80, 4, 2, 3, 10, 1, 3, 1, 0, 0, 4, 1, 0, 0, 0, 10})
	f.Add([]byte{2, 0, 7, 1, 1, 0, 0, 0xff, 3, 2, 0, 0, 0, 5, 1, 4, 1, 0, 0, 0})
	bases := [...]uint64{plicPriorityBase, plicPendingBase, plicEnableBase, plicContextBase, 0x3fff000}
	sizes := [...]int{4, 4, 4, 1, 2, 8}
	f.Fuzz(func(t *testing.T, ops []byte) {
		fakes, harts := newFakeHarts(2)
		p := NewPLIC(harts, testSources)
		for len(ops) >= 4 {
			kind, a, b, c := ops[0], ops[1], ops[2], ops[3]
			ops = ops[4:]
			off := bases[int(a)%len(bases)] + uint64(b)<<4 + uint64(c&0xf)
			if a&0x80 != 0 {
				off = plicContextBase + plicContextStride*uint64(b%8) + uint64(c%2)*4
			}
			size := sizes[int(kind>>4)%len(sizes)]
			val := uint64(c) * 0x01010101
			switch kind % 5 {
			case 0:
				if id := p.Read(off, size); off >= plicContextBase && id >= testSources && off%plicContextStride == plicClaim {
					t.Fatalf("claimed impossible ID %d", id)
				}
			case 1:
				p.Write(off, size, val)
			case 2:
				p.Source(int(b)).SetLevel(c&1 != 0)
			case 3:
				p.Write(plicClaimOff(int(b%4)), 4, uint64(c))
			case 4:
				if err := p.RestoreState(p.SaveState()); err != nil {
					t.Fatal(err)
				}
			}
			for ctx := range 4 {
				p.mu.Lock()
				want := p.best(ctx) != 0
				p.mu.Unlock()
				bit := uint(MEIP)
				if ctx%2 == 1 {
					bit = SEIP
				}
				if fakes[ctx/2].Pending(bit) != want {
					t.Fatalf("context %d line %v, want %v", ctx, !want, want)
				}
			}
		}
	})
}

// TestMMIODoesNotAllocate keeps the register paths harts hit most free of
// allocations.
func TestMMIODoesNotAllocate(t *testing.T) {
	_, harts := newFakeHarts(2)
	p := NewPLIC(harts, testSources)
	p.Write(plicPriorityOff(10), 4, 1)
	p.Write(plicEnableOff(1, 10), 4, 1<<10)
	src := p.Source(10)
	u := NewUART16550(p.Source(11), nil)
	c := NewCLINT(harts, vclock.New())
	tests := []struct {
		name string
		f    func()
	}{
		{"uart transmit", func() { u.Write(uartRBR, 1, 'x'); u.Read(uartLSR, 1); u.Read(uartIIR, 1) }},
		{"uart receive", func() { u.Input([]byte{'y'}); u.Read(uartRBR, 1) }},
		{"plic raise, claim, complete", func() {
			src.SetLevel(true)
			id := p.Read(plicClaimOff(1), 4)
			src.SetLevel(false)
			p.Write(plicClaimOff(1), 4, id)
		}},
		{"clint", func() { c.Read(clintMtime, 8); c.Write(0x4000, 8, 5); c.Write(0, 4, 1) }},
	}
	for _, tc := range tests {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s: %v allocations per run", tc.name, n)
		}
	}
}
