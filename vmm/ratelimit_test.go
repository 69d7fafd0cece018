package vmm

import (
	"context"
	"testing"
	"time"
)

// fakeClock is a settable time source for deterministic tests.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock               { return &fakeClock{t: time.Unix(1_000_000, 0)} }
func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestRateLimiterReserve(t *testing.T) {
	type step struct {
		advance time.Duration
		bytes   uint64
		wait    time.Duration // expected Reserve result
	}
	cases := []struct {
		name  string
		limit RateLimit
		steps []step
	}{
		{"unlimited", RateLimit{}, []step{{0, 1 << 30, 0}, {0, 1 << 30, 0}}},
		{"bytes burst then refill", RateLimit{BytesPerSec: 1000, BytesBurst: 500}, []step{
			{0, 400, 0},                      // 100 left
			{0, 200, 100 * time.Millisecond}, // needs 200: 100 short at 1000/s
			{100 * time.Millisecond, 200, 0}, // refilled to 200
			{0, 1, time.Millisecond},         // empty
		}},
		{"oversized request waits for a full bucket, then goes into debt", RateLimit{BytesPerSec: 1000, BytesBurst: 100}, []step{
			{0, 1000, 0},                   // bucket full: admitted, balance -900
			{0, 1, 901 * time.Millisecond}, // debt first
			{901 * time.Millisecond, 1, 0},
		}},
		{"ops", RateLimit{OpsPerSec: 2, OpsBurst: 2}, []step{
			{0, 0, 0}, {0, 0, 0}, {0, 0, 500 * time.Millisecond}, {500 * time.Millisecond, 0, 0},
		}},
		{"default burst is one second", RateLimit{BytesPerSec: 100}, []step{{0, 100, 0}, {0, 1, 10 * time.Millisecond}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newFakeClock()
			l := newRateLimiterClock(c.limit, clk.now)
			for i, s := range c.steps {
				clk.advance(s.advance)
				if got := l.Reserve(s.bytes); got != s.wait {
					t.Fatalf("step %d: Reserve(%d) = %v, want %v", i, s.bytes, got, s.wait)
				}
			}
		})
	}
}

func TestRateLimiterConsumeAndReady(t *testing.T) {
	clk := newFakeClock()
	l := newRateLimiterClock(RateLimit{BytesPerSec: 1 << 20, OpsPerSec: 100}, clk.now)
	l.Consume(3<<20, 10) // 2 MiB of debt, ops fine
	if d := l.Ready(); d != 2*time.Second {
		t.Fatalf("Ready = %v, want 2s", d)
	}
	clk.advance(2 * time.Second)
	if d := l.Ready(); d != 0 {
		t.Fatalf("Ready after repaying = %v", d)
	}
	if l.Throttled() != 1 {
		t.Fatalf("throttled = %d, want 1", l.Throttled())
	}
	var nilLimiter *RateLimiter
	if nilLimiter.Reserve(1) != 0 || nilLimiter.Ready() != 0 {
		t.Fatal("a nil limiter limits")
	}
}

func TestRateLimiterStateRoundTrip(t *testing.T) {
	clk := newFakeClock()
	l := newRateLimiterClock(RateLimit{BytesPerSec: 1000, BytesBurst: 1000, OpsPerSec: 10}, clk.now)
	l.Reserve(700)
	l.Reserve(700) // refused: throttled
	st := l.SaveState()
	r := newRateLimiterClock(RateLimit{}, clk.now)
	if err := r.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if got := r.SaveState(); got != st {
		t.Fatalf("restored %+v, saved %+v", got, st)
	}
	if r.Reserve(700) != l.Reserve(700) {
		t.Fatal("restored limiter decides differently")
	}
	bad := st
	bad.Bytes.Tokens = 5000
	if err := r.RestoreState(bad); err == nil {
		t.Fatal("accepted a balance above the bucket size")
	}
}

func TestRateLimiterWaitHonoursContext(t *testing.T) {
	clk := newFakeClock()
	l := newRateLimiterClock(RateLimit{OpsPerSec: 1, OpsBurst: 1}, clk.now)
	if err := l.Wait(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, 0); err != context.Canceled {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
}
