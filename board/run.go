package board

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/popek-vm/popek/devices"
	"github.com/popek-vm/popek/sbi"
)

// runSlice is the instruction budget of one h.Run call: small enough that
// harts poll HTIF tohost and see pause requests often, large enough that
// the loop's overhead is noise.
const runSlice = 1 << 16

// Run runs every hart on its own goroutine until the guest powers off,
// reboots or fails, tohost is written, ctx ends or the emulator fails. A
// machine runs once; a reboot means a fresh machine from the same Config.
func (m *Machine) Run(ctx context.Context) (ExitStatus, error) {
	m.mu.Lock()
	if m.started || m.closed {
		m.mu.Unlock()
		return ExitStatus{Kind: ExitError}, errors.New("board: machine already ran or is closed")
	}
	m.started = true
	m.active = len(m.harts)
	for i := range m.harts {
		m.wg.Add(1)
		go m.hartLoop(i)
	}
	m.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { m.requestExit(ExitStatus{Kind: ExitCanceled}, nil) })
	defer stop()
	if m.htif.toHost != 0 {
		done := make(chan struct{})
		defer close(done)
		go m.watchHTIF(done)
	}
	m.wg.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.exit, m.exitErr
}

// PanicError is Run's error when emulating a hart panicked: a popek bug,
// contained so that the process (and a daemon's other machines) survive.
type PanicError struct {
	Hart  int
	Value any
	Stack []byte // the panicking goroutine's stack, for logs
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("hart %d: emulator panic: %v", e.Hart, e.Value)
}

// hartLoop is one hart's goroutine. A panic in emulation ends the machine
// with an error instead of the process.
func (m *Machine) hartLoop(i int) {
	defer m.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			m.requestExit(ExitStatus{Kind: ExitError}, &PanicError{Hart: i, Value: r, Stack: debug.Stack()})
		}
		m.mu.Lock()
		m.active--
		m.cond.Broadcast()
		m.mu.Unlock()
	}()
	h := m.harts[i]
	// Every hart polls, so that a hart printing through HTIF is served
	// after its own slice whatever the others do.
	pollHTIF := m.htif.toHost != 0
	// With more harts than host threads, a hart spinning on a lock or on
	// an IPI whose holder or target waits for a thread would otherwise keep
	// its thread until the Go scheduler preempts it (10 ms). Yielding after
	// every slice hands the thread over within a slice; with nothing else
	// runnable it costs well under a microsecond per slice.
	yield := len(m.harts) > 1
	for m.waitRunnable(i) {
		m.runThrottled(i, h)
		if pollHTIF {
			m.pollHTIF()
		}
		if yield {
			runtime.Gosched()
		}
	}
}

// waitRunnable parks the hart while the machine is paused or the hart is
// not STARTED, performs pending HSM transitions on the hart's own goroutine
// and returns false once the machine is exiting.
func (m *Machine) waitRunnable(i int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, h := &m.slots[i], m.harts[i]
	for {
		if m.exit != nil {
			return false
		}
		if !m.pauseReq {
			switch s.state {
			case sbi.HartStarted:
				if s.suspend {
					s.suspend = false
					waitForInterrupt(h)
				}
				h.ClearStop()
				s.inRun = true
				return true
			case sbi.HartStartPending:
				enterSupervisor(h, s.entry, uint64(i), s.arg)
				s.state = sbi.HartStarted
				continue
			case sbi.HartResumePending:
				resumeSupervisor(h, s.entry, uint64(i), s.arg)
				s.state = sbi.HartStarted
				continue
			}
		}
		m.active--
		m.cond.Broadcast()
		m.cond.Wait()
		m.active++
	}
}

// Pause stops every hart at an instruction boundary, waits until all hart
// goroutines have parked, quiesces the virtio devices and stops guest time.
// Idempotent and safe from any goroutine but a hart's own.
func (m *Machine) Pause() {
	m.mu.Lock()
	defer m.mu.Unlock()
	first := !m.pauseReq
	m.pauseReq = true
	for _, h := range m.harts {
		h.Stop()
	}
	for m.active > 0 {
		m.cond.Wait()
	}
	if first {
		for _, v := range m.virtio {
			v.Quiesce()
		}
		m.clock.Pause()
	}
}

// Resume undoes Pause. Idempotent.
func (m *Machine) Resume() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.pauseReq {
		return
	}
	m.pauseReq = false
	for _, v := range m.virtio {
		v.Resume()
	}
	m.clock.Resume()
	m.cond.Broadcast()
}

// Paused reports whether the machine is paused.
func (m *Machine) Paused() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pauseReq
}

// requestExit ends the run; the first reason wins. It never waits, so
// devices and the SBI may call it from a hart goroutine.
func (m *Machine) requestExit(st ExitStatus, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requestExitLocked(st, err)
}

func (m *Machine) requestExitLocked(st ExitStatus, err error) {
	if m.exit == nil {
		m.exit, m.exitErr = &st, err
	}
	for _, h := range m.harts {
		h.Stop()
	}
	m.cond.Broadcast()
}

// testDeviceExit is the SiFive test device's callback.
func (m *Machine) testDeviceExit(kind devices.ExitKind, code int) {
	switch kind {
	case devices.ExitPoweroff:
		m.requestExit(ExitStatus{Kind: ExitPoweroff}, nil)
	case devices.ExitReset:
		m.requestExit(ExitStatus{Kind: ExitReset}, nil)
	case devices.ExitFail:
		m.requestExit(ExitStatus{Kind: ExitFail, Code: code}, nil)
	}
}
