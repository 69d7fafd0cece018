package virtio

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

const (
	// vsockHandshakeTimeout bounds how long a host program may take to
	// send its CONNECT line.
	vsockHandshakeTimeout = 30 * time.Second
	vsockDialTimeout      = 10 * time.Second
	vsockMaxConnectLine   = 64
)

// acceptLoop takes host connections to udsPath.
func (v *Vsock) acceptLoop() {
	defer v.wg.Done()
	for {
		sock, err := v.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		v.mu.Lock()
		if v.closed {
			v.mu.Unlock()
			sock.Close()
			return
		}
		v.handshakes[sock] = struct{}{}
		v.wg.Add(1)
		v.mu.Unlock()
		go v.handshake(sock)
	}
}

// handshake reads "CONNECT <port>\n" and asks the guest for the
// connection. A bad line, or a guest with no driver running, closes the
// socket.
func (v *Vsock) handshake(sock net.Conn) {
	defer v.wg.Done()
	sock.SetReadDeadline(time.Now().Add(vsockHandshakeTimeout))
	port, err := readConnect(sock)
	sock.SetReadDeadline(time.Time{})

	v.mu.Lock()
	delete(v.handshakes, sock)
	if err != nil || !v.active || v.closed || len(v.conns) >= vsockMaxConns {
		v.mu.Unlock()
		sock.Close()
		return
	}
	c := v.newConn(vsockKey{host: v.allocPort(), guest: port}, vsockConnecting)
	c.sock, c.fromHostSide, c.sendRequest = sock, true, true
	c.peerBufAlloc = 0 // unknown until the guest answers
	v.conns[c.key] = c
	v.markReady(c)
	v.mu.Unlock()
	v.kick()
}

// readConnect reads the CONNECT line one byte at a time, so no stream
// bytes after it are consumed.
func readConnect(sock net.Conn) (uint32, error) {
	var line []byte
	var b [1]byte
	for len(line) < vsockMaxConnectLine {
		if _, err := sock.Read(b[:]); err != nil {
			return 0, err
		}
		if b[0] == '\n' {
			return parseConnect(string(line))
		}
		line = append(line, b[0])
	}
	return 0, errors.New("CONNECT line too long")
}

func parseConnect(line string) (uint32, error) {
	port, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "CONNECT ")
	if !ok {
		return 0, fmt.Errorf("want CONNECT <port>, got %q", line)
	}
	p, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad port in %q", line)
	}
	return uint32(p), nil
}

// allocPort picks the next free host-side port. mu held.
func (v *Vsock) allocPort() uint32 {
	for {
		p := v.nextPort
		v.nextPort++
		if v.nextPort < vsockFirstHostPort || v.nextPort == 0xffffffff {
			v.nextPort = vsockFirstHostPort
		}
		used := false
		for k := range v.conns {
			if k.host == p {
				used = true
				break
			}
		}
		if !used {
			return p // at most vsockMaxConns ports are taken
		}
	}
}

// dial connects a guest-initiated connection to "<udsPath>_<port>".
func (v *Vsock) dial(c *vsockConn) {
	defer v.wg.Done()
	d := net.Dialer{Timeout: vsockDialTimeout}
	sock, err := d.Dial("unix", fmt.Sprintf("%s_%d", v.udsPath, c.key.host))
	v.mu.Lock()
	if c.gone || v.closed {
		v.mu.Unlock()
		if sock != nil {
			sock.Close()
		}
		return
	}
	if err != nil {
		v.reset(c) // nobody listens there
	} else {
		c.sock, c.state, c.sendResponse = sock, vsockEstablished, true
		c.start()
		v.markReady(c)
	}
	v.mu.Unlock()
	v.kick()
}

// transmit handles the guest's packets.
func (v *Vsock) transmit(q *Queue) {
	handled := false
	for {
		c, ok := q.Pop()
		if !ok {
			break
		}
		var hb [vsockHdrLen]byte
		if c.ReadAt(hb[:], 0) < vsockHdrLen {
			v.dropped.Add(1)
			q.Push(c, 0)
			continue
		}
		h, _ := parseVsockHdr(hb[:])
		var payload []byte
		if h.Op == vsockOpRW {
			if h.Len > vsockMaxPayload || vsockHdrLen+uint64(h.Len) > c.Readable() {
				v.dropped.Add(1)
				q.Push(c, 0)
				continue
			}
			if cap(v.txBuf) < int(h.Len) {
				v.txBuf = make([]byte, vsockMaxPayload)
			}
			payload = v.txBuf[:h.Len]
			c.ReadAt(payload, vsockHdrLen)
		}
		v.mu.Lock()
		v.handle(&h, payload)
		v.mu.Unlock()
		q.Push(c, 0)
		handled = true
	}
	if handled {
		v.kick()
	}
}

// handle acts on one guest packet. mu held; payload is only valid during
// the call.
func (v *Vsock) handle(h *vsockHdr, payload []byte) {
	if h.SrcCID != v.cid {
		v.dropped.Add(1) // not from this guest: ignore, as Linux's host side does
		return
	}
	if h.DstCID != VsockHostCID || h.Type != vsockTypeStream {
		v.rstFor(h)
		return
	}
	key := vsockKey{host: h.DstPort, guest: h.SrcPort}
	c := v.conns[key]
	if c == nil {
		if h.Op == vsockOpRequest {
			v.connectHost(key, h)
		} else {
			v.rstFor(h)
		}
		return
	}
	c.peerBufAlloc, c.peerFwdCnt = h.BufAlloc, h.FwdCnt
	switch h.Op {
	case vsockOpResponse:
		if c.state != vsockConnecting || !c.fromHostSide {
			v.reset(c)
			return
		}
		c.state = vsockEstablished
		c.greeting = greetingFor(c.key.host)
		c.start()
	case vsockOpRW:
		if c.state != vsockEstablished || c.peerShut&vsockShutdownSend != 0 || uint64(len(c.toHost))+uint64(len(payload)) > uint64(v.bufAlloc) {
			v.reset(c) // data out of turn, or beyond the credit we gave
			return
		}
		c.toHost = append(c.toHost, payload...)
		c.rxCnt += uint32(len(payload))
		c.cond.Broadcast()
	case vsockOpCreditUpdate:
	case vsockOpCreditRequest:
		c.sendCredit = true
		v.markReady(c)
	case vsockOpShutdown:
		c.peerShut |= h.Flags & vsockShutdownBoth
		if c.peerShut&vsockShutdownSend != 0 {
			c.closeWrite = true
			c.cond.Broadcast()
		}
		if c.peerShut == vsockShutdownBoth {
			v.reset(c) // the guest waits for our RST to finish closing
		}
	case vsockOpRst:
		v.remove(c, true)
		return
	default: // a second REQUEST, or garbage
		v.reset(c)
		return
	}
	if len(c.fromHost) > 0 && c.credit() > 0 {
		v.markReady(c) // the guest's window may have opened
	}
}

// connectHost starts a guest-initiated connection. mu held.
func (v *Vsock) connectHost(key vsockKey, h *vsockHdr) {
	if len(v.conns) >= vsockMaxConns || v.closed {
		v.rstFor(h)
		return
	}
	c := v.newConn(key, vsockDialing)
	c.peerBufAlloc, c.peerFwdCnt = h.BufAlloc, h.FwdCnt
	v.conns[key] = c
	v.wg.Add(1)
	go v.dial(c)
}

// rstFor owes a reset for a packet that has no connection. mu held.
func (v *Vsock) rstFor(h *vsockHdr) {
	if h.Op == vsockOpRst || len(v.rsts) >= vsockMaxRsts {
		return
	}
	v.rsts = append(v.rsts, h.reply(vsockOpRst))
}

// deliver fills the guest's receive buffers with owed packets.
func (v *Vsock) deliver(q *Queue) {
	for {
		v.mu.Lock()
		idle := len(v.rsts) == 0 && len(v.ready) == 0
		v.mu.Unlock()
		if idle {
			return
		}
		c, ok := q.Pop()
		if !ok {
			return
		}
		room := c.Writable()
		if room < vsockHdrLen {
			v.dropped.Add(1) // a buffer no packet fits in
			q.Push(c, 0)
			continue
		}
		v.mu.Lock()
		pkt := v.nextPacket(room)
		v.mu.Unlock()
		if pkt == nil {
			unpop(q, 1) // nothing sendable after all (e.g. out of credit)
			return
		}
		q.Push(c, uint64(c.WriteAt(pkt, 0)))
	}
}

// nextPacket picks the next packet for the guest, resets first, then the
// ready connections in turn. mu held.
func (v *Vsock) nextPacket(room uint64) []byte {
	if len(v.rsts) > 0 {
		h := v.rsts[0]
		v.rsts = v.rsts[1:]
		return v.encode(&h, nil)
	}
	for len(v.ready) > 0 {
		c := v.ready[0]
		v.ready = v.ready[1:]
		if pkt := c.next(room); pkt != nil {
			v.ready = append(v.ready, c) // round robin; dropped once idle
			return pkt
		}
		c.queued = false
	}
	return nil
}
