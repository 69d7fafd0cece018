package vmm

import (
	"context"
	"sync"
	"time"
)

// Event is one lifecycle change, as streamed by GET /v1/events.
type Event struct {
	Seq     uint64    `json:"seq"` // increasing from 1 within a daemon's life
	Time    time.Time `json:"time"`
	VM      string    `json:"vm"`
	Type    string    `json:"type"`  // created, started, paused, resumed, stopped, rebooted, deleted, failed, snapshotted, reverted
	State   State     `json:"state"` // the VM's state after the change
	Message string    `json:"message,omitempty"`
}

// Event types.
const (
	EventCreated  = "created"
	EventStarted  = "started"
	EventPaused   = "paused"
	EventResumed  = "resumed"
	EventStopped  = "stopped"
	EventRebooted = "rebooted"
	EventDeleted  = "deleted"
	EventFailed   = "failed"
	// EventSnapshot is a snapshot taken (Message names it); the state is
	// unchanged.
	EventSnapshot = "snapshotted"
	// EventReverted is a VM replaced by the machine of a snapshot
	// (Message names it), running or paused.
	EventReverted = "reverted"
)

// eventRetention is how many past events are kept for ?since.
const eventRetention = 4096

// eventLog keeps recent events and wakes waiting readers.
type eventLog struct {
	mu     sync.Mutex
	events []Event // oldest first, at most eventRetention
	seq    uint64
	notify chan struct{}
	now    func() time.Time
}

func newEventLog() *eventLog { return &eventLog{now: time.Now} }

func (l *eventLog) add(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq, e.Time = l.seq, l.now().UTC()
	if len(l.events) == eventRetention {
		copy(l.events, l.events[1:])
		l.events = l.events[:len(l.events)-1]
	}
	l.events = append(l.events, e)
	if l.notify != nil {
		close(l.notify)
		l.notify = nil
	}
	return e
}

// Last is the sequence number of the newest event (0 if none).
func (l *eventLog) Last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// After returns retained events with Seq > after and, when there are none,
// a channel closed by the next event.
func (l *eventLog) After(after uint64) ([]Event, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if l.notify == nil {
		l.notify = make(chan struct{})
	}
	return nil, l.notify
}

// SinceTime returns the sequence number just before the first event at or
// after t, for ?since=TIME.
func (l *eventLog) SinceTime(t time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if !e.Time.Before(t) {
			return e.Seq - 1
		}
	}
	return l.seq
}

// Wait returns events after seq, blocking until there is one.
func (l *eventLog) Wait(ctx context.Context, after uint64) ([]Event, error) {
	for {
		evs, ch := l.After(after)
		if len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// EventLogState is the serialisable state of an event log.
type EventLogState struct {
	Seq    uint64  `json:"seq"`
	Events []Event `json:"events"` // oldest first
}

// SaveState returns the retained events and the last sequence number.
func (l *eventLog) SaveState() EventLogState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return EventLogState{Seq: l.seq, Events: append([]Event(nil), l.events...)}
}

// RestoreState makes the log exactly the saved one.
func (l *eventLog) RestoreState(s EventLogState) error {
	if len(s.Events) > eventRetention {
		return errorf(KindInvalid, "event log: %d events, at most %d are kept", len(s.Events), eventRetention)
	}
	prev := uint64(0)
	for _, e := range s.Events {
		if e.Seq <= prev || e.Seq > s.Seq {
			return errorf(KindInvalid, "event log: sequence %d out of order (last %d)", e.Seq, s.Seq)
		}
		prev = e.Seq
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq, l.events = s.Seq, append([]Event(nil), s.Events...)
	return nil
}
