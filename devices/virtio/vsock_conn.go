package virtio

import (
	"fmt"
	"io"
	"net"
	"sync"
)

type vsockConnState int

const (
	vsockConnecting  vsockConnState = iota // host-initiated: REQUEST owed or sent to the guest
	vsockDialing                           // guest-initiated: connecting to the host socket
	vsockEstablished                       // streaming
)

// vsockConn is one stream connection. All fields are guarded by the
// device's mu; its reader and writer goroutines wait on cond.
type vsockConn struct {
	v     *Vsock
	key   vsockKey
	state vsockConnState
	sock  net.Conn // nil while dialing
	// fromHost: the host program connected (and expects "OK <port>").
	fromHostSide bool
	writing      bool // the writer goroutine runs

	// Packets owed to the guest.
	sendRequest, sendResponse, sendRst, sendCredit bool
	queued                                         bool // on v.ready

	// Host to guest: the guest's receive window and data waiting for it.
	peerBufAlloc, peerFwdCnt uint32
	txCnt                    uint32 // payload bytes sent to the guest
	fromHost                 []byte
	hostEOF                  bool
	sentShut                 uint32 // SHUTDOWN flags sent to the guest

	// Guest to host.
	rxCnt       uint32 // payload bytes received from the guest
	fwdCnt      uint32 // of those, written to the host socket
	reportedFwd uint32 // fwd_cnt in the last packet sent
	greeting    []byte // written to the host ahead of the data
	toHost      []byte
	peerShut    uint32 // SHUTDOWN flags from the guest
	closeWrite  bool   // half-close the socket once toHost is written

	gone       bool // out of the connection table; goroutines finish
	flushClose bool // gone, but write toHost out before closing the socket

	cond sync.Cond
}

func (v *Vsock) newConn(key vsockKey, state vsockConnState) *vsockConn {
	c := &vsockConn{v: v, key: key, state: state}
	c.cond.L = &v.mu
	return c
}

// credit is how many bytes the guest can take now.
func (c *vsockConn) credit() uint32 {
	inFlight := c.txCnt - c.peerFwdCnt
	if inFlight > c.peerBufAlloc {
		return 0
	}
	return c.peerBufAlloc - inFlight
}

// markReady queues c for the rx path. mu held; the caller kicks.
func (v *Vsock) markReady(c *vsockConn) {
	if !c.queued {
		c.queued = true
		v.ready = append(v.ready, c)
	}
}

// reset owes the guest an RST; the connection ends when it is sent.
func (v *Vsock) reset(c *vsockConn) {
	c.sendRst = true
	c.fromHost = nil
	v.markReady(c)
}

// remove takes c out of the table. hard closes the socket now; otherwise
// the writer first writes out what the guest sent.
func (v *Vsock) remove(c *vsockConn, hard bool) {
	if v.conns[c.key] == c {
		delete(v.conns, c.key)
	}
	c.shutdown(hard)
}

// shutdown ends c's goroutines. mu held. A soft shutdown lets a running
// writer finish first; the device keeps such connections in lingering so
// Close can still end them if the host program never reads.
func (c *vsockConn) shutdown(hard bool) {
	if !c.gone {
		c.gone = true
		c.flushClose = !hard && c.writing
	} else if hard {
		c.flushClose = false
	}
	if c.flushClose {
		c.v.lingering[c] = struct{}{}
	} else if c.sock != nil {
		c.sock.Close()
	}
	c.cond.Broadcast()
}

// start runs the connection's reader and writer. mu held.
func (c *vsockConn) start() {
	c.writing = true
	c.v.wg.Add(2)
	go c.reader()
	go c.writer()
}

// reader moves host bytes to fromHost while there is room.
func (c *vsockConn) reader() {
	v := c.v
	defer v.wg.Done()
	buf := make([]byte, 16<<10)
	for {
		v.mu.Lock()
		for len(c.fromHost) >= vsockHostBuf && !c.gone && !c.sendRst {
			c.cond.Wait()
		}
		if c.gone || c.sendRst || c.peerShut&vsockShutdownRcv != 0 {
			v.mu.Unlock()
			return // the guest takes no more; what the host sends is unread
		}
		room := vsockHostBuf - len(c.fromHost)
		v.mu.Unlock()

		n, err := c.sock.Read(buf[:min(room, len(buf))])

		v.mu.Lock()
		if c.gone || c.sendRst {
			v.mu.Unlock()
			return
		}
		if n > 0 {
			c.fromHost = append(c.fromHost, buf[:n]...)
			v.markReady(c)
		}
		switch {
		case err == io.EOF:
			c.hostEOF = true
			v.markReady(c)
		case err != nil:
			v.reset(c)
		}
		v.mu.Unlock()
		v.kick()
		if err != nil {
			return
		}
	}
}

// writer writes what the guest sent to the host socket, in order, and
// lets the guest know as buffer space frees up.
func (c *vsockConn) writer() {
	v := c.v
	defer v.wg.Done()
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		c.writing, c.flushClose = false, false
		delete(v.lingering, c)
		if c.gone {
			c.sock.Close()
		}
	}()
	halfClosed := false
	for {
		for len(c.greeting) == 0 && len(c.toHost) == 0 && !c.gone && (!c.closeWrite || halfClosed) {
			c.cond.Wait()
		}
		if len(c.greeting) == 0 && len(c.toHost) == 0 {
			switch {
			case c.gone:
				return
			case c.closeWrite && !halfClosed:
				halfClosed = true
				if cw, ok := c.sock.(interface{ CloseWrite() error }); ok {
					v.mu.Unlock()
					cw.CloseWrite()
					v.mu.Lock()
				}
				continue
			}
		}
		if c.gone && !c.flushClose {
			return
		}
		greeting, data := c.greeting, c.toHost
		c.greeting, c.toHost = nil, nil
		v.mu.Unlock()
		_, err := c.sock.Write(greeting)
		n := 0
		if err == nil {
			n, err = c.sock.Write(data)
		}
		v.mu.Lock()
		c.fwdCnt += uint32(n)
		if err != nil {
			if c.gone {
				return
			}
			v.reset(c)
			v.mu.Unlock()
			v.kick()
			v.mu.Lock()
			return
		}
		// Tell the guest about the freed space before it can run dry.
		seen := c.rxCnt - c.reportedFwd
		if c.fwdCnt != c.reportedFwd && v.bufAlloc-seen < v.bufAlloc/2 && !c.gone {
			c.sendCredit = true
			v.markReady(c)
			v.mu.Unlock()
			v.kick()
			v.mu.Lock()
		}
	}
}

// next builds the next packet c owes the guest into v.pkt, taking at most
// room bytes, or returns nil. mu held.
func (c *vsockConn) next(room uint64) []byte {
	v := c.v
	h := vsockHdr{
		SrcCID: VsockHostCID, DstCID: v.cid, SrcPort: c.key.host, DstPort: c.key.guest,
		Type: vsockTypeStream, BufAlloc: v.bufAlloc, FwdCnt: c.fwdCnt,
	}
	var payload []byte
	switch {
	case c.sendRst:
		c.sendRst = false
		h.Op = vsockOpRst
		v.remove(c, false)
	case c.gone:
		return nil
	case c.sendRequest:
		c.sendRequest = false
		h.Op = vsockOpRequest
	case c.sendResponse:
		c.sendResponse = false
		h.Op = vsockOpResponse
	case c.state == vsockEstablished && len(c.fromHost) > 0 && c.peerShut&vsockShutdownRcv == 0 && c.credit() > 0 && room > vsockHdrLen:
		n := min(uint64(len(c.fromHost)), uint64(c.credit()), room-vsockHdrLen)
		payload = c.fromHost[:n]
		c.fromHost = c.fromHost[n:]
		if len(c.fromHost) == 0 {
			c.fromHost = nil
		}
		c.txCnt += uint32(n)
		h.Op, h.Len = vsockOpRW, uint32(n)
		c.cond.Broadcast() // the reader has room again
	case c.sendCredit:
		h.Op = vsockOpCreditUpdate
	case c.state == vsockEstablished && c.hostEOF && len(c.fromHost) == 0 && c.sentShut&vsockShutdownSend == 0:
		c.sentShut |= vsockShutdownSend
		h.Op, h.Flags = vsockOpShutdown, vsockShutdownSend
	default:
		return nil
	}
	c.sendCredit = false // every packet carries fwd_cnt
	c.reportedFwd = c.fwdCnt
	return v.encode(&h, payload)
}

// encode lays a packet out in the worker's scratch buffer.
func (v *Vsock) encode(h *vsockHdr, payload []byte) []byte {
	n := vsockHdrLen + len(payload)
	if cap(v.pkt) < n {
		v.pkt = make([]byte, vsockHdrLen+vsockHostBuf)
	}
	b := v.pkt[:n]
	h.encode(b)
	copy(b[vsockHdrLen:], payload)
	return b
}

// greetingFor is Firecracker's answer to CONNECT.
func greetingFor(hostPort uint32) []byte { return fmt.Appendf(nil, "OK %d\n", hostPort) }
