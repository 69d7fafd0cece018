package virtio

import (
	"fmt"
	"math/bits"
	"sync/atomic"
)

// worker is the goroutine that runs a device's queue processing. It sleeps
// until a queue is notified and exits when told to stop.
type worker struct {
	wake    chan struct{} // capacity 1: a pending wake-up is never lost
	pending atomic.Uint64 // one bit per notified queue
	stop    atomic.Bool   // ask Pop to return early
	running bool          // guarded by MMIO.mu, like quit and done
	quit    chan struct{}
	done    chan struct{}
}

func (w *worker) init() { w.wake = make(chan struct{}, 1) }

// notify marks queue q as having work and wakes the worker. It never blocks,
// so a hart writing QueueNotify returns at once.
func (w *worker) notify(q uint32) {
	if q >= MaxQueues {
		return
	}
	w.pending.Or(1 << q)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func allQueues(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// startWorker starts the worker if the device is active and nothing holds it
// back. Every queue is marked pending so notifications that arrived while it
// was stopped (or before DRIVER_OK) are served. mu must be held.
func (m *MMIO) startWorker() {
	if m.w.running || m.closed || m.quiesced || !m.activated {
		return
	}
	m.w.stop.Store(false)
	m.w.quit = make(chan struct{})
	m.w.done = make(chan struct{})
	m.w.running = true
	m.w.notify(0)
	m.w.pending.Or(allQueues(len(m.queues)))
	go m.run(m.queues, m.w.quit, m.w.done)
}

// stopWorker stops the worker and waits until it has returned from the
// device, so no request is in flight afterwards. It reports whether the
// worker was running. mu must be held.
func (m *MMIO) stopWorker() bool {
	if !m.w.running {
		return false
	}
	m.w.stop.Store(true)
	close(m.w.quit)
	<-m.w.done
	m.w.running = false
	return true
}

func (m *MMIO) run(queues []*Queue, quit, done chan struct{}) {
	defer close(done)
	for {
		select {
		case <-quit:
			return
		case <-m.w.wake:
		}
		for !m.w.stop.Load() {
			p := m.w.pending.Swap(0)
			if p == 0 {
				break
			}
			for ; p != 0; p &= p - 1 {
				i := bits.TrailingZeros64(p)
				if i >= len(queues) || !queues[i].live || m.halted() {
					continue
				}
				m.serve(queues, queues[i])
			}
		}
	}
}

// serve runs the device on one queue, then lets every queue decide whether
// the driver wants an interrupt. A panic in device code must not take the
// VMM down: it breaks the device instead.
func (m *MMIO) serve(queues []*Queue, q *Queue) {
	defer func() {
		if r := recover(); r != nil {
			m.setBroken(fmt.Errorf("virtio: device %d panicked serving queue %d: %v", m.dev.Type(), q.index, r))
		}
		for _, q := range queues {
			q.Signal()
		}
	}()
	m.dev.Notify(q)
}

// Quiesce stops the worker for a snapshot: when it returns no request is in
// flight and the device touches no guest memory until Resume. Notifications
// arriving meanwhile are kept.
func (m *MMIO) Quiesce() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.quiesced = true
	m.stopWorker()
}

// Resume undoes Quiesce.
func (m *MMIO) Resume() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.quiesced = false
	m.startWorker()
}
