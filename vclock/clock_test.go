package vclock

import "testing"

func TestPauseFreezesAndResumeContinues(t *testing.T) {
	c := New()
	c.Pause()
	a := c.Now()
	b := c.Now()
	if a != b {
		t.Fatalf("paused clock moved: %d -> %d", a, b)
	}
	c.Resume()
	if n := c.Now(); n < a {
		t.Fatalf("clock went backwards after resume: %d < %d", n, a)
	}
}

func TestSet(t *testing.T) {
	c := New()
	c.Pause()
	c.Set(123456)
	if n := c.Now(); n != 123456 {
		t.Fatalf("Now = %d, want 123456", n)
	}
	c.Resume()
	if n := c.Now(); n < 123456 {
		t.Fatalf("Now = %d after resume", n)
	}
}

func TestUntilWhilePausedIsShort(t *testing.T) {
	c := New()
	c.Pause()
	// A hart that computes its WFI deadline while the clock is paused must
	// look again after Resume, so Until never answers with a long sleep.
	if d := c.Until(c.Now() + Freq*3600); d > pausedPoll {
		t.Fatalf("Until while paused = %v, want at most %v", d, pausedPoll)
	}
	c.Resume()
	if d := c.Until(c.Now() + Freq); d <= pausedPoll {
		t.Fatalf("Until one second ahead = %v after resume", d)
	}
}
