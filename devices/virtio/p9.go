package virtio

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
)

// P9FMountTag is VIRTIO_9P_MOUNT_TAG: the config space holds the tag the
// guest mounts by (mount -t 9p -o trans=virtio TAG /mnt).
const P9FMountTag = 1 << 0

const (
	p9QueueSize = 128
	p9MaxTagLen = 255
)

// P9 is the 9P transport device (device ID 9): a host directory shared with
// the guest over 9P2000.L, served by github.com/hugelgupf/p9 on an in-memory
// connection. Every request chain is one T-message followed by room for
// the R-message. Requests run concurrently on the server's goroutines and
// complete in any order, matched back to their chains by tag, so a slow
// host file holds up only its own request.
type P9 struct {
	tag      string
	readOnly bool
	root     *p9Root
	host     Host

	mu          sync.Mutex
	conn        *p9Conn // nil until Activate
	inflight    map[uint16]*p9Request
	done        []*p9Request // answered, waiting for the worker to push
	msize       uint32       // the server's message size limit
	versionBusy bool         // a Tversion is with the server
	versionSize uint32       // the limit it may set
	restored    []P9PendingRequest
	fids        *p9Fids    // the guest's fids, as the server's replies made them
	session     *p9Session // a restored session, replayed at Activate

	requests, rejected atomic.Uint64
}

// p9Request is a chain the server is working on.
type p9Request struct {
	chain   Chain // a copy kept past later Pops
	tag     uint16
	version bool // Tversion
	flush   bool // Tflush
	reply   []byte
	op      *p9FidOp      // what the reply may change in the fid table
	replay  chan<- []byte // the device's own request: the reply goes here
}

// P9Stats counts requests for monitoring.
type P9Stats struct {
	Requests uint64 // chains received
	Rejected uint64 // answered by the device itself (malformed, unsupported)
}

// P9State is what a snapshot records. The server's open files are host
// descriptors and cannot be carried over; instead the state holds the
// guest's session (version, message size and fids, as the device tracked
// them) and a restored device rebuilds those fids in its new server
// (p9_replay.go), so the guest keeps using its mount and open files. The
// guest's requests in flight are answered (EIO if they had no reply yet).
// Not carried over: fids beyond the tracker's bounds (p9_fids.go), xattr
// fids, files no longer reachable by their path, and locks. States from
// before session tracking have no Version: the guest must remount then.
type P9State struct {
	Tag      string
	ReadOnly bool
	Pending  []P9PendingRequest
	Version  string  `json:",omitempty"` // negotiated by the guest; "" before its Tversion
	Msize    uint32  `json:",omitempty"`
	Fids     []P9Fid `json:",omitempty"`
}

// P9PendingRequest is a request the guest is still waiting for.
type P9PendingRequest struct {
	Head     uint16
	Tag      uint16
	Writable []Segment // where the reply goes
	Reply    []byte    // nil if the server had not answered yet
}

// New9P shares hostDir under tag. With readOnly every modification fails
// with EROFS.
func New9P(hostDir, tag string, readOnly bool) (*P9, error) {
	if tag == "" || len(tag) > p9MaxTagLen || strings.ContainsRune(tag, 0) {
		return nil, fmt.Errorf("virtio-9p: mount tag %q must be 1..%d bytes", tag, p9MaxTagLen)
	}
	fi, err := os.Stat(hostDir)
	if err != nil {
		return nil, fmt.Errorf("virtio-9p: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("virtio-9p: %s is not a directory", hostDir)
	}
	root, err := openP9Root(hostDir, readOnly)
	if err != nil {
		return nil, fmt.Errorf("virtio-9p: %w", err)
	}
	return &P9{tag: tag, readOnly: readOnly, root: root, inflight: make(map[uint16]*p9Request), fids: newP9Fids()}, nil
}

// Tag is the mount tag.
func (d *P9) Tag() string { return d.tag }

// ReadOnly reports whether the share refuses modifications.
func (d *P9) ReadOnly() bool { return d.readOnly }

// Stats returns the request counters.
func (d *P9) Stats() P9Stats {
	return P9Stats{Requests: d.requests.Load(), Rejected: d.rejected.Load()}
}

func (d *P9) Type() uint32               { return Device9P }
func (d *P9) Features() uint64           { return P9FMountTag }
func (d *P9) QueueSizes(uint64) []uint16 { return []uint16{p9QueueSize} }
func (d *P9) WriteConfig(uint64, []byte) {}
func (d *P9) Attach(h Host)              { d.host = h }

// ReadConfig serves struct virtio_9p_config: tag_len then the tag.
func (d *P9) ReadConfig(off uint64, p []byte) {
	cfg := make([]byte, 2+len(d.tag))
	binary.LittleEndian.PutUint16(cfg, uint16(len(d.tag)))
	copy(cfg[2:], d.tag)
	readConfigBytes(cfg, off, p)
}

// Activate connects a fresh 9P session, rebuilds a restored snapshot's
// fids in it and answers the requests the snapshot left waiting.
func (d *P9) Activate(_ uint64, queues []*Queue) error {
	d.mu.Lock()
	d.startConn()
	restored, session := d.restored, d.session
	d.restored, d.session = nil, nil
	for _, r := range restored {
		c, err := rebuildChain(queues[0], r.Head, r.Writable)
		if err != nil {
			d.mu.Unlock()
			return fmt.Errorf("virtio-9p: restored request: %w", err)
		}
		reply := r.Reply
		if reply == nil {
			reply = p9Lerror(r.Tag, linux.EIO)
		}
		d.done = append(d.done, &p9Request{chain: c, tag: r.Tag, reply: reply})
	}
	conn := d.conn
	d.mu.Unlock()
	if session != nil {
		// The worker starts after Activate: no guest request can come first.
		d.replaySession(conn, session)
	}
	d.mu.Lock()
	kick := len(d.done) > 0 && d.host != nil
	d.mu.Unlock()
	if kick {
		d.host.Kick(0)
	}
	return nil
}

// startConn replaces the server session. mu held.
func (d *P9) startConn() {
	d.stopConn()
	var c *p9Conn
	c = newP9Conn(func(msg []byte) { d.complete(c, msg) })
	d.conn, d.msize = c, p9MaxMessage
	srv := p9.NewServer(d.root)
	go func() {
		srv.Handle(c, c)
		close(c.ended)
	}()
}

// stopConn ends the session and forgets its requests. mu held.
func (d *P9) stopConn() {
	if d.conn != nil {
		d.conn.Close()
		d.conn = nil
	}
	clear(d.inflight)
	d.done = nil
	d.versionBusy = false
	d.fids.reset()
}

// Reset drops the session: the next driver attaches afresh.
func (d *P9) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopConn()
	d.restored, d.session = nil, nil
}

// Close ends the session and releases the shared directory.
func (d *P9) Close() error {
	d.Reset()
	return d.root.close()
}

// Notify pushes finished requests and hands new ones to the server.
func (d *P9) Notify(q *Queue) {
	d.finish(q)
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		d.submit(q, c)
	}
}

// submit validates one T-message and forwards it, or answers it at once.
func (d *P9) submit(q *Queue, c *Chain) {
	d.requests.Add(1)
	var hdr [p9HeaderLen]byte
	if c.ReadAt(hdr[:], 0) < p9HeaderLen {
		d.rejected.Add(1)
		q.Push(c, 0) // no tag to answer to
		return
	}
	size := binary.LittleEndian.Uint32(hdr[:])
	tag := binary.LittleEndian.Uint16(hdr[5:])
	reject := func(e linux.Errno) {
		d.rejected.Add(1)
		q.Push(c, uint64(c.WriteAt(p9Lerror(tag, e), 0)))
	}
	if size < p9HeaderLen || uint64(size) > c.Readable() {
		reject(linux.EINVAL)
		return
	}
	d.mu.Lock()
	limit := d.msize
	if d.versionBusy {
		limit = min(limit, d.versionSize)
	}
	d.mu.Unlock()
	if size > limit {
		// The server would drop the whole session over it.
		reject(linux.EMSGSIZE)
		return
	}
	msg := make([]byte, size)
	c.ReadAt(msg, 0)
	if e := p9Check(msg); e != 0 {
		reject(e)
		return
	}
	op := p9ParseFidOp(msg)

	d.mu.Lock()
	if _, dup := d.inflight[tag]; dup || d.conn == nil {
		d.mu.Unlock()
		reject(linux.EINVAL)
		return
	}
	if hdr[4] == p9Tflush {
		// The server's Tflush waits for the old request; one that names
		// itself or another Tflush would wait forever. Nothing to flush:
		// Rflush at once, as for any tag the server does not know.
		oldTag := binary.LittleEndian.Uint16(msg[p9HeaderLen:])
		if old := d.inflight[oldTag]; oldTag == tag || (old != nil && old.flush) {
			d.mu.Unlock()
			d.rejected.Add(1)
			q.Push(c, uint64(c.WriteAt(p9FlushReply(tag), 0)))
			return
		}
	}
	r := &p9Request{chain: keepChain(c), tag: tag, flush: hdr[4] == p9Tflush, op: op}
	if hdr[4] == p9Tversion {
		if d.versionBusy {
			d.mu.Unlock()
			reject(linux.EBUSY)
			return
		}
		// Until the reply says, the limit may already be the new one.
		r.version, d.versionBusy = true, true
		d.versionSize = d.msize
		if m := binary.LittleEndian.Uint32(msg[p9HeaderLen:]); m != 0 {
			d.versionSize = min(m, d.msize)
		}
	}
	d.inflight[tag] = r
	conn := d.conn
	d.mu.Unlock()
	conn.push(msg)
}

// complete takes a reply from session c's server.
func (d *P9) complete(c *p9Conn, msg []byte) {
	tag := binary.LittleEndian.Uint16(msg[5:])
	d.mu.Lock()
	r := d.inflight[tag]
	if d.conn != c || r == nil {
		d.mu.Unlock()
		return // a reply from a session the driver reset
	}
	delete(d.inflight, tag)
	if r.replay != nil {
		d.mu.Unlock()
		r.replay <- msg
		return
	}
	if r.op != nil {
		d.fids.apply(r.op, msg)
	}
	if r.version {
		d.versionBusy = false
		if msg[4] == p9Rversion && len(msg) >= p9HeaderLen+4 {
			if m := binary.LittleEndian.Uint32(msg[p9HeaderLen:]); m != 0 {
				d.msize = min(m, p9MaxMessage)
			}
		}
	}
	r.reply = msg
	d.done = append(d.done, r)
	host := d.host
	d.mu.Unlock()
	if host != nil {
		host.Kick(0)
	}
}

// finish writes the replies into their chains and returns them.
func (d *P9) finish(q *Queue) {
	d.mu.Lock()
	done := d.done
	d.done = nil
	d.mu.Unlock()
	for _, r := range done {
		reply := r.reply
		if uint64(len(reply)) > r.chain.Writable() {
			reply = p9Lerror(r.tag, linux.EIO) // the driver left too little room
		}
		q.Push(&r.chain, uint64(r.chain.WriteAt(reply, 0)))
	}
}

// keepChain copies a popped chain so it outlives the next Pop.
func keepChain(c *Chain) Chain {
	k := *c
	k.Segments = slices.Clone(c.Segments)
	return k
}

// SaveState captures the device, including the requests in flight.
func (d *P9) SaveState() P9State {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := P9State{Tag: d.tag, ReadOnly: d.readOnly}
	add := func(r *p9Request) {
		if r.replay != nil {
			return // the device's own
		}
		var w []Segment
		for _, sg := range r.chain.Segments {
			if sg.Write {
				w = append(w, sg)
			}
		}
		s.Pending = append(s.Pending, P9PendingRequest{Head: r.chain.Head, Tag: r.tag, Writable: w, Reply: slices.Clone(r.reply)})
	}
	for _, r := range d.done {
		add(r)
	}
	for _, r := range d.inflight {
		add(r)
	}
	slices.SortFunc(s.Pending, func(a, b P9PendingRequest) int { return int(a.Head) - int(b.Head) })
	s.Pending = append(s.Pending, d.restored...)
	switch {
	case d.session != nil: // restored, not yet replayed
		s.Version, s.Msize, s.Fids = d.session.version, d.session.msize, slices.Clone(d.session.fids)
	case d.conn != nil && d.fids.version != "":
		s.Version, s.Msize, s.Fids = d.fids.version, d.msize, d.fids.list()
	}
	return s
}

// RestoreState replaces the device state. The share must be the same
// (tag and read-only flag), its host directory may differ; the saved
// session is rebuilt at Activate.
func (d *P9) RestoreState(s P9State) error {
	if s.Tag != d.tag || s.ReadOnly != d.readOnly {
		return fmt.Errorf("virtio-9p: snapshot is of share %q (read-only %v), device is %q (read-only %v)", s.Tag, s.ReadOnly, d.tag, d.readOnly)
	}
	if len(s.Pending) > p9QueueSize {
		return fmt.Errorf("virtio-9p: snapshot has %d requests in flight, queue holds %d", len(s.Pending), p9QueueSize)
	}
	session, err := p9SessionFromState(s)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopConn()
	d.restored = slices.Clone(s.Pending)
	d.session = session
	return nil
}

func (d *P9) MarshalState() ([]byte, error) { return encodeState(d.SaveState()) }

func (d *P9) UnmarshalState(b []byte) error {
	var s P9State
	if err := decodeState(b, &s); err != nil {
		return err
	}
	return d.RestoreState(s)
}
