package virtio

import (
	"bytes"
	"testing"
)

func TestRNGFillsWritableBuffers(t *testing.T) {
	cases := []struct {
		name     string
		indirect bool
		bufs     []buf
		wantLen  uint32
	}{
		{"one buffer", false, []buf{in(64)}, 64},
		{"scatter", false, []buf{in(3), in(5), in(200)}, 208},
		{"indirect", true, []buf{in(32), in(32)}, 64},
		{"readable buffers are left alone", false, []buf{out([]byte{1, 2, 3}), in(16)}, 16},
		{"capped per request", false, []buf{in(rngMaxRequest + 4096)}, rngMaxRequest},
	}
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1|FeatureIndirectDesc|FeatureEventIdx, 64)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, n := d.call(0, c.indirect, c.bufs...)
			if n != c.wantLen {
				t.Fatalf("used len %d, want %d", n, c.wantLen)
			}
			for i, b := range c.bufs {
				if b.write == 0 {
					if got := d.mem(r.addrs[i], uint64(len(b.data))); !bytes.Equal(got, b.data) {
						t.Errorf("readable buffer %d modified", i)
					}
					continue
				}
				got := d.written(r, i)
				if n := min(uint64(len(got)), rngMaxRequest); bytes.Equal(got[:n], make([]byte, n)) && n >= 8 {
					t.Errorf("buffer %d not filled", i)
				}
			}
		})
	}
}

func TestDeviceWritesMarkPagesDirty(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	d.ram.TakeDirty()
	r, _ := d.call(0, false, in(3*4096))
	d.m.Quiesce()
	defer d.m.Resume()
	dirty := map[uint64]bool{}
	for _, p := range d.ram.TakeDirty() {
		dirty[p] = true
	}
	first := (r.addrs[0] - testRAMBase) >> 12
	last := (r.addrs[0] + 3*4096 - 1 - testRAMBase) >> 12
	for p := first; p <= last; p++ {
		if !dirty[p] {
			t.Errorf("buffer page %d not marked dirty", p)
		}
	}
	if usedPage := (d.queues[0].used - testRAMBase) >> 12; !dirty[usedPage] {
		t.Error("used ring page not marked dirty")
	}
}
