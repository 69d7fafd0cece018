package vmm

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// TokenBucket is one Firecracker-style bucket: it holds up to Size tokens
// and refills at Rate tokens per second. An operation is admitted when the
// bucket holds at least min(n, Size) tokens and then takes all n, so the
// balance may go negative: a request larger than the bucket is admitted
// when the bucket is full and its excess is a debt that later refill pays.
// A zero Rate means unlimited. Not safe for concurrent use (RateLimiter is).
type TokenBucket struct {
	rate, size float64
	tokens     float64
	last       time.Time
}

// TokenBucketState is a bucket's serialisable state; Tokens is the balance
// at the time of saving (refill continues from the restore time).
type TokenBucketState struct {
	Rate   uint64  `json:"rate"`
	Size   uint64  `json:"size"`
	Tokens float64 `json:"tokens"`
}

func newTokenBucket(rate, size uint64, now time.Time) TokenBucket {
	if size == 0 {
		size = rate // one second's worth
	}
	return TokenBucket{rate: float64(rate), size: float64(size), tokens: float64(size), last: now}
}

func (b *TokenBucket) unlimited() bool { return b.rate == 0 }

func (b *TokenBucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(b.size, b.tokens+b.rate*d.Seconds())
		b.last = now
	}
}

// need is the balance an operation of n tokens requires to be admitted.
func (b *TokenBucket) need(n uint64) float64 { return math.Min(float64(n), b.size) }

// wait is how long until an operation of n tokens would be admitted.
func (b *TokenBucket) wait(n uint64) time.Duration {
	short := b.need(n) - b.tokens
	if b.unlimited() || short <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(short / b.rate * float64(time.Second)))
}

// debtWait is how long until a negative balance is back to zero.
func (b *TokenBucket) debtWait() time.Duration {
	if b.unlimited() || b.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
}

// SaveState returns the bucket's state as of now.
func (b *TokenBucket) SaveState(now time.Time) TokenBucketState {
	b.refill(now)
	return TokenBucketState{Rate: uint64(b.rate), Size: uint64(b.size), Tokens: b.tokens}
}

// RestoreState makes the bucket exactly the saved one, refilling from now.
func (b *TokenBucket) RestoreState(s TokenBucketState, now time.Time) error {
	if s.Rate != 0 && s.Size == 0 {
		return fmt.Errorf("token bucket: size 0 with rate %d", s.Rate)
	}
	if math.IsNaN(s.Tokens) || s.Tokens > float64(s.Size) {
		return fmt.Errorf("token bucket: balance %v outside its size %d", s.Tokens, s.Size)
	}
	*b = TokenBucket{rate: float64(s.Rate), size: float64(s.Size), tokens: s.Tokens, last: now}
	return nil
}

// RateLimit is a limiter's configuration: bytes and operations per second,
// each with a burst (bucket size, 0 = one second's worth); zero rates are
// unlimited.
type RateLimit struct {
	BytesPerSec, BytesBurst uint64
	OpsPerSec, OpsBurst     uint64
}

// RateLimiter throttles a device's I/O with a bytes bucket and an ops
// bucket. Safe for concurrent use; a device worker calls Reserve before
// serving a request and, when told to wait, retries after that long (a
// timer kicking its queue) instead of blocking, so Quiesce stays prompt.
type RateLimiter struct {
	mu         sync.Mutex
	bytes, ops TokenBucket
	now        func() time.Time
	throttled  uint64 // Reserve calls refused, for monitoring
}

// RateLimiterState is the serialisable state of a RateLimiter.
type RateLimiterState struct {
	Bytes     TokenBucketState `json:"bytes"`
	Ops       TokenBucketState `json:"ops"`
	Throttled uint64           `json:"throttled"`
}

// NewRateLimiter returns a limiter with full buckets.
func NewRateLimiter(l RateLimit) *RateLimiter { return newRateLimiterClock(l, time.Now) }

func newRateLimiterClock(l RateLimit, now func() time.Time) *RateLimiter {
	t := now()
	return &RateLimiter{
		bytes: newTokenBucket(l.BytesPerSec, l.BytesBurst, t),
		ops:   newTokenBucket(l.OpsPerSec, l.OpsBurst, t),
		now:   now,
	}
}

// Reserve asks to perform one operation of n bytes. It returns 0 and
// charges both buckets when the operation may proceed now; otherwise it
// charges nothing and returns how long to wait before asking again.
func (l *RateLimiter) Reserve(n uint64) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.bytes.refill(now)
	l.ops.refill(now)
	if d := max(l.bytes.wait(n), l.ops.wait(1)); d > 0 {
		l.throttled++
		return d
	}
	if !l.bytes.unlimited() {
		l.bytes.tokens -= float64(n)
	}
	if !l.ops.unlimited() {
		l.ops.tokens--
	}
	return 0
}

// Consume charges operations already performed (ops of them, n bytes in
// all) whatever the balance, for devices that learn the size of their work
// only after doing it; a debt makes Ready report a wait.
func (l *RateLimiter) Consume(n, ops uint64) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.bytes.refill(now)
	l.ops.refill(now)
	if !l.bytes.unlimited() {
		l.bytes.tokens -= float64(n)
	}
	if !l.ops.unlimited() {
		l.ops.tokens -= float64(ops)
	}
}

// Ready returns 0 when neither bucket is in debt, else how long until both
// are paid off; a wait counts as throttling.
func (l *RateLimiter) Ready() time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.bytes.refill(now)
	l.ops.refill(now)
	d := max(l.bytes.debtWait(), l.ops.debtWait())
	if d > 0 {
		l.throttled++
	}
	return d
}

// Wait blocks until an operation of n bytes may proceed and charges it, or
// returns ctx's error.
func (l *RateLimiter) Wait(ctx context.Context, n uint64) error {
	for {
		d := l.Reserve(n)
		if d == 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Throttled counts the operations that had to wait.
func (l *RateLimiter) Throttled() uint64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.throttled
}

// SaveState returns the limiter's state.
func (l *RateLimiter) SaveState() RateLimiterState {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return RateLimiterState{Bytes: l.bytes.SaveState(now), Ops: l.ops.SaveState(now), Throttled: l.throttled}
}

// RestoreState makes the limiter exactly the saved one.
func (l *RateLimiter) RestoreState(s RateLimiterState) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var b, o TokenBucket
	if err := b.RestoreState(s.Bytes, now); err != nil {
		return fmt.Errorf("bytes: %v", err)
	}
	if err := o.RestoreState(s.Ops, now); err != nil {
		return fmt.Errorf("ops: %v", err)
	}
	l.bytes, l.ops, l.throttled = b, o, s.Throttled
	return nil
}

// limit converts a document's rate limit; nil means unlimited.
func (r *RateLimitConfig) limit() (RateLimit, error) {
	if r == nil {
		return RateLimit{}, nil
	}
	var l RateLimit
	var err error
	if r.BytesPerSec != "" {
		if l.BytesPerSec, err = parseSize(string(r.BytesPerSec), 0); err != nil {
			return l, fmt.Errorf("bytes_per_sec: %v", err)
		}
	}
	if r.BytesBurst != "" {
		if l.BytesBurst, err = parseSize(string(r.BytesBurst), 0); err != nil {
			return l, fmt.Errorf("bytes_burst: %v", err)
		}
	}
	l.OpsPerSec, l.OpsBurst = r.OpsPerSec, r.OpsBurst
	return l, nil
}

func (r *RateLimitConfig) validate() error {
	l, err := r.limit()
	if err != nil {
		return err
	}
	if l.BytesBurst != 0 && l.BytesPerSec == 0 {
		return fmt.Errorf("bytes_burst without bytes_per_sec")
	}
	if l.OpsBurst != 0 && l.OpsPerSec == 0 {
		return fmt.Errorf("ops_burst without ops_per_sec")
	}
	return nil
}
