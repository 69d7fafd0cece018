package mem

import "testing"

func TestContainsOverflowSafe(t *testing.T) {
	r, err := New(0x80000000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cases := []struct {
		addr, n uint64
		want    bool
	}{
		{0x80000000, 1 << 20, true},
		{0x80000000, 1<<20 + 1, false},
		{0x7fffffff, 1, false},
		{0x800fffff, 1, true},
		{0x80100000, 0, false},
		{0x80000010, ^uint64(0), false},
		{^uint64(0), 2, false},
	}
	for _, c := range cases {
		if got := r.Contains(c.addr, c.n); got != c.want {
			t.Errorf("Contains(%#x, %#x) = %v, want %v", c.addr, c.n, got, c.want)
		}
	}
}

func TestDirtyTracking(t *testing.T) {
	r, err := New(0x80000000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.MarkDirty(0x80000000)
	r.MarkDirtyRange(0x80001ff0, 0x20) // pages 1 and 2
	r.MarkDirty(0x800ff000)
	got := r.TakeDirty()
	want := []uint64{0, 1, 2, 255}
	if len(got) != len(want) {
		t.Fatalf("dirty = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dirty = %v, want %v", got, want)
		}
	}
	if again := r.TakeDirty(); len(again) != 0 {
		t.Fatalf("dirty after take = %v", again)
	}
}

func TestDiscardZeroes(t *testing.T) {
	r, err := New(0x80000000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := r.Bytes()
	for i := range b[:3*PageSize] {
		b[i] = 0xaa
	}
	if err := r.Discard(0x80000000+PageSize, PageSize); err != nil {
		t.Fatal(err)
	}
	if b[PageSize] != 0 || b[2*PageSize-1] != 0 || b[0] != 0xaa || b[2*PageSize] != 0xaa {
		t.Fatal("Discard did not zero exactly the page")
	}
}
