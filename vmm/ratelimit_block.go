package vmm

import (
	"sync"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
)

// limitedBlock enforces a RateLimiter on a virtio-blk device without
// changing it: each Notify's work is charged from the device's counters
// afterwards, and while the limiter is in debt Notify leaves the requests
// in the ring and a timer kicks the queue once the debt is paid. The rate
// is exact over time; a burst can exceed the bucket by one queue's worth.
type limitedBlock struct {
	*virtio.Block
	lim *RateLimiter

	mu     sync.Mutex
	host   virtio.Host
	timer  *time.Timer
	last   virtio.BlockStats
	closed bool
}

func newLimitedBlock(b *virtio.Block, lim *RateLimiter) *limitedBlock {
	return &limitedBlock{Block: b, lim: lim, last: b.Stats()}
}

func (d *limitedBlock) Attach(h virtio.Host) {
	d.mu.Lock()
	d.host = h
	d.mu.Unlock()
	d.Block.Attach(h)
}

func (d *limitedBlock) Notify(q *virtio.Queue) {
	if wait := d.lim.Ready(); wait > 0 {
		d.retryAfter(q.Index(), wait)
		return
	}
	d.Block.Notify(q)
	s := d.Block.Stats()
	l := d.last
	bytes := since(s.ReadBytes, l.ReadBytes) + since(s.WriteBytes, l.WriteBytes)
	ops := since(s.ReadOps, l.ReadOps) + since(s.WriteOps, l.WriteOps) + since(s.FlushOps, l.FlushOps) +
		since(s.DiscardOps, l.DiscardOps) + since(s.WriteZeroesOps, l.WriteZeroesOps)
	d.last = s
	d.lim.Consume(bytes, ops)
}

// retryAfter kicks queue q once wait has passed (one timer at a time: a
// kick serves every request then pending).
func (d *limitedBlock) retryAfter(q int, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.host == nil {
		return
	}
	if d.timer != nil {
		d.timer.Stop()
	}
	host := d.host
	d.timer = time.AfterFunc(wait, func() {
		defer func() { recover() }() // a kick into a torn-down transport must not kill the daemon
		host.Kick(q)
	})
}

func (d *limitedBlock) Close() error {
	d.mu.Lock()
	d.closed = true
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
	return d.Block.Close()
}

// since is a counter's increase, tolerating a counter that restarted.
func since(now, before uint64) uint64 {
	if now < before {
		return now
	}
	return now - before
}
