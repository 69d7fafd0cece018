package virtio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
)

// Block feature bits.
const (
	BlockFSegMax      = 1 << 2  // seg_max is valid
	BlockFRO          = 1 << 5  // read-only disk
	BlockFBlkSize     = 1 << 6  // blk_size is valid
	BlockFFlush       = 1 << 9  // FLUSH command
	BlockFDiscard     = 1 << 13 // DISCARD command
	BlockFWriteZeroes = 1 << 14 // WRITE_ZEROES command
)

// Request types, status values and limits.
const (
	blkTIn          = 0
	blkTOut         = 1
	blkTFlush       = 4
	blkTGetID       = 8
	blkTDiscard     = 11
	blkTWriteZeroes = 13

	blkSOK     = 0
	blkSIOErr  = 1
	blkSUnsupp = 2

	blkFlagUnmap = 1 // virtio_blk_discard_write_zeroes.flags

	blkQueueSize    = 256
	blkSectorSize   = 512
	blkHeaderSize   = 16 // le32 type, le32 reserved, le64 sector
	blkSegmentSize  = 16 // le64 sector, le32 num_sectors, le32 flags
	blkIDBytes      = 20
	blkMaxDWZ       = 1 << 22 // sectors per discard/write-zeroes segment (2 GiB)
	blkMaxDWZSegs   = 32
	blkDiscardAlign = 8 // sectors: 4 KiB, the usual filesystem block
)

// BlockConfig describes a disk.
type BlockConfig struct {
	// Path is the disk image, or the read-only base under Overlay. A qcow2
	// image (detected by its magic) is only read: it needs ReadOnly or an
	// Overlay.
	Path     string
	ReadOnly bool
	// Serial is the ID string the guest reads with GET_ID (at most 20 bytes).
	Serial string
	// Overlay, when set, is a copy-on-write overlay file on top of Path:
	// writes go there and Path is never modified. It is created if missing.
	Overlay string
}

// BlockStats counts completed requests for monitoring.
type BlockStats struct {
	ReadOps, ReadBytes               uint64
	WriteOps, WriteBytes             uint64
	FlushOps                         uint64
	DiscardOps, DiscardBytes         uint64
	WriteZeroesOps, WriteZeroesBytes uint64
	Errors                           uint64 // requests completed with IOERR or UNSUPP
}

type blockCounters struct {
	readOps, readBytes               atomic.Uint64
	writeOps, writeBytes             atomic.Uint64
	flushOps                         atomic.Uint64
	discardOps, discardBytes         atomic.Uint64
	writeZeroesOps, writeZeroesBytes atomic.Uint64
	errors                           atomic.Uint64
}

// BlockState is what a snapshot records of a disk: its shape, so a restore
// onto a different disk is refused. The contents live in the image files.
type BlockState struct {
	Capacity uint64 // sectors
	ReadOnly bool
}

// Block is the virtio block device (device ID 2).
type Block struct {
	img      image
	readOnly bool
	capacity uint64 // 512-byte sectors
	serial   [blkIDBytes]byte
	config   [60]byte
	host     Host

	// Negotiated behaviour and scratch, used on the worker only.
	features     uint64
	writeThrough bool
	iov          [][]byte

	stats blockCounters
}

// NewBlock opens the disk described by cfg.
func NewBlock(cfg BlockConfig) (*Block, error) {
	if cfg.Path == "" {
		return nil, errors.New("virtio-blk: no image path")
	}
	if len(cfg.Serial) > blkIDBytes {
		return nil, fmt.Errorf("virtio-blk: serial %q longer than %d bytes", cfg.Serial, blkIDBytes)
	}
	var img image
	var err error
	if cfg.Overlay != "" {
		img, err = openOverlay(cfg.Path, cfg.Overlay, cfg.ReadOnly)
	} else {
		img, err = openDisk(cfg.Path, cfg.ReadOnly)
	}
	if err != nil {
		return nil, fmt.Errorf("virtio-blk: %w", err)
	}
	b := &Block{img: img, readOnly: cfg.ReadOnly, capacity: uint64(img.Size()) / blkSectorSize}
	copy(b.serial[:], cfg.Serial)
	b.buildConfig()
	return b, nil
}

// buildConfig lays out struct virtio_blk_config; it never changes.
func (b *Block) buildConfig() {
	le := binary.LittleEndian
	c := b.config[:]
	le.PutUint64(c[0:], b.capacity)
	le.PutUint32(c[12:], blkQueueSize-2) // seg_max: header and status take two
	le.PutUint32(c[20:], blkSectorSize)  // blk_size
	le.PutUint16(c[34:], 1)              // num_queues
	le.PutUint32(c[36:], blkMaxDWZ)      // max_discard_sectors
	le.PutUint32(c[40:], blkMaxDWZSegs)  // max_discard_seg
	le.PutUint32(c[44:], blkDiscardAlign)
	le.PutUint32(c[48:], blkMaxDWZ)     // max_write_zeroes_sectors
	le.PutUint32(c[52:], blkMaxDWZSegs) // max_write_zeroes_seg
	c[56] = 1                           // write_zeroes_may_unmap
}

// Capacity is the disk size in 512-byte sectors.
func (b *Block) Capacity() uint64 { return b.capacity }

// Stats returns the request counters.
func (b *Block) Stats() BlockStats {
	s := &b.stats
	return BlockStats{
		ReadOps: s.readOps.Load(), ReadBytes: s.readBytes.Load(),
		WriteOps: s.writeOps.Load(), WriteBytes: s.writeBytes.Load(),
		FlushOps:   s.flushOps.Load(),
		DiscardOps: s.discardOps.Load(), DiscardBytes: s.discardBytes.Load(),
		WriteZeroesOps: s.writeZeroesOps.Load(), WriteZeroesBytes: s.writeZeroesBytes.Load(),
		Errors: s.errors.Load(),
	}
}

func (b *Block) Type() uint32 { return DeviceBlock }

func (b *Block) Features() uint64 {
	f := uint64(BlockFSegMax | BlockFBlkSize | BlockFFlush)
	if b.readOnly {
		return f | BlockFRO
	}
	return f | BlockFDiscard | BlockFWriteZeroes
}

func (b *Block) QueueSizes(uint64) []uint16      { return []uint16{blkQueueSize} }
func (b *Block) ReadConfig(off uint64, p []byte) { readConfigBytes(b.config[:], off, p) }
func (b *Block) WriteConfig(uint64, []byte)      {}
func (b *Block) Attach(h Host)                   { b.host = h }
func (b *Block) Reset()                          { b.writeThrough = false }
func (b *Block) Close() error                    { return b.img.Close() }

// Activate notes whether the driver took FLUSH: a driver that did not
// expects every completed write to be durable already.
func (b *Block) Activate(features uint64, _ []*Queue) error {
	b.features = features
	b.writeThrough = features&BlockFFlush == 0
	return nil
}

// Notify serves the request queue in order.
func (b *Block) Notify(q *Queue) {
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		q.Push(c, b.handle(c))
	}
}

// handle executes one request and writes its status byte, the last
// writable byte. It returns the bytes written to the chain.
func (b *Block) handle(c *Chain) uint64 {
	w := c.Writable()
	if w == 0 { // no room for a status byte: nothing can be reported
		b.stats.errors.Add(1)
		return 0
	}
	status, n := b.execute(c, w-1)
	if status != blkSOK {
		b.stats.errors.Add(1)
	}
	c.WriteAt([]byte{status}, w-1)
	return n + 1
}

// execute runs the request; dataIn is the writable space before the status.
func (b *Block) execute(c *Chain, dataIn uint64) (status byte, written uint64) {
	var hdr [blkHeaderSize]byte
	if c.ReadAt(hdr[:], 0) < blkHeaderSize {
		return blkSIOErr, 0
	}
	typ := binary.LittleEndian.Uint32(hdr[0:])
	sector := binary.LittleEndian.Uint64(hdr[8:])
	switch typ {
	case blkTIn:
		if !b.inRange(sector, dataIn) {
			return blkSIOErr, 0
		}
		b.iov = c.Slices(true, 0, dataIn, b.iov[:0])
		if err := b.transfer(sector, false); err != nil {
			return blkSIOErr, dataIn // parts may have been written
		}
		b.stats.readOps.Add(1)
		b.stats.readBytes.Add(dataIn)
		return blkSOK, dataIn
	case blkTOut:
		n := c.Readable() - blkHeaderSize
		if b.readOnly || !b.inRange(sector, n) {
			return blkSIOErr, 0
		}
		b.iov = c.Slices(false, blkHeaderSize, n, b.iov[:0])
		if err := b.transfer(sector, true); err != nil {
			return blkSIOErr, 0
		}
		if b.writeThrough {
			if err := b.img.Flush(); err != nil {
				return blkSIOErr, 0
			}
		}
		b.stats.writeOps.Add(1)
		b.stats.writeBytes.Add(n)
		return blkSOK, 0
	case blkTFlush:
		if err := b.img.Flush(); err != nil {
			return blkSIOErr, 0
		}
		b.stats.flushOps.Add(1)
		return blkSOK, 0
	case blkTGetID:
		n := min(dataIn, blkIDBytes)
		c.WriteAt(b.serial[:n], 0)
		return blkSOK, n
	case blkTDiscard, blkTWriteZeroes:
		need := uint64(BlockFDiscard)
		if typ == blkTWriteZeroes {
			need = BlockFWriteZeroes
		}
		switch {
		case b.readOnly: // a write to a read-only disk is an I/O error
			return blkSIOErr, 0
		case b.features&need == 0:
			return blkSUnsupp, 0
		}
		return b.discardOrZero(c, typ), 0
	}
	return blkSUnsupp, 0
}

// inRange checks a byte count of whole sectors starting at sector.
func (b *Block) inRange(sector, bytes uint64) bool {
	return bytes%blkSectorSize == 0 && b.inRangeSectors(sector, bytes/blkSectorSize)
}

func (b *Block) inRangeSectors(sector, count uint64) bool {
	return sector <= b.capacity && count <= b.capacity-sector
}

// transfer moves b.iov to or from the disk starting at sector.
func (b *Block) transfer(sector uint64, write bool) error {
	off := int64(sector * blkSectorSize)
	for _, s := range b.iov {
		var err error
		if write {
			err = b.img.WriteAt(s, off)
		} else {
			err = b.img.ReadAt(s, off)
		}
		if err != nil {
			return err
		}
		off += int64(len(s))
	}
	return nil
}

// discardOrZero validates every segment before touching the disk, so a bad
// request changes nothing.
func (b *Block) discardOrZero(c *Chain, typ uint32) byte {
	n := c.Readable() - blkHeaderSize
	if n == 0 || n%blkSegmentSize != 0 || n/blkSegmentSize > blkMaxDWZSegs {
		return blkSIOErr
	}
	segs := n / blkSegmentSize
	var seg [blkSegmentSize]byte
	for pass := 0; pass < 2; pass++ {
		for i := uint64(0); i < segs; i++ {
			c.ReadAt(seg[:], blkHeaderSize+i*blkSegmentSize)
			sector := binary.LittleEndian.Uint64(seg[0:])
			count := uint64(binary.LittleEndian.Uint32(seg[8:]))
			flags := binary.LittleEndian.Uint32(seg[12:])
			if pass == 0 {
				switch {
				case flags&^blkFlagUnmap != 0, typ == blkTDiscard && flags != 0:
					return blkSUnsupp
				case count > blkMaxDWZ || !b.inRangeSectors(sector, count):
					return blkSIOErr
				}
				continue
			}
			off, length := int64(sector*blkSectorSize), int64(count*blkSectorSize)
			var err error
			if typ == blkTDiscard {
				err = b.img.Discard(off, length)
				b.stats.discardBytes.Add(uint64(length))
			} else {
				err = b.img.WriteZeroes(off, length, flags&blkFlagUnmap != 0)
				b.stats.writeZeroesBytes.Add(uint64(length))
			}
			if err != nil {
				return blkSIOErr
			}
		}
	}
	if typ == blkTDiscard {
		b.stats.discardOps.Add(1)
	} else {
		b.stats.writeZeroesOps.Add(1)
	}
	return blkSOK
}

// SaveState captures the disk's shape.
func (b *Block) SaveState() BlockState { return BlockState{Capacity: b.capacity, ReadOnly: b.readOnly} }

// RestoreState accepts a state taken from a disk of the same shape.
func (b *Block) RestoreState(s BlockState) error {
	if s.Capacity != b.capacity || s.ReadOnly != b.readOnly {
		return fmt.Errorf("virtio-blk: state is for a %d-sector disk (read-only %v), this one has %d (read-only %v)",
			s.Capacity, s.ReadOnly, b.capacity, b.readOnly)
	}
	return nil
}

func (b *Block) MarshalState() ([]byte, error) { return encodeState(b.SaveState()) }

func (b *Block) UnmarshalState(p []byte) error {
	var s BlockState
	if err := decodeState(p, &s); err != nil {
		return err
	}
	return b.RestoreState(s)
}
