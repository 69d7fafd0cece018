package vmm

import (
	"context"
	"testing"
	"time"
)

func TestEventLog(t *testing.T) {
	l := newEventLog()
	clk := newFakeClock()
	l.now = clk.now
	for i, typ := range []string{EventCreated, EventStarted, EventStopped} {
		e := l.add(Event{VM: "a", Type: typ})
		if e.Seq != uint64(i+1) {
			t.Fatalf("seq %d", e.Seq)
		}
		clk.advance(time.Second)
	}
	cases := []struct {
		after uint64
		want  []string
	}{
		{0, []string{EventCreated, EventStarted, EventStopped}},
		{1, []string{EventStarted, EventStopped}},
		{3, nil},
		{99, nil},
	}
	for _, c := range cases {
		evs, ch := l.After(c.after)
		if len(evs) != len(c.want) {
			t.Fatalf("After(%d) = %v", c.after, evs)
		}
		for i := range evs {
			if evs[i].Type != c.want[i] {
				t.Fatalf("After(%d)[%d] = %s", c.after, i, evs[i].Type)
			}
		}
		if len(evs) == 0 && ch == nil {
			t.Fatal("no wait channel")
		}
	}
	if s := l.SinceTime(time.Unix(1_000_001, 0)); s != 1 {
		t.Fatalf("SinceTime = %d, want 1", s)
	}
	done := make(chan []Event)
	go func() {
		evs, _ := l.Wait(context.Background(), 3)
		done <- evs
	}()
	l.add(Event{VM: "a", Type: EventDeleted})
	if evs := <-done; len(evs) != 1 || evs[0].Type != EventDeleted {
		t.Fatalf("Wait = %v", evs)
	}
}

func TestEventLogRetention(t *testing.T) {
	l := newEventLog()
	for i := 0; i < eventRetention+10; i++ {
		l.add(Event{VM: "a", Type: EventStarted})
	}
	evs, _ := l.After(0)
	if len(evs) != eventRetention || evs[0].Seq != 11 {
		t.Fatalf("kept %d events from %d", len(evs), evs[0].Seq)
	}
}

func TestEventLogStateRoundTrip(t *testing.T) {
	l := newEventLog()
	for _, typ := range []string{EventCreated, EventStarted} {
		l.add(Event{VM: "a", Type: typ, State: StateRunning})
	}
	st := l.SaveState()
	r := newEventLog()
	if err := r.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if got := r.SaveState(); got.Seq != st.Seq || len(got.Events) != 2 || got.Events[1] != st.Events[1] {
		t.Fatalf("restored %+v, saved %+v", got, st)
	}
	if e := r.add(Event{VM: "a", Type: EventStopped}); e.Seq != 3 {
		t.Fatalf("sequence after restore: %d", e.Seq)
	}
	bad := st
	bad.Events = []Event{{Seq: 2}, {Seq: 1}}
	if err := r.RestoreState(bad); err == nil {
		t.Fatal("accepted events out of order")
	}
}
