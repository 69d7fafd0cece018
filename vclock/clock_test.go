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
