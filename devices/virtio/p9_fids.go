package virtio

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
)

// The device keeps its own copy of the guest's fid table, built from the
// requests it forwards and the server's replies, so that a restored device
// can rebuild the same fids in a fresh server (p9_replay.go). A fid is
// recorded by the path it names below the share's root, which is all a
// new server needs to reach the same file again.

// Bounds on the table: the guest decides how many fids it makes, so past
// them new fids simply go untracked (and are unknown after a restore).
const (
	p9MaxTrackedFids  = 16384
	p9MaxTrackedBytes = 4 << 20 // paths, user names and per-fid overhead
	p9MaxTrackedPath  = 4096    // PATH_MAX
	p9MaxUname        = 255
	p9FidOverhead     = 64 // what one entry costs besides its strings
	p9MaxVersion      = 64 // bytes of a version string kept
)

// 9P2000.L message types the tracker follows.
const (
	p9Tlopen        = 12
	p9Tlcreate      = 14
	p9Trename       = 20
	p9Txattrwalk    = 30
	p9Txattrcreate  = 32
	p9Trenameat     = 74
	p9Tunlinkat     = 76
	p9Tattach       = 104
	p9Twalk         = 110
	p9Tclunk        = 120
	p9Tremove       = 122
	p9Twalkgetattr  = 126
	p9Tucreate      = 128
	p9VersionPrefix = "9P2000.L"
)

// P9Fid is one fid of the guest's session, as a snapshot records it.
type P9Fid struct {
	Fid uint32
	// Path names the file from the share's root: names joined by "/", ""
	// for the root itself.
	Path   string
	Uname  string // from the Tattach the fid descends from
	NUname uint32
	Open   bool   // Tlopen or Tlcreate succeeded on it
	Flags  uint32 // the open flags, when Open
}

// p9Fids is the tracked fid table.
type p9Fids struct {
	version  string // the 9P2000.L version the guest negotiated, "" none yet
	m        map[uint32]P9Fid
	bytes    int
	maxFids  int
	maxBytes int
}

func newP9Fids() *p9Fids {
	return &p9Fids{m: make(map[uint32]P9Fid), maxFids: p9MaxTrackedFids, maxBytes: p9MaxTrackedBytes}
}

func p9FidCost(f P9Fid) int { return p9FidOverhead + len(f.Path) + len(f.Uname) }

// set records f, or forgets the fid if f is over the bounds: an untracked
// fid is merely unknown after a restore.
func (t *p9Fids) set(f P9Fid) {
	t.forget(f.Fid)
	if len(f.Path) > p9MaxTrackedPath || len(f.Uname) > p9MaxUname ||
		len(t.m) >= t.maxFids || t.bytes+p9FidCost(f) > t.maxBytes {
		return
	}
	t.m[f.Fid] = f
	t.bytes += p9FidCost(f)
}

func (t *p9Fids) forget(fid uint32) {
	if f, ok := t.m[fid]; ok {
		t.bytes -= p9FidCost(f)
		delete(t.m, fid)
	}
}

func (t *p9Fids) dropAll() {
	clear(t.m)
	t.bytes = 0
}

func (t *p9Fids) reset() {
	t.dropAll()
	t.version = ""
}

// path returns the path of a tracked fid.
func (t *p9Fids) path(fid uint32) (string, bool) {
	f, ok := t.m[fid]
	return f.Path, ok
}

// p9Join appends names to dir; false if a name is not one plain component.
func p9Join(dir string, names ...string) (string, bool) {
	for _, n := range names {
		if p9ValidName(n) != nil {
			return "", false
		}
		if dir == "" {
			dir = n
		} else {
			dir += "/" + n
		}
	}
	return dir, true
}

// p9Under reports whether path p is dir or inside it.
func p9Under(p, dir string) bool {
	return p == dir || len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// dropUnder forgets every fid at dir or below: their files were removed
// or replaced.
func (t *p9Fids) dropUnder(dir string) {
	for fid, f := range t.m {
		if p9Under(f.Path, dir) {
			t.forget(fid)
		}
	}
}

// dropName forgets every fid with name anywhere in its path: what the
// tracker does when it cannot tell which file a rename or unlink hit, so a
// replay never reaches a file the guest no longer had under that path.
func (t *p9Fids) dropName(name string) {
	for fid, f := range t.m {
		if slices.Contains(strings.Split(f.Path, "/"), name) {
			t.forget(fid)
		}
	}
}

// rename moves the fids at from (and below) to to. A target whose path is
// unknown (toOK false) is handled by its name.
func (t *p9Fids) rename(from, to string, toOK bool, toName string) {
	if toOK && from == to {
		return // renaming a file onto itself changes nothing
	}
	if toOK {
		t.dropUnder(to) // the replaced target, if any
	} else {
		t.dropName(toName)
	}
	var moved []P9Fid // collected first: set re-adds keys, which a range could visit again
	for fid, f := range t.m {
		if p9Under(f.Path, from) {
			t.forget(fid)
			moved = append(moved, f)
		}
	}
	if !toOK {
		return
	}
	for _, f := range moved {
		f.Path = to + f.Path[len(from):]
		t.set(f)
	}
}

// p9FidOp is what a forwarded request may do to the fid table, parsed
// when it is submitted and applied when its reply arrives.
type p9FidOp struct {
	typ           byte
	fid, newfid   uint32 // newfid: Twalk's and Txattrwalk's; the new directory of renames
	names         []string
	name, newname string
	uname         string
	nuname, flags uint32
}

// p9Reader reads 9P fields; ok turns false on short input.
type p9Reader struct {
	b  []byte
	ok bool
}

func (r *p9Reader) take(n int) []byte {
	if len(r.b) < n {
		r.ok, r.b = false, nil
		return make([]byte, n)
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *p9Reader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *p9Reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }

func (r *p9Reader) str() string {
	n := int(r.u16())
	if !r.ok {
		return ""
	}
	return string(r.take(n))
}

// p9ParseFidOp returns what msg (a whole T-message) may change in the fid
// table, or nil if nothing.
func p9ParseFidOp(msg []byte) *p9FidOp {
	if len(msg) < p9HeaderLen {
		return nil
	}
	op := &p9FidOp{typ: msg[4]}
	r := &p9Reader{b: msg[p9HeaderLen:], ok: true}
	switch op.typ {
	case p9Tversion:
	case p9Tattach: // fid afid uname aname n_uname
		op.fid = r.u32()
		r.u32()
		op.uname = r.str()
		op.name = r.str()
		op.nuname = r.u32()
	case p9Twalk, p9Twalkgetattr: // fid newfid nwname names
		op.fid, op.newfid = r.u32(), r.u32()
		n := int(r.u16())
		for i := 0; i < n && r.ok; i++ {
			op.names = append(op.names, r.str())
		}
	case p9Tlopen: // fid flags
		op.fid, op.flags = r.u32(), r.u32()
	case p9Tlcreate, p9Tucreate: // fid name flags ...
		op.fid = r.u32()
		op.name = r.str()
		op.flags = r.u32()
	case p9Tclunk, p9Tremove, p9Txattrcreate:
		op.fid = r.u32()
	case p9Txattrwalk: // fid newfid name
		op.fid, op.newfid = r.u32(), r.u32()
	case p9Trename: // fid dfid name
		op.fid, op.newfid = r.u32(), r.u32()
		op.newname = r.str()
	case p9Trenameat: // olddirfid oldname newdirfid newname
		op.fid = r.u32()
		op.name = r.str()
		op.newfid = r.u32()
		op.newname = r.str()
	case p9Tunlinkat: // dfid name flags
		op.fid = r.u32()
		op.name = r.str()
	default:
		return nil
	}
	if !r.ok {
		return nil
	}
	return op
}

// apply updates the table for op's reply. Apart from clunks, only a
// successful reply (the R-message type right after the T-message's)
// changes anything, as only then did the server change its fids.
func (t *p9Fids) apply(op *p9FidOp, reply []byte) {
	ok := len(reply) >= p9HeaderLen && reply[4] == op.typ+1
	body := &p9Reader{ok: ok}
	if ok {
		body.b = reply[p9HeaderLen:]
	}
	switch op.typ {
	case p9Tclunk, p9Tremove:
		// The fid is gone even if the request failed.
		p, known := t.path(op.fid)
		t.forget(op.fid)
		if ok && op.typ == p9Tremove && known && p != "" {
			t.dropUnder(p)
		}
		return
	}
	if !ok {
		return
	}
	switch op.typ {
	case p9Tversion: // msize version
		body.u32()
		if v := body.str(); body.ok && strings.HasPrefix(v, p9VersionPrefix) && len(v) <= p9MaxVersion {
			t.version = v
		}
	case p9Tattach:
		// The server walks aname from the root: record where that led.
		var names []string
		if aname := strings.TrimPrefix(op.name, "/"); aname != "" {
			names = strings.Split(aname, "/")
		}
		if p, valid := p9Join("", names...); valid {
			t.set(P9Fid{Fid: op.fid, Path: p, Uname: op.uname, NUname: op.nuname})
		} else {
			t.forget(op.fid)
		}
	case p9Twalk:
		n := body.u16()
		base, known := t.m[op.fid]
		p, valid := p9Join(base.Path, op.names...)
		if !body.ok || int(n) != len(op.names) || !known || !valid {
			// Not a walk the tracker can follow: the new fid is unknown.
			t.forget(op.newfid)
			return
		}
		t.set(P9Fid{Fid: op.newfid, Path: p, Uname: base.Uname, NUname: base.NUname})
	case p9Twalkgetattr, p9Txattrwalk:
		// Not followed: Twalkgetattr is a Google extension Linux never
		// sends, and an xattr fid holds no file to reopen.
		t.forget(op.newfid)
	case p9Txattrcreate:
		t.forget(op.fid) // the fid now stands for the attribute being written
	case p9Tlopen:
		if f, known := t.m[op.fid]; known {
			f.Open, f.Flags = true, op.flags
			t.set(f)
		}
	case p9Tlcreate, p9Tucreate:
		f, known := t.m[op.fid]
		p, valid := p9Join(f.Path, op.name)
		if !known || !valid {
			t.forget(op.fid)
			return
		}
		f.Path, f.Open, f.Flags = p, true, op.flags
		t.set(f)
	case p9Trename:
		from, known := t.path(op.fid)
		switch {
		case !known:
			// No telling which tracked fids named the moved file.
			t.dropAll()
		case from != "": // the root cannot move
			dir, dirOK := t.path(op.newfid)
			to, toOK := p9Join(dir, op.newname)
			t.rename(from, to, toOK && dirOK, op.newname)
		}
	case p9Trenameat:
		odir, odirOK := t.path(op.fid)
		ndir, ndirOK := t.path(op.newfid)
		from, fromOK := p9Join(odir, op.name)
		to, toOK := p9Join(ndir, op.newname)
		if !fromOK || !odirOK {
			t.dropName(op.name)
			if toOK && ndirOK {
				t.dropUnder(to)
			} else {
				t.dropName(op.newname)
			}
			return
		}
		t.rename(from, to, toOK && ndirOK, op.newname)
	case p9Tunlinkat:
		dir, dirOK := t.path(op.fid)
		if p, valid := p9Join(dir, op.name); dirOK && valid {
			t.dropUnder(p)
		} else {
			t.dropName(op.name)
		}
	}
}

// list returns the tracked fids in fid order.
func (t *p9Fids) list() []P9Fid {
	out := make([]P9Fid, 0, len(t.m))
	for _, f := range t.m {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b P9Fid) int { return cmp.Compare(a.Fid, b.Fid) })
	return out
}
