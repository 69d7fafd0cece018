package virtio

import "github.com/popek-vm/popek/mem"

// Segment is one guest buffer of a descriptor chain, already checked to lie
// inside guest RAM.
type Segment struct {
	Addr  uint64 // guest-physical address
	Len   uint32
	Write bool // device-writable
}

// Chain is one request popped from a Queue: its readable segments followed
// by its writable segments. It is valid until the next Pop on the same queue.
// Readable and writable bytes are addressed as two separate byte streams.
type Chain struct {
	// Head is the descriptor index identifying the chain in the used ring.
	Head     uint16
	Segments []Segment

	readable uint64
	writable uint64
	ram      *mem.RAM
}

// Readable is the total length of the device-readable buffers.
func (c *Chain) Readable() uint64 { return c.readable }

// Writable is the total length of the device-writable buffers.
func (c *Chain) Writable() uint64 { return c.writable }

// ReadAt copies readable bytes starting at stream offset off into p and
// returns how many it copied (short at the end of the readable stream).
func (c *Chain) ReadAt(p []byte, off uint64) int {
	n := 0
	c.each(false, off, uint64(len(p)), func(b []byte) { n += copy(p[n:], b) })
	return n
}

// WriteAt copies p into the writable stream at offset off and returns how
// many bytes fit. Push marks the written pages dirty.
func (c *Chain) WriteAt(p []byte, off uint64) int {
	n := 0
	c.each(true, off, uint64(len(p)), func(b []byte) { n += copy(b, p[n:]) })
	return n
}

// Slices appends to dst the host memory backing bytes [off, off+n) of the
// readable (write=false) or writable stream, for vectored I/O straight into
// guest memory. A device that writes through them reports the byte count to
// Push so the pages get marked dirty.
func (c *Chain) Slices(write bool, off, n uint64, dst [][]byte) [][]byte {
	c.each(write, off, n, func(b []byte) { dst = append(dst, b) })
	return dst
}

// each calls fn for the host slices covering [off, off+n) of one stream.
func (c *Chain) each(write bool, off, n uint64, fn func([]byte)) {
	for _, s := range c.Segments {
		if n == 0 {
			return
		}
		if s.Write != write {
			continue
		}
		l := uint64(s.Len)
		if off >= l {
			off -= l
			continue
		}
		take := min(l-off, n)
		b, ok := c.ram.Slice(s.Addr+off, take)
		if !ok { // unreachable: the walker checked every segment
			return
		}
		fn(b)
		n -= take
		off = 0
	}
}

// markWritten marks dirty the pages behind the first n writable bytes.
func (c *Chain) markWritten(n uint64) {
	for _, s := range c.Segments {
		if n == 0 {
			return
		}
		if !s.Write {
			continue
		}
		take := min(uint64(s.Len), n)
		c.ram.MarkDirtyRange(s.Addr, take)
		n -= take
	}
}
