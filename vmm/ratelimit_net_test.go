package vmm

import (
	"testing"
	"time"
)

// recordingNet is a NetBackend that keeps what it is sent.
type recordingNet struct {
	sent    []int
	deliver func([]byte)
}

func (r *recordingNet) SetReceiver(d func([]byte)) { r.deliver = d }
func (r *recordingNet) Send(f []byte)              { r.sent = append(r.sent, len(f)) }
func (r *recordingNet) Close() error               { return nil }

// TestLimitedNetPolices checks that frames beyond the bucket are dropped in
// each direction independently and pass again once it refills.
func TestLimitedNetPolices(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	l := RateLimit{BytesPerSec: 1000, BytesBurst: 1000}
	inner := &recordingNet{}
	n := &limitedNet{NetBackend: inner, tx: newRateLimiterClock(l, clock), rx: newRateLimiterClock(l, clock)}
	var got []int
	n.SetReceiver(func(f []byte) { got = append(got, len(f)) })

	steps := []struct {
		advance    time.Duration
		tx, rx     int
		sent, recv int // totals after the step
	}{
		{0, 600, 600, 1, 1},
		{0, 600, 0, 1, 1},                      // tx bucket has 400 left: dropped
		{0, 0, 300, 1, 2},                      // rx has its own 400
		{600 * time.Millisecond, 600, 0, 2, 2}, // refilled 600
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.tx > 0 {
			n.Send(make([]byte, s.tx))
		}
		if s.rx > 0 {
			inner.deliver(make([]byte, s.rx))
		}
		if len(inner.sent) != s.sent || len(got) != s.recv {
			t.Fatalf("step %d: %d sent, %d received; want %d, %d", i, len(inner.sent), len(got), s.sent, s.recv)
		}
	}
}
