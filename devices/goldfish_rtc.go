package devices

import (
	"math"
	"sync"
	"time"
)

// GoldfishRTC is the Goldfish real-time clock of QEMU's virt board: a
// nanosecond counter that follows the host's wall clock plus a guest-set
// offset, with one alarm. Registers are 32-bit; other sizes read zero.
type GoldfishRTC struct {
	mu    sync.Mutex
	irq   IRQ
	now   func() int64                                       // host wall clock, ns since the epoch
	after func(d time.Duration, f func()) (stop func() bool) // host timer
	level bool                                               // last level driven on irq

	offset       int64  // guest time minus host time, ns
	timeHigh     uint32 // latched by reading TIME_LOW
	alarm        uint64
	alarmRunning bool
	irqEnabled   bool
	irqPending   bool

	gen      uint64      // bumped whenever the armed timer is cancelled or replaced
	stopTime func() bool // cancels the armed timer, nil if none
}

// Goldfish RTC registers.
const (
	rtcTimeLow        = 0x00 // reading latches TIME_HIGH
	rtcTimeHigh       = 0x04
	rtcAlarmLow       = 0x08 // writing arms the alarm
	rtcAlarmHigh      = 0x0c
	rtcIRQEnabled     = 0x10
	rtcClearAlarm     = 0x14
	rtcAlarmStatus    = 0x18
	rtcClearInterrupt = 0x1c
)

// GoldfishRTCState is the RTC's serialisable state. The offset, not the
// time, is saved: a restored guest sees the host's current wall clock.
type GoldfishRTCState struct {
	Offset       int64
	TimeHigh     uint32
	Alarm        uint64
	AlarmRunning bool
	IRQEnabled   bool
	IRQPending   bool
}

// NewGoldfishRTC returns an RTC reading the host's wall clock, raising irq
// (nil for none) when an enabled alarm fires.
func NewGoldfishRTC(irq IRQ) *GoldfishRTC {
	return newGoldfishRTC(irq,
		func() int64 { return time.Now().UnixNano() },
		func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop })
}

// newGoldfishRTC takes the host clock and timer so tests can drive them.
func newGoldfishRTC(irq IRQ, now func() int64, after func(time.Duration, func()) func() bool) *GoldfishRTC {
	if irq == nil {
		irq = noIRQ{}
	}
	return &GoldfishRTC{irq: irq, now: now, after: after}
}

// Read implements Device.
func (r *GoldfishRTC) Read(off uint64, size int) uint64 {
	if size != 4 {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch off {
	case rtcTimeLow:
		t := r.count()
		r.timeHigh = uint32(t >> 32)
		return t & 0xffffffff
	case rtcTimeHigh:
		return uint64(r.timeHigh)
	case rtcAlarmLow:
		return r.alarm & 0xffffffff
	case rtcAlarmHigh:
		return r.alarm >> 32
	case rtcIRQEnabled:
		return uint64(b2u(r.irqEnabled))
	case rtcAlarmStatus:
		return uint64(b2u(r.alarmRunning))
	}
	return 0
}

// Write implements Device.
func (r *GoldfishRTC) Write(off uint64, size int, val uint64) {
	if size != 4 {
		return
	}
	v := val & 0xffffffff
	r.mu.Lock()
	defer r.mu.Unlock()
	switch off {
	case rtcTimeLow:
		r.setTime(r.count()&^0xffffffff | v)
	case rtcTimeHigh:
		r.setTime(r.count()&0xffffffff | v<<32)
	case rtcAlarmLow:
		r.alarm = r.alarm&^0xffffffff | v
		r.armAlarm()
	case rtcAlarmHigh:
		r.alarm = r.alarm&0xffffffff | v<<32
	case rtcIRQEnabled:
		r.irqEnabled = v&1 != 0
		r.updateIRQ()
	case rtcClearAlarm:
		r.cancelTimer()
		r.alarmRunning = false
	case rtcClearInterrupt:
		r.irqPending = false
		r.updateIRQ()
	}
}

func (r *GoldfishRTC) count() uint64 { return uint64(r.now() + r.offset) }

func (r *GoldfishRTC) setTime(t uint64) {
	r.offset = int64(t) - r.now()
	if r.alarmRunning {
		r.armAlarm() // the alarm's host deadline moved with the clock
	}
}

// armAlarm fires the alarm now if it is due, else starts a host timer.
func (r *GoldfishRTC) armAlarm() {
	r.cancelTimer()
	now := r.count()
	if r.alarm <= now {
		r.alarmRunning = false
		r.irqPending = true
		r.updateIRQ()
		return
	}
	r.alarmRunning = true
	d := time.Duration(min(r.alarm-now, math.MaxInt64))
	gen := r.gen
	r.stopTime = r.after(d, func() { r.timerFired(gen) })
}

func (r *GoldfishRTC) cancelTimer() {
	r.gen++ // a callback already on its way sees a stale generation
	if r.stopTime != nil {
		r.stopTime()
		r.stopTime = nil
	}
}

// timerFired runs on the timer's goroutine. A timer cancelled too late to
// stop is recognised by its generation and does nothing.
func (r *GoldfishRTC) timerFired(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.gen || !r.alarmRunning {
		return
	}
	r.stopTime = nil
	// The host wall clock may have been stepped back since arming; then the
	// alarm is not yet due and armAlarm waits again.
	r.armAlarm()
}

func (r *GoldfishRTC) updateIRQ() {
	if level := r.irqPending && r.irqEnabled; level != r.level {
		r.level = level
		r.irq.SetLevel(level)
	}
}

// SaveState returns a copy of the RTC's state.
func (r *GoldfishRTC) SaveState() GoldfishRTCState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return GoldfishRTCState{
		Offset: r.offset, TimeHigh: r.timeHigh, Alarm: r.alarm,
		AlarmRunning: r.alarmRunning, IRQEnabled: r.irqEnabled, IRQPending: r.irqPending,
	}
}

// RestoreState replaces the RTC's state, re-arms a running alarm (firing it
// at once if it fell due meanwhile) and drives the line to match.
func (r *GoldfishRTC) RestoreState(s GoldfishRTCState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelTimer()
	r.offset, r.timeHigh, r.alarm = s.Offset, s.TimeHigh, s.Alarm
	r.alarmRunning, r.irqEnabled, r.irqPending = s.AlarmRunning, s.IRQEnabled, s.IRQPending
	if r.alarmRunning {
		r.armAlarm()
	}
	r.level = r.irqPending && r.irqEnabled
	r.irq.SetLevel(r.level)
	return nil
}

// Close stops the alarm's host timer when the machine is torn down. The
// guest-visible state, including ALARM_STATUS, is left as it was.
func (r *GoldfishRTC) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelTimer()
}
