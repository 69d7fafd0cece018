package devices

import (
	"reflect"
	"testing"
	"time"
)

// fakeHost is a host wall clock and timer the test advances by hand.
type fakeHost struct {
	now    int64
	timers []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (h *fakeHost) clock() int64 { return h.now }

func (h *fakeHost) after(d time.Duration, f func()) func() bool {
	t := &fakeTimer{d: d, f: f}
	h.timers = append(h.timers, t)
	return func() bool { was := !t.stopped; t.stopped = true; return was }
}

// fire runs the timer's callback as the host would on expiry.
func (t *fakeTimer) fire() {
	t.stopped = true
	t.f()
}

// armed returns the timers not stopped.
func (h *fakeHost) armed() []*fakeTimer {
	var live []*fakeTimer
	for _, t := range h.timers {
		if !t.stopped {
			live = append(live, t)
		}
	}
	return live
}

func newTestRTC(now int64) (*GoldfishRTC, *fakeHost, *fakeIRQ) {
	host := &fakeHost{now: now}
	irq := &fakeIRQ{}
	return newGoldfishRTC(irq, host.clock, host.after), host, irq
}

func readTime(r *GoldfishRTC) uint64 {
	lo := r.Read(rtcTimeLow, 4)
	return r.Read(rtcTimeHigh, 4)<<32 | lo
}

func setAlarm(r *GoldfishRTC, t uint64) {
	r.Write(rtcAlarmHigh, 4, t>>32)
	r.Write(rtcAlarmLow, 4, t&0xffffffff)
}

func TestGoldfishRTCTime(t *testing.T) {
	r, host, _ := newTestRTC(0x1234_5678_9abc_def0)
	if got := readTime(r); got != 0x1234_5678_9abc_def0 {
		t.Fatalf("time = %#x", got)
	}
	// TIME_HIGH is the latch from the last TIME_LOW read, not live.
	r.Read(rtcTimeLow, 4)
	host.now += 1 << 32
	if got := r.Read(rtcTimeHigh, 4); got != 0x1234_5678 {
		t.Fatalf("TIME_HIGH = %#x, want the latched 0x12345678", got)
	}
	// Linux sets the time high word first, then the low word.
	r.Write(rtcTimeHigh, 4, 0x10)
	r.Write(rtcTimeLow, 4, 0x20)
	if got := readTime(r); got != 0x10_0000_0020 {
		t.Fatalf("time after set = %#x", got)
	}
	host.now += 500
	if got := readTime(r); got != 0x10_0000_0020+500 {
		t.Fatalf("time does not advance with the host: %#x", got)
	}
	if got := r.Read(rtcTimeLow, 8); got != 0 {
		t.Fatalf("64-bit read = %#x, want 0", got)
	}
}

func TestGoldfishRTCAlarm(t *testing.T) {
	tests := []struct {
		name      string
		enable    bool
		alarm     int64 // relative to now
		wantTimer bool  // a host timer is armed
		wantIRQ   bool  // immediately after arming
		wantStat  uint64
	}{
		{"past alarm fires at once", true, -5, false, true, 0},
		{"due alarm fires at once", true, 0, false, true, 0},
		{"past alarm without IRQ enabled", false, -5, false, false, 0},
		{"future alarm waits", true, 1000, true, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, host, irq := newTestRTC(1_000_000)
			if tc.enable {
				r.Write(rtcIRQEnabled, 4, 1)
			}
			setAlarm(r, uint64(host.now+tc.alarm))
			if got := len(host.armed()) == 1; got != tc.wantTimer {
				t.Fatalf("timer armed = %v, want %v", got, tc.wantTimer)
			}
			if irq.High() != tc.wantIRQ {
				t.Fatalf("irq = %v, want %v", irq.High(), tc.wantIRQ)
			}
			if got := r.Read(rtcAlarmStatus, 4); got != tc.wantStat {
				t.Fatalf("ALARM_STATUS = %d, want %d", got, tc.wantStat)
			}
		})
	}
}

func TestGoldfishRTCAlarmFiresAndClears(t *testing.T) {
	r, host, irq := newTestRTC(1_000_000)
	r.Write(rtcIRQEnabled, 4, 1)
	setAlarm(r, 1_000_000+2000)
	timers := host.armed()
	if len(timers) != 1 || timers[0].d != 2000 {
		t.Fatalf("armed timers %+v, want one of 2000ns", timers)
	}
	host.now += 2000
	timers[0].fire()
	if !irq.High() || r.Read(rtcAlarmStatus, 4) != 0 {
		t.Fatalf("after firing: irq %v, status %d", irq.High(), r.Read(rtcAlarmStatus, 4))
	}
	r.Write(rtcIRQEnabled, 4, 0)
	if irq.High() {
		t.Fatal("disabling the IRQ did not lower the line")
	}
	r.Write(rtcIRQEnabled, 4, 1)
	if !irq.High() {
		t.Fatal("re-enabling the IRQ did not raise the still-pending line")
	}
	r.Write(rtcClearInterrupt, 4, 1)
	if irq.High() {
		t.Fatal("CLEAR_INTERRUPT did not lower the line")
	}
}

func TestGoldfishRTCStaleTimerIgnored(t *testing.T) {
	r, host, irq := newTestRTC(0)
	r.Write(rtcIRQEnabled, 4, 1)
	setAlarm(r, 100)
	first := host.armed()[0]
	r.Write(rtcClearAlarm, 4, 1)
	if !first.stopped || r.Read(rtcAlarmStatus, 4) != 0 {
		t.Fatal("CLEAR_ALARM did not stop the alarm")
	}
	host.now = 200
	first.f() // a callback that raced with the cancel
	if irq.High() {
		t.Fatal("a cancelled timer raised the interrupt")
	}
	setAlarm(r, 300)
	second := host.armed()[0]
	first.f()
	if irq.High() {
		t.Fatal("an old timer fired the new alarm")
	}
	host.now = 300
	second.fire()
	if !irq.High() {
		t.Fatal("the current timer did not fire")
	}
}

func TestGoldfishRTCEarlyTimerRearms(t *testing.T) {
	r, host, irq := newTestRTC(0)
	r.Write(rtcIRQEnabled, 4, 1)
	setAlarm(r, 1000)
	host.now = 400 // the host clock was stepped back meanwhile
	host.armed()[0].fire()
	if irq.High() {
		t.Fatal("alarm fired before its time")
	}
	live := host.armed()
	if len(live) != 1 || live[0].d != 600 {
		t.Fatalf("re-armed timers %+v, want one of 600ns", live)
	}
}

func TestGoldfishRTCSetTimeMovesAlarm(t *testing.T) {
	r, host, irq := newTestRTC(0)
	r.Write(rtcIRQEnabled, 4, 1)
	setAlarm(r, 1000)
	r.Write(rtcTimeLow, 4, 900)
	if live := host.armed(); len(live) != 1 || live[0].d != 100 {
		t.Fatalf("timers after setting the time %+v, want one of 100ns", live)
	}
	r.Write(rtcTimeLow, 4, 1000)
	if !irq.High() || len(host.armed()) != 0 {
		t.Fatal("setting the time past the alarm did not fire it")
	}
}

func TestGoldfishRTCSaveRestore(t *testing.T) {
	src, _, _ := newTestRTC(5000)
	src.Write(rtcTimeLow, 4, 7000)
	src.Write(rtcIRQEnabled, 4, 1)
	setAlarm(src, 9000)
	src.Read(rtcTimeLow, 4)
	saved := src.SaveState()
	want := GoldfishRTCState{Offset: 2000, Alarm: 9000, AlarmRunning: true, IRQEnabled: true}
	if !reflect.DeepEqual(saved, want) {
		t.Fatalf("saved %+v, want %+v", saved, want)
	}

	dst, host, irq := newTestRTC(5000)
	if err := dst.RestoreState(saved); err != nil {
		t.Fatal(err)
	}
	if got := dst.SaveState(); !reflect.DeepEqual(got, saved) {
		t.Fatalf("restored %+v, want %+v", got, saved)
	}
	if live := host.armed(); len(live) != 1 || live[0].d != 2000 {
		t.Fatalf("restore armed %+v, want one timer of 2000ns", live)
	}
	// An alarm that fell due while the machine was saved fires on restore.
	late, _, lateIRQ := newTestRTC(100_000)
	if err := late.RestoreState(saved); err != nil {
		t.Fatal(err)
	}
	if !lateIRQ.High() || late.Read(rtcAlarmStatus, 4) != 0 {
		t.Fatal("overdue alarm did not fire on restore")
	}
	if irq.High() {
		t.Fatal("restore raised an interrupt that was not pending")
	}
}

// TestGoldfishRTCHostTimer uses the real clock and timer: the alarm must
// eventually raise the line (the test has no deadline of its own).
func TestGoldfishRTCHostTimer(t *testing.T) {
	raised := make(chan struct{})
	r := NewGoldfishRTC(irqFunc(func(high bool) {
		if high {
			close(raised)
		}
	}))
	defer r.Close()
	r.Write(rtcIRQEnabled, 4, 1)
	setAlarm(r, readTime(r)+uint64(time.Millisecond))
	<-raised
}

type irqFunc func(bool)

func (f irqFunc) SetLevel(high bool) { f(high) }
