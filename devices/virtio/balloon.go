package virtio

import (
	"encoding/binary"
	"sync"

	"github.com/popek-vm/popek/mem"
)

// Balloon feature bits.
const (
	BalloonFStatsVQ       = 1 << 1 // statistics virtqueue
	BalloonFDeflateOnOOM  = 1 << 2 // guest may deflate under memory pressure
	BalloonFFreePageHint  = 1 << 3 // free page hinting queue (not offered)
	BalloonFPagePoison    = 1 << 4 // guest reports its free page poison value
	BalloonFPageReporting = 1 << 5 // free page reporting queue
)

// Balloon statistics tags (struct virtio_balloon_stat).
const (
	BalloonStatSwapIn          = 0
	BalloonStatSwapOut         = 1
	BalloonStatMajorFaults     = 2
	BalloonStatMinorFaults     = 3
	BalloonStatFreeMemory      = 4
	BalloonStatTotalMemory     = 5
	BalloonStatAvailableMemory = 6
	BalloonStatDiskCaches      = 7
	BalloonStatHugetlbAllocs   = 8
	BalloonStatHugetlbFailures = 9
)

const (
	balloonQueueSize = 128 // page reporting needs at least 32 entries
	balloonPageShift = 12  // balloon PFNs are always 4 KiB frames
	balloonStatSize  = 10  // packed le16 tag + le64 value
	balloonMaxStats  = 256 // entries parsed from one statistics buffer
)

// BalloonStat is one guest memory statistic.
type BalloonStat struct {
	Tag   uint16
	Value uint64
}

// Balloon is the memory balloon (device ID 5). The host sets a target with
// SetTarget; pages the guest gives up and free pages it reports are released
// to the host with RAM.Discard, so they read as zero afterwards.
type Balloon struct {
	ram  *mem.RAM
	host Host

	mu           sync.Mutex // guards the fields below
	numPages     uint32     // target, set by the host
	actual       uint32     // pages in the balloon, written by the driver
	poisonVal    uint32
	poison       bool // PAGE_POISON negotiated
	stats        []BalloonStat
	statsUpdates uint64
	statsHeld    bool   // the driver's statistics buffer is with the device
	statsHead    uint16 // ... and this is its chain head
	statsWanted  bool   // the host asked for fresh statistics

	inflate, deflate, statsQ, report *Queue

	buf [balloonMaxStats * balloonStatSize]byte // worker only
}

// BalloonState is the balloon's serialisable state.
type BalloonState struct {
	NumPages     uint32
	Actual       uint32
	PoisonVal    uint32
	Stats        []BalloonStat
	StatsUpdates uint64
	StatsHeld    bool
	StatsHead    uint16
	StatsWanted  bool
}

// NewBalloon returns a balloon releasing pages of ram. With ram nil it uses
// the RAM of the transport it is attached to, so a board can build it
// before it maps guest memory.
func NewBalloon(ram *mem.RAM) *Balloon { return &Balloon{ram: ram} }

// SetTarget asks the guest to hold pages 4 KiB pages in the balloon. It
// bumps the config generation and raises a config change interrupt.
func (b *Balloon) SetTarget(pages uint32) {
	b.mu.Lock()
	b.numPages = pages
	b.mu.Unlock()
	if b.host != nil {
		b.host.ConfigChanged()
	}
}

// Target is the page count last set with SetTarget.
func (b *Balloon) Target() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.numPages
}

// Actual is the number of pages the guest reports in the balloon.
func (b *Balloon) Actual() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.actual
}

// Stats returns the latest statistics the guest sent, in its order.
func (b *Balloon) Stats() []BalloonStat {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BalloonStat(nil), b.stats...)
}

// StatsUpdates counts statistics buffers received, so callers can tell when
// a RequestStats has been answered.
func (b *Balloon) StatsUpdates() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.statsUpdates
}

// RequestStats asks the guest for fresh statistics by handing back its
// statistics buffer. It reports false when the driver has no stats queue.
func (b *Balloon) RequestStats() bool {
	b.mu.Lock()
	q := b.statsQ
	if q != nil {
		b.statsWanted = true
	}
	b.mu.Unlock()
	if q == nil || b.host == nil {
		return false
	}
	b.host.Kick(q.Index())
	return true
}

func (b *Balloon) Type() uint32 { return DeviceBalloon }

func (b *Balloon) Features() uint64 {
	return BalloonFStatsVQ | BalloonFDeflateOnOOM | BalloonFPagePoison | BalloonFPageReporting
}

// QueueSizes follows the spec's numbering: inflateq and deflateq, then the
// optional queues in order (statsq, free_page_vq, reporting_vq), each present
// only with its feature, so a missing one shifts the next down (as Linux's
// find_vqs numbers them).
func (b *Balloon) QueueSizes(features uint64) []uint16 {
	sizes := []uint16{balloonQueueSize, balloonQueueSize}
	for _, f := range []uint64{BalloonFStatsVQ, BalloonFFreePageHint, BalloonFPageReporting} {
		if features&f != 0 {
			sizes = append(sizes, balloonQueueSize)
		}
	}
	return sizes
}

func (b *Balloon) Attach(h Host) {
	b.host = h
	if b.ram == nil {
		b.ram = h.RAM()
	}
}

func (b *Balloon) Activate(features uint64, queues []*Queue) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflate, b.deflate, b.statsQ, b.report = queues[0], queues[1], nil, nil
	next := 2
	if features&BalloonFStatsVQ != 0 {
		b.statsQ = queues[next]
		next++
	}
	if features&BalloonFFreePageHint != 0 {
		next++
	}
	if features&BalloonFPageReporting != 0 {
		b.report = queues[next]
	}
	b.poison = features&BalloonFPagePoison != 0
	return nil
}

// Reset empties the balloon: after a reset all memory is the guest's again.
func (b *Balloon) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.actual, b.poisonVal, b.poison = 0, 0, false
	b.statsHeld, b.statsWanted = false, false
	b.inflate, b.deflate, b.statsQ, b.report = nil, nil, nil, nil
}

func (b *Balloon) Close() error { return nil }

// Config space: le32 num_pages, actual, free_page_hint_cmd_id, poison_val.
func (b *Balloon) config() [16]byte {
	var cfg [16]byte
	binary.LittleEndian.PutUint32(cfg[0:], b.numPages)
	binary.LittleEndian.PutUint32(cfg[4:], b.actual)
	binary.LittleEndian.PutUint32(cfg[12:], b.poisonVal)
	return cfg
}

func (b *Balloon) ReadConfig(off uint64, p []byte) {
	b.mu.Lock()
	cfg := b.config()
	b.mu.Unlock()
	readConfigBytes(cfg[:], off, p)
}

// WriteConfig accepts the driver-owned fields, actual and poison_val.
func (b *Balloon) WriteConfig(off uint64, p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg := b.config()
	if off >= uint64(len(cfg)) {
		return
	}
	copy(cfg[off:], p)
	b.actual = binary.LittleEndian.Uint32(cfg[4:])
	b.poisonVal = binary.LittleEndian.Uint32(cfg[12:])
}

func (b *Balloon) Notify(q *Queue) {
	b.mu.Lock()
	inflate, deflate, stats, report := b.inflate, b.deflate, b.statsQ, b.report
	b.mu.Unlock()
	switch q {
	case inflate:
		b.serveInflate(q)
	case deflate:
		b.serveDeflate(q)
	case stats:
		b.serveStats(q)
	case report:
		b.serveReport(q)
	}
}

// serveInflate releases every page frame listed in the inflate buffers.
// Frames outside RAM are ignored; runs of adjacent frames are released with
// one call.
func (b *Balloon) serveInflate(q *Queue) {
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		var runStart, runLen uint64
		for off := uint64(0); off+4 <= c.Readable(); {
			n := uint64(c.ReadAt(b.buf[:], off)) &^ 3
			for i := uint64(0); i < n; i += 4 {
				addr := uint64(binary.LittleEndian.Uint32(b.buf[i:])) << balloonPageShift
				if runLen != 0 && addr == runStart+runLen {
					runLen += mem.PageSize
					continue
				}
				b.release(runStart, runLen)
				runStart, runLen = addr, mem.PageSize
			}
			off += n
		}
		b.release(runStart, runLen)
		q.Push(c, 0)
	}
}

// serveDeflate acknowledges pages the guest takes back; they fault back in
// as zero pages on first touch, so there is nothing to do.
func (b *Balloon) serveDeflate(q *Queue) {
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		q.Push(c, 0)
	}
}

// serveReport releases free page ranges the guest reports. With a non-zero
// poison value the guest expects free pages to keep their pattern, so they
// are acknowledged but kept.
func (b *Balloon) serveReport(q *Queue) {
	b.mu.Lock()
	keep := b.poison && b.poisonVal != 0
	b.mu.Unlock()
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		if !keep {
			for _, s := range c.Segments {
				b.release(s.Addr, uint64(s.Len))
			}
		}
		q.Push(c, 0)
	}
}

// release discards whole pages in [addr, addr+n) that lie inside RAM and
// marks them dirty: a snapshot must record that they are now zero.
func (b *Balloon) release(addr, n uint64) {
	if n == 0 || !b.ram.Contains(addr, n) {
		return
	}
	if err := b.ram.Discard(addr, n); err == nil {
		b.ram.MarkDirtyRange(addr, n)
	}
}

// serveStats takes the driver's statistics buffer, records its contents and
// keeps it; when the host wants fresh numbers the buffer goes back, which is
// the driver's cue to refill and resend it.
func (b *Balloon) serveStats(q *Queue) {
	for {
		c, ok := q.Pop()
		if !ok {
			break
		}
		n := c.ReadAt(b.buf[:], 0) / balloonStatSize
		stats := make([]BalloonStat, n)
		for i := range stats {
			e := b.buf[i*balloonStatSize:]
			stats[i] = BalloonStat{Tag: binary.LittleEndian.Uint16(e), Value: binary.LittleEndian.Uint64(e[2:])}
		}
		b.mu.Lock()
		if b.statsHeld { // a driver should never have two out; return the old one
			q.PushHead(b.statsHead)
		}
		b.stats, b.statsUpdates = stats, b.statsUpdates+1
		b.statsHeld, b.statsHead, b.statsWanted = true, c.Head, false
		b.mu.Unlock()
	}
	b.mu.Lock()
	if b.statsWanted && b.statsHeld {
		q.PushHead(b.statsHead)
		b.statsHeld, b.statsWanted = false, false
	}
	b.mu.Unlock()
}

// SaveState captures the balloon.
func (b *Balloon) SaveState() BalloonState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BalloonState{
		NumPages: b.numPages, Actual: b.actual, PoisonVal: b.poisonVal,
		Stats: append([]BalloonStat(nil), b.stats...), StatsUpdates: b.statsUpdates,
		StatsHeld: b.statsHeld, StatsHead: b.statsHead, StatsWanted: b.statsWanted,
	}
}

// RestoreState replaces the balloon state.
func (b *Balloon) RestoreState(s BalloonState) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.numPages, b.actual, b.poisonVal = s.NumPages, s.Actual, s.PoisonVal
	b.stats, b.statsUpdates = append([]BalloonStat(nil), s.Stats...), s.StatsUpdates
	b.statsHeld, b.statsHead, b.statsWanted = s.StatsHeld, s.StatsHead, s.StatsWanted
	return nil
}

func (b *Balloon) MarshalState() ([]byte, error) { return encodeState(b.SaveState()) }

func (b *Balloon) UnmarshalState(p []byte) error {
	var s BalloonState
	if err := decodeState(p, &s); err != nil {
		return err
	}
	return b.RestoreState(s)
}
