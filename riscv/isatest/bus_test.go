package isatest

import (
	"testing"

	"github.com/popek-vm/popek/vclock"
)

type fakeHart struct {
	mip      map[uint]bool
	mtimecmp uint64
}

func (f *fakeHart) SetInterrupt(bit uint, level bool) { f.mip[bit] = level }
func (f *fakeHart) SetMtimecmp(v uint64)              { f.mtimecmp = v }
func (f *fakeHart) Mtimecmp() uint64                  { return f.mtimecmp }

func TestTestBusCLINT(t *testing.T) {
	clock := vclock.New()
	clock.Pause()
	clock.Set(0x1122334455667788)
	b := NewTestBus(clock)
	h := &fakeHart{mip: map[uint]bool{}}
	b.Hart = h

	b.Write(CLINTBase+clintMtimecmp, 4, 0xaabbccdd)
	b.Write(CLINTBase+clintMtimecmp+4, 4, 0x1)
	if h.mtimecmp != 0x1aabbccdd {
		t.Fatalf("mtimecmp forwarded as %#x after two word writes", h.mtimecmp)
	}
	b.Write(CLINTBase, 4, 1)
	if !h.mip[3] {
		t.Fatal("msip=1 did not raise MSIP")
	}
	b.Write(CLINTBase, 4, 0)
	if h.mip[3] {
		t.Fatal("msip=0 did not lower MSIP")
	}
	reads := []struct {
		addr uint64
		size int
		want uint64
	}{
		{CLINTBase + clintMtime, 8, 0x1122334455667788},
		{CLINTBase + clintMtime, 4, 0x55667788},
		{CLINTBase + clintMtime + 4, 4, 0x11223344},
		{CLINTBase + clintMtimecmp, 8, 0x1aabbccdd},
		{CLINTBase + clintMtimecmp + 2, 2, 0xaabb},
		{UARTBase + uartLSR, 1, 0x60},
	}
	for _, r := range reads {
		got, ok := b.Read(r.addr, r.size)
		if !ok || got != r.want {
			t.Errorf("Read(%#x, %d) = %#x, %v; want %#x", r.addr, r.size, got, ok, r.want)
		}
	}
	if _, ok := b.Read(0x80000, 8); ok {
		t.Error("unmapped address answered")
	}
	if b.Write(0x80000, 8, 0) {
		t.Error("unmapped address accepted a write")
	}
}

func TestTestBusFinisherAndUART(t *testing.T) {
	cases := []struct {
		val      uint64
		finished bool
		passed   bool
		code     uint32
	}{
		{0x5555, true, true, 0},
		{0x2a3333, true, false, 42},
		{0x7777, true, false, 0xffff},
		{0x1234, false, false, 0},
	}
	for _, c := range cases {
		b := NewTestBus(vclock.New())
		stopped := false
		b.OnFinish = func() { stopped = true }
		b.Write(SiFiveTestBase, 4, c.val)
		fin, pass, code := b.Finished()
		if fin != c.finished || pass != c.passed || code != c.code || stopped != c.finished {
			t.Errorf("finisher %#x: finished=%v passed=%v code=%d stopped=%v", c.val, fin, pass, code, stopped)
		}
	}
	b := NewTestBus(vclock.New())
	for _, c := range []byte("ok\n") {
		b.Write(UARTBase, 1, uint64(c))
	}
	if b.UART() != "ok\n" {
		t.Errorf("UART collected %q", b.UART())
	}
}
