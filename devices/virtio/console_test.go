package virtio

import (
	"bytes"
	"sync"
	"testing"
)

// syncBuffer is an io.Writer safe to read while the worker writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConsoleOutput(t *testing.T) {
	var outBuf syncBuffer
	d := newTestDriver(t, NewConsole(&outBuf))
	d.start(FeatureVersion1|FeatureIndirectDesc, 16)
	d.call(consoleTxQueue, false, out([]byte("hello, ")))
	_, n := d.call(consoleTxQueue, true, out([]byte("wor")), out([]byte("ld\n")))
	if n != 0 {
		t.Errorf("transmit used len %d, want 0", n)
	}
	if got := outBuf.String(); got != "hello, world\n" {
		t.Fatalf("output %q", got)
	}
}

func TestConsoleInput(t *testing.T) {
	cases := []struct {
		name       string
		bufsFirst  bool
		input      string
		bufs       []uint32
		wantChunks []string
	}{
		{"buffers then input", true, "abcdef", []uint32{4, 4}, []string{"abcd", "ef"}},
		{"input then buffers", false, "xyz", []uint32{16}, []string{"xyz"}},
		{"input larger than one buffer", false, "0123456789", []uint32{3, 3, 8}, []string{"012", "345", "6789"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			con := NewConsole(&syncBuffer{})
			d := newTestDriver(t, con)
			d.start(FeatureVersion1, 16)
			var reqs []req
			post := func() {
				for _, n := range c.bufs {
					reqs = append(reqs, d.submit(consoleRxQueue, false, in(n)))
				}
				d.kick(consoleRxQueue)
			}
			if c.bufsFirst {
				post()
				con.Input([]byte(c.input))
			} else {
				con.Input([]byte(c.input))
				post()
			}
			used := d.waitUsed(consoleRxQueue, len(c.wantChunks))
			for i, want := range c.wantChunks {
				if used[i][0] != uint32(reqs[i].head) || used[i][1] != uint32(len(want)) {
					t.Fatalf("used[%d] = %v, want head %d len %d", i, used[i], reqs[i].head, len(want))
				}
				if got := string(d.written(reqs[i], 0)[:len(want)]); got != want {
					t.Errorf("buffer %d got %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestConsoleInputBounded(t *testing.T) {
	con := NewConsole(&syncBuffer{})
	con.Input(make([]byte, consoleMaxPending-10))
	con.Input(make([]byte, 25))
	if got := con.Dropped(); got != 15 {
		t.Fatalf("dropped %d, want 15", got)
	}
	if got := len(con.SaveState().Pending); got != consoleMaxPending {
		t.Fatalf("pending %d", got)
	}
}

func TestConsoleSizeConfig(t *testing.T) {
	con := NewConsole(&syncBuffer{})
	d := newTestDriver(t, con)
	if f := d.deviceFeatures(); f&ConsoleFSize == 0 {
		t.Fatal("F_SIZE not offered")
	}
	d.start(FeatureVersion1|ConsoleFSize, 16)
	gen := d.reg(regConfigGeneration)
	con.SetSize(132, 43)
	if d.reg(regConfigGeneration) == gen {
		t.Error("config generation unchanged")
	}
	if d.reg(regInterruptStatus)&InterruptConfig == 0 {
		t.Error("no config change interrupt")
	}
	if cols, rows := d.m.Read(regConfig, 2), d.m.Read(regConfig+2, 2); cols != 132 || rows != 43 {
		t.Fatalf("config cols %d rows %d", cols, rows)
	}
	if v := d.m.Read(regConfig, 4); v != 43<<16|132 {
		t.Fatalf("32-bit config read %#x", v)
	}
}

func TestConsoleStateRoundTrip(t *testing.T) {
	a := NewConsole(&syncBuffer{})
	a.SetSize(100, 30)
	a.Input([]byte("pending"))
	blob, err := a.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	b := NewConsole(&syncBuffer{})
	if err := b.UnmarshalState(blob); err != nil {
		t.Fatal(err)
	}
	if got, want := b.SaveState(), a.SaveState(); string(got.Pending) != "pending" || got.Cols != want.Cols || got.Rows != want.Rows {
		t.Fatalf("restored %+v, want %+v", got, want)
	}
}
