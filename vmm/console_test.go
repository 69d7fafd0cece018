package vmm

import (
	"bytes"
	"context"
	"testing"
)

func TestConsoleLogRing(t *testing.T) {
	c := newConsoleLog()
	c.Write([]byte("hello "))
	c.Write([]byte("world"))
	buf := make([]byte, 100)
	n, next, lost, err := c.ReadAt(context.Background(), buf, 0)
	if err != nil || string(buf[:n]) != "hello world" || next != 11 || lost != 0 {
		t.Fatalf("ReadAt = %q, %d, %d, %v", buf[:n], next, lost, err)
	}
	// Overflow the ring: the oldest bytes go, readers behind are told.
	big := bytes.Repeat([]byte("x"), ScrollbackSize)
	c.Write(big)
	c.Write([]byte("END"))
	oldest, end := c.Offsets()
	if end != 11+ScrollbackSize+3 || oldest != end-ScrollbackSize {
		t.Fatalf("offsets %d..%d", oldest, end)
	}
	buf = make([]byte, 2*ScrollbackSize)
	n, next, lost, _ = c.ReadAt(context.Background(), buf, 0)
	if lost != oldest || next != end || n != ScrollbackSize || string(buf[n-3:n]) != "END" {
		t.Fatalf("read %d bytes to %d, lost %d", n, next, lost)
	}
	// A single write larger than the ring keeps its tail.
	c.Write(append(bytes.Repeat([]byte("y"), 2*ScrollbackSize), "TAIL"...))
	st := c.SaveState()
	if len(st.Data) != ScrollbackSize || !bytes.HasSuffix(st.Data, []byte("TAIL")) {
		t.Fatalf("retained %d bytes", len(st.Data))
	}
}

func TestConsoleLogWaitsForOutput(t *testing.T) {
	c := newConsoleLog()
	got := make(chan string)
	go func() {
		buf := make([]byte, 10)
		n, _, _, _ := c.ReadAt(context.Background(), buf, 0)
		got <- string(buf[:n])
	}()
	c.Write([]byte("late"))
	if s := <-got; s != "late" {
		t.Fatalf("read %q", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := c.ReadAt(ctx, make([]byte, 1), 4); err == nil {
		t.Fatal("ReadAt returned without output or error")
	}
}

func TestConsoleLogStateRoundTrip(t *testing.T) {
	cases := []int{0, 10, ScrollbackSize - 1, ScrollbackSize + 7, 3 * ScrollbackSize}
	for _, size := range cases {
		c := newConsoleLog()
		for i := 0; i < size; i++ {
			c.Write([]byte{byte('a' + i%26)})
		}
		st := c.SaveState()
		r := newConsoleLog()
		if err := r.RestoreState(st); err != nil {
			t.Fatal(err)
		}
		got := r.SaveState()
		if !bytes.Equal(got.Data, st.Data) || got.Total != st.Total {
			t.Fatalf("size %d: restored %d bytes/%d total, saved %d/%d", size, len(got.Data), got.Total, len(st.Data), st.Total)
		}
	}
	if err := newConsoleLog().RestoreState(ConsoleLogState{Data: []byte("abc"), Total: 2}); err == nil {
		t.Fatal("accepted more data than the stream held")
	}
}
