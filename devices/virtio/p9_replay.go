package virtio

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// A restored device rebuilds the guest's session in its fresh server
// before serving the guest's first request: Tversion with the saved
// message size, then for each saved fid Tattach, Twalk to its path and
// Tlopen if it was open. The replayed requests are the device's own
// (their replies never reach the guest) and go through the same confined
// filesystem as the guest's, so a saved path cannot leave the share
// either. A fid that cannot be rebuilt (its file was deleted meanwhile,
// was already unlinked while open in the guest, or no longer opens, say on
// a read-only share) is left unknown: the guest's requests on it fail.

// p9MaxWalkNames is how many names one replayed Twalk carries (Linux's
// P9_MAXWELEM).
const p9MaxWalkNames = 16

// p9Session is a saved session waiting to be replayed.
type p9Session struct {
	version string
	msize   uint32
	fids    []P9Fid // in fid order
}

// p9SessionFromState checks the session part of a saved state, which is
// input like any other: nil if there is no session to replay.
func p9SessionFromState(s P9State) (*p9Session, error) {
	if s.Version == "" {
		if s.Msize != 0 || len(s.Fids) != 0 {
			return nil, fmt.Errorf("virtio-9p: snapshot has a session (msize %d, %d fids) without a version", s.Msize, len(s.Fids))
		}
		return nil, nil
	}
	if !strings.HasPrefix(s.Version, p9VersionPrefix) || len(s.Version) > p9MaxVersion {
		return nil, fmt.Errorf("virtio-9p: snapshot session has version %.70q, not %s", s.Version, p9VersionPrefix)
	}
	if s.Msize == 0 || s.Msize > p9MaxMessage {
		return nil, fmt.Errorf("virtio-9p: snapshot session has msize %d, want 1..%d", s.Msize, p9MaxMessage)
	}
	if len(s.Fids) > p9MaxTrackedFids {
		return nil, fmt.Errorf("virtio-9p: snapshot has %d fids, at most %d are kept", len(s.Fids), p9MaxTrackedFids)
	}
	t := newP9Fids()
	for _, f := range s.Fids {
		bad := func(why string) error {
			return fmt.Errorf("virtio-9p: snapshot fid %d: %s", f.Fid, why)
		}
		switch {
		case f.Fid == p9NoFID:
			return nil, bad("NOFID is not a fid")
		case len(f.Path) > p9MaxTrackedPath:
			return nil, bad(fmt.Sprintf("path of %d bytes, at most %d", len(f.Path), p9MaxTrackedPath))
		case len(f.Uname) > p9MaxUname:
			return nil, bad(fmt.Sprintf("user name of %d bytes, at most %d", len(f.Uname), p9MaxUname))
		case t.bytes+p9FidCost(f) > t.maxBytes:
			return nil, bad(fmt.Sprintf("the fids take more than %d bytes", t.maxBytes))
		}
		if _, dup := t.m[f.Fid]; dup {
			return nil, bad("listed twice")
		}
		if f.Path != "" {
			if _, ok := p9Join("", strings.Split(f.Path, "/")...); !ok {
				return nil, bad(fmt.Sprintf("path %.100q is not a relative path of plain names", f.Path))
			}
		}
		t.set(f)
	}
	return &p9Session{version: s.Version, msize: s.Msize, fids: t.list()}, nil
}

// p9Encode frames one T-message.
func p9Encode(typ byte, tag uint16, body []byte) []byte {
	b := make([]byte, p9HeaderLen, p9HeaderLen+len(body))
	binary.LittleEndian.PutUint32(b, uint32(p9HeaderLen+len(body)))
	b[4] = typ
	binary.LittleEndian.PutUint16(b[5:], tag)
	return append(b, body...)
}

func p9AppendStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// p9Replayer sends the replay's requests one at a time on one session.
type p9Replayer struct {
	d     *P9
	conn  *p9Conn
	msize uint32
}

// call sends msg and waits for its reply; nil if msg does not fit the
// session (the server would end it over that) or the session ended.
func (r *p9Replayer) call(msg []byte) []byte {
	if uint32(len(msg)) > r.msize {
		return nil
	}
	tag := binary.LittleEndian.Uint16(msg[5:])
	ch := make(chan []byte, 1)
	r.d.mu.Lock()
	if r.d.conn != r.conn {
		r.d.mu.Unlock()
		return nil
	}
	r.d.inflight[tag] = &p9Request{tag: tag, replay: ch}
	r.d.mu.Unlock()
	r.conn.push(msg)
	select {
	case reply := <-ch:
		return reply
	case <-r.conn.ended:
		return nil
	}
}

// ok calls msg and reports whether the reply has type want.
func (r *p9Replayer) ok(msg []byte, want byte) ([]byte, bool) {
	reply := r.call(msg)
	return reply, len(reply) >= p9HeaderLen && reply[4] == want
}

// replaySession rebuilds s in the server on conn and tracks the fids that
// came back. It runs in Activate, before the worker serves the guest.
func (d *P9) replaySession(conn *p9Conn, s *p9Session) {
	r := &p9Replayer{d: d, conn: conn, msize: p9MaxMessage}
	body := p9AppendStr(binary.LittleEndian.AppendUint32(nil, s.msize), s.version)
	reply, ok := r.ok(p9Encode(p9Tversion, p9NoTag, body), p9Rversion)
	if !ok {
		return
	}
	rd := &p9Reader{b: reply[p9HeaderLen:], ok: true}
	msize, version := rd.u32(), rd.str()
	if !rd.ok || msize == 0 || version != s.version {
		return // the server would not speak that session: every fid is unknown
	}
	r.msize = min(msize, p9MaxMessage)
	d.mu.Lock()
	d.msize = r.msize
	d.fids.version = version
	d.mu.Unlock()
	for _, f := range s.fids {
		if !r.fid(f) {
			continue
		}
		d.mu.Lock()
		if d.conn == conn {
			d.fids.set(f)
		}
		d.mu.Unlock()
	}
}

// fid rebuilds one fid, or leaves it unknown.
func (r *p9Replayer) fid(f P9Fid) bool {
	le := binary.LittleEndian
	attach := le.AppendUint32(le.AppendUint32(nil, f.Fid), p9NoFID)
	attach = p9AppendStr(p9AppendStr(attach, f.Uname), "")
	attach = le.AppendUint32(attach, f.NUname)
	if _, ok := r.ok(p9Encode(p9Tattach, 0, attach), p9Tattach+1); !ok {
		return false
	}
	var names []string
	if f.Path != "" {
		names = strings.Split(f.Path, "/")
	}
	for len(names) > 0 {
		// As many names as fit one message, walking the fid onto itself.
		n, size := 0, p9HeaderLen+10
		for n < len(names) && n < p9MaxWalkNames && uint32(size+2+len(names[n])) <= r.msize {
			size += 2 + len(names[n])
			n++
		}
		if n == 0 {
			r.clunk(f.Fid) // a name longer than the session's messages
			return false
		}
		walk := le.AppendUint16(le.AppendUint32(le.AppendUint32(nil, f.Fid), f.Fid), uint16(n))
		for _, name := range names[:n] {
			walk = p9AppendStr(walk, name)
		}
		reply, ok := r.ok(p9Encode(p9Twalk, 0, walk), p9Twalk+1)
		if !ok || len(reply) < p9HeaderLen+2 || int(le.Uint16(reply[p9HeaderLen:])) != n {
			r.clunk(f.Fid)
			return false
		}
		names = names[n:]
	}
	if f.Open {
		// The file exists already: reopen it, never create or truncate it.
		flags := f.Flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC)
		if _, ok := r.ok(p9Encode(p9Tlopen, 0, le.AppendUint32(le.AppendUint32(nil, f.Fid), flags)), p9Tlopen+1); !ok {
			r.clunk(f.Fid)
			return false
		}
	}
	return true
}

func (r *p9Replayer) clunk(fid uint32) {
	r.call(p9Encode(p9Tclunk, 0, binary.LittleEndian.AppendUint32(nil, fid)))
}
