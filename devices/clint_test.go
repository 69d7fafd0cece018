package devices

import (
	"reflect"
	"sync"
	"testing"

	"github.com/popek-vm/popek/vclock"
)

// fakeHart records what the CLINT and PLIC drive on a hart.
type fakeHart struct {
	mu       sync.Mutex
	mip      uint64
	mtimecmp uint64
	sets     int // SetMtimecmp calls
}

func (h *fakeHart) SetInterrupt(bit uint, level bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if level {
		h.mip |= 1 << bit
	} else {
		h.mip &^= 1 << bit
	}
}

func (h *fakeHart) SetMtimecmp(v uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mtimecmp = v
	h.sets++
}

func (h *fakeHart) Mtimecmp() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mtimecmp
}

func (h *fakeHart) Pending(bit uint) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mip&(1<<bit) != 0
}

func newFakeHarts(n int) ([]*fakeHart, []Hart) {
	fakes := make([]*fakeHart, n)
	harts := make([]Hart, n)
	for i := range fakes {
		fakes[i] = &fakeHart{mtimecmp: ^uint64(0)}
		harts[i] = fakes[i]
	}
	return fakes, harts
}

func TestCLINTRegisters(t *testing.T) {
	type access struct {
		write bool
		off   uint64
		size  int
		val   uint64 // written, or expected read
	}
	tests := []struct {
		name     string
		accesses []access
		msip     [2]bool   // expected MSIP per hart afterwards
		mtimecmp [2]uint64 // expected per hart afterwards
	}{
		{"reset", []access{{false, 0x0, 4, 0}, {false, 0x4, 4, 0}, {false, 0x4000, 8, ^uint64(0)}},
			[2]bool{}, [2]uint64{^uint64(0), ^uint64(0)}},
		{"msip bit 0 only", []access{
			{true, 0x4, 4, 0xffffffff}, {false, 0x4, 4, 1}, {false, 0x0, 4, 0},
			{true, 0x0, 4, 0xfffffffe}, {false, 0x0, 4, 0},
		}, [2]bool{false, true}, [2]uint64{^uint64(0), ^uint64(0)}},
		{"msip cleared", []access{{true, 0x0, 4, 1}, {true, 0x0, 4, 0}, {false, 0x0, 4, 0}},
			[2]bool{}, [2]uint64{^uint64(0), ^uint64(0)}},
		{"msip 64-bit covers two harts", []access{{true, 0x0, 8, 1<<32 | 1}, {false, 0x0, 8, 1<<32 | 1}},
			[2]bool{true, true}, [2]uint64{^uint64(0), ^uint64(0)}},
		{"mtimecmp 64-bit", []access{
			{true, 0x4008, 8, 0x1122334455667788}, {false, 0x4008, 8, 0x1122334455667788},
			{false, 0x4008, 4, 0x55667788}, {false, 0x400c, 4, 0x11223344},
		}, [2]bool{}, [2]uint64{^uint64(0), 0x1122334455667788}},
		{"mtimecmp 32-bit halves", []access{
			{true, 0x4000, 4, 0xdeadbeef_00000010}, {true, 0x4004, 4, 0x2},
			{false, 0x4000, 8, 0x2_00000010},
		}, [2]bool{}, [2]uint64{0x2_00000010, ^uint64(0)}},
		{"absent hart reads zero, ignores writes", []access{
			{true, 0x8, 4, 1}, {false, 0x8, 4, 0}, {true, 0x4010, 8, 5}, {false, 0x4010, 8, 0},
		}, [2]bool{}, [2]uint64{^uint64(0), ^uint64(0)}},
		{"byte, halfword and misaligned accesses ignored", []access{
			{true, 0x0, 1, 1}, {true, 0x4, 2, 1}, {true, 0x4002, 4, 0}, {true, 0x4004, 8, 0},
			{false, 0x0, 1, 0}, {false, 0x4000, 2, 0}, {false, 0x4004, 8, 0},
		}, [2]bool{}, [2]uint64{^uint64(0), ^uint64(0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakes, harts := newFakeHarts(2)
			c := NewCLINT(harts, vclock.New())
			for i, a := range tc.accesses {
				if a.write {
					c.Write(a.off, a.size, a.val)
				} else if got := c.Read(a.off, a.size); got != a.val {
					t.Fatalf("access %d: read %#x/%d = %#x, want %#x", i, a.off, a.size, got, a.val)
				}
			}
			for i, h := range fakes {
				if h.Pending(MSIP) != tc.msip[i] {
					t.Errorf("hart %d MSIP = %v, want %v", i, h.Pending(MSIP), tc.msip[i])
				}
				if h.Mtimecmp() != tc.mtimecmp[i] {
					t.Errorf("hart %d mtimecmp = %#x, want %#x", i, h.Mtimecmp(), tc.mtimecmp[i])
				}
			}
		})
	}
}

func TestCLINTMtimecmp64BitWriteIsOneUpdate(t *testing.T) {
	fakes, harts := newFakeHarts(1)
	c := NewCLINT(harts, vclock.New())
	c.Write(0x4000, 8, 42)
	if fakes[0].sets != 1 {
		t.Fatalf("64-bit write made %d SetMtimecmp calls, want 1", fakes[0].sets)
	}
}

func TestCLINTMtime(t *testing.T) {
	clock := vclock.New()
	clock.Pause()
	clock.Set(0x1_0000_0005)
	_, harts := newFakeHarts(1)
	c := NewCLINT(harts, clock)
	reads := []struct {
		off  uint64
		size int
		want uint64
	}{
		{clintMtime, 8, 0x1_0000_0005},
		{clintMtime, 4, 0x5},
		{clintMtime + 4, 4, 0x1},
	}
	for _, r := range reads {
		if got := c.Read(r.off, r.size); got != r.want {
			t.Errorf("read %#x/%d = %#x, want %#x", r.off, r.size, got, r.want)
		}
	}
	c.Write(clintMtime+4, 4, 7)
	if got := clock.Now(); got != 0x7_0000_0005 {
		t.Fatalf("after high-half write clock = %#x", got)
	}
	c.Write(clintMtime, 8, 99)
	if got := clock.Now(); got != 99 {
		t.Fatalf("after 64-bit write clock = %d", got)
	}
}

func TestCLINTSaveRestore(t *testing.T) {
	_, harts := newFakeHarts(3)
	src := NewCLINT(harts, vclock.New())
	src.Write(0x0, 4, 1)
	src.Write(0x8, 4, 1)
	saved := src.SaveState()

	fakes, harts2 := newFakeHarts(3)
	fakes[1].SetInterrupt(MSIP, true) // stale level the restore must clear
	dst := NewCLINT(harts2, vclock.New())
	if err := dst.RestoreState(saved); err != nil {
		t.Fatal(err)
	}
	if got := dst.SaveState(); !reflect.DeepEqual(got, saved) {
		t.Fatalf("restored %+v, want %+v", got, saved)
	}
	for i, want := range []bool{true, false, true} {
		if fakes[i].Pending(MSIP) != want {
			t.Errorf("hart %d MSIP = %v, want %v", i, fakes[i].Pending(MSIP), want)
		}
	}
	if err := dst.RestoreState(CLINTState{MSIP: []bool{true}}); err == nil {
		t.Fatal("restore accepted a state for another hart count")
	}
}
