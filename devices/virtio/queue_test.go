package virtio

import (
	"encoding/binary"
	"testing"
)

// directQueue builds a live queue over test RAM, driven without a transport.
func directQueue(t testing.TB, size uint16, features uint64) (*Queue, *fakeOwner, *testDriver) {
	ram := newTestRAM(t, 1<<20)
	d := &testDriver{t: t, ram: ram, next: testRAMBase}
	owner := &fakeOwner{}
	q := newQueue(0, size, owner, ram, features)
	tq := &testQueue{size: size}
	tq.desc = d.alloc(16*uint64(size)+6+2*uint64(size), 4096)
	tq.avail = tq.desc + 16*uint64(size)
	tq.used = d.alloc(6+8*uint64(size), 4096)
	q.desc, q.avail, q.used = tq.desc, tq.avail, tq.used
	if err := q.enable(); err != nil {
		t.Fatal(err)
	}
	d.queues = []*testQueue{tq}
	return q, owner, d
}

func TestPopPushDoesNotAllocate(t *testing.T) {
	q, owner, d := directQueue(t, 16, FeatureEventIdx|FeatureIndirectDesc)
	hdr, data := d.alloc(16, 8), d.alloc(4096, 8)
	d.writeDesc(d.queues[0].desc, 0, hdr, 16, descFNext, 1)
	d.writeDesc(d.queues[0].desc, 1, data, 4096, descFNext|descFWrite, 2)
	d.writeDesc(d.queues[0].desc, 2, data, 1, descFWrite, 0)
	var status [1]byte
	allocs := testing.AllocsPerRun(1000, func() {
		d.publish(0, 0)
		c, ok := q.Pop()
		if !ok {
			t.Fatal("no chain")
		}
		c.WriteAt(status[:], c.Writable()-1)
		q.Push(c, c.Writable())
		q.Signal()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
	if owner.broken {
		t.Fatal(owner.err)
	}
}

func TestNeedEvent(t *testing.T) {
	cases := []struct {
		event, newIdx, old uint16
		want               bool
	}{
		{0, 1, 0, true},
		{1, 1, 0, false},
		{1, 2, 0, true},
		{5, 3, 0, false},
		{0xffff, 0, 0xfffe, true}, // across the wrap
		{0xffff, 0xffff, 0xfffe, false},
		{7, 7, 7, false}, // nothing new
	}
	for _, c := range cases {
		if got := needEvent(c.event, c.newIdx, c.old); got != c.want {
			t.Errorf("needEvent(%d, %d, %d) = %v, want %v", c.event, c.newIdx, c.old, got, c.want)
		}
	}
}

func TestChainStreams(t *testing.T) {
	q, _, d := directQueue(t, 8, 0)
	r := d.submit(0, false, out([]byte("abc")), out([]byte("defgh")), in(2), in(4))
	c, ok := q.Pop()
	if !ok || c.Head != r.head {
		t.Fatal("pop failed")
	}
	cases := []struct {
		off  uint64
		n    int
		want string
	}{
		{0, 8, "abcdefgh"},
		{2, 3, "cde"},
		{7, 5, "h"},
		{8, 4, ""},
	}
	for _, tc := range cases {
		p := make([]byte, tc.n)
		got := p[:c.ReadAt(p, tc.off)]
		if string(got) != tc.want {
			t.Errorf("ReadAt(%d, %d) = %q, want %q", tc.off, tc.n, got, tc.want)
		}
	}
	if n := c.WriteAt([]byte("WXYZ!!"), 1); n != 5 {
		t.Fatalf("WriteAt wrote %d, want 5", n)
	}
	if a, b := string(d.written(r, 2)), string(d.written(r, 3)); a != "\x00W" || b != "XYZ!" {
		t.Fatalf("writable buffers %q %q", a, b)
	}
	if s := c.Slices(true, 1, 3, nil); len(s) != 2 || len(s[0]) != 1 || len(s[1]) != 2 {
		t.Fatalf("slices %v", s)
	}
	if c.Readable() != 8 || c.Writable() != 6 {
		t.Fatalf("lengths %d/%d", c.Readable(), c.Writable())
	}
}

func TestPushClampsAndPublishes(t *testing.T) {
	q, _, d := directQueue(t, 4, 0)
	for i := range 6 { // wraps the used ring
		d.submit(0, false, in(8))
		c, ok := q.Pop()
		if !ok {
			t.Fatalf("pop %d failed", i)
		}
		q.Push(c, 1000) // more than the chain holds
		e := d.waitUsed(0, 1)[0]
		if e[1] != 8 {
			t.Fatalf("used len %d, want clamp to 8", e[1])
		}
	}
	if got := binary.LittleEndian.Uint16(d.mem(d.queues[0].used+2, 2)); got != 6 {
		t.Fatalf("used idx %d", got)
	}
}
