package virtio

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/hugelgupf/p9/linux"
	"golang.org/x/sys/unix"
)

// p9Step is one request and the server's reply to it.
type p9Step struct{ req, reply []byte }

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

func p9Names(names []string) []byte {
	b := le16(uint16(len(names)))
	for _, n := range names {
		b = append(b, p9Str(n)...)
	}
	return b
}

// p9Ok is the empty success reply to req.
func p9Ok(req []byte, body ...[]byte) []byte { return p9Msg(req[4]+1, 1, body...) }

func stAttach(fid uint32, aname string) p9Step {
	req := p9Msg(p9Tattach, 1, le32(fid), le32(p9NoFID), p9Str("root"), p9Str(aname), le32(0))
	return p9Step{req, p9Ok(req, make([]byte, 13))}
}

// stWalk succeeds with every qid; stWalkN answers n of them.
func stWalk(fid, newfid uint32, names ...string) p9Step {
	return stWalkN(len(names), fid, newfid, names...)
}

func stWalkN(n int, fid, newfid uint32, names ...string) p9Step {
	req := p9Msg(p9Twalk, 1, le32(fid), le32(newfid), p9Names(names))
	return p9Step{req, p9Ok(req, le16(uint16(n)), make([]byte, 13*n))}
}

func stOp(typ byte, body ...[]byte) p9Step {
	req := p9Msg(typ, 1, body...)
	return p9Step{req, p9Ok(req)}
}

func stOpen(fid, flags uint32) p9Step { return stOp(p9Tlopen, le32(fid), le32(flags)) }
func stCreate(fid uint32, name string, flags uint32) p9Step {
	return stOp(p9Tlcreate, le32(fid), p9Str(name), le32(flags), le32(0o644), le32(0))
}
func stClunk(fid uint32) p9Step  { return stOp(p9Tclunk, le32(fid)) }
func stRemove(fid uint32) p9Step { return stOp(p9Tremove, le32(fid)) }
func stRenameat(od uint32, on string, nd uint32, nn string) p9Step {
	return stOp(p9Trenameat, le32(od), p9Str(on), le32(nd), p9Str(nn))
}
func stRename(fid, dfid uint32, name string) p9Step {
	return stOp(p9Trename, le32(fid), le32(dfid), p9Str(name))
}
func stUnlink(dfid uint32, name string) p9Step {
	return stOp(p9Tunlinkat, le32(dfid), p9Str(name), le32(0))
}
func stXattrwalk(fid, newfid uint32) p9Step {
	return stOp(p9Txattrwalk, le32(fid), le32(newfid), p9Str("user.x"))
}
func stVersion(reply string) p9Step {
	req := p9Msg(p9Tversion, p9NoTag, le32(8192), p9Str("9P2000.L"))
	return p9Step{req, p9Ok(req, le32(8192), p9Str(reply))}
}

// failed turns a step's reply into an error.
func failed(s p9Step) p9Step {
	s.reply = p9Lerror(1, linux.ENOENT)
	return s
}

// render prints the table as "fid=path" (+o when open), in fid order.
func (t *p9Fids) render() string {
	var parts []string
	for _, f := range t.list() {
		s := fmt.Sprintf("%d=%s", f.Fid, f.Path)
		if f.Open {
			s += fmt.Sprintf("+o%o", f.Flags)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// tree is attach 1 at the root, then fid n walked to paths[n-2].
func tree(paths ...string) []p9Step {
	steps := []p9Step{stAttach(1, "")}
	for i, p := range paths {
		steps = append(steps, stWalk(1, uint32(i+2), strings.Split(p, "/")...))
	}
	return steps
}

func TestP9FidTracker(t *testing.T) {
	const rdwr = unix.O_RDWR
	cases := []struct {
		name  string
		steps []p9Step
		want  string
	}{
		{"attach, walk, open, clone", []p9Step{stAttach(1, ""), stWalk(1, 2, "dir", "f"), stOpen(2, 0), stWalk(1, 3)},
			"1= 2=dir/f+o0 3="},
		{"attach name is walked", []p9Step{stAttach(1, "/sub/x")}, "1=sub/x"},
		{"attach to a bad name", []p9Step{stAttach(1, "a//b")}, ""},
		{"failed walk keeps the old newfid", append(tree("a"), failed(stWalk(1, 2, "b"))), "1= 2=a"},
		{"partial walk leaves newfid unknown", append(tree("a"), stWalkN(1, 1, 2, "b", "c")), "1="},
		{"walk onto itself", append(tree("a"), stWalk(2, 2, "b")), "1= 2=a/b"},
		{"walk from an unknown fid", []p9Step{stWalk(9, 2, "a")}, ""},
		{"walk to a name that is no name", append(tree(), stWalk(1, 2, ".."), stWalk(1, 3, "a/b")), "1="},
		{"create moves the fid to the new file", append(tree(), stWalk(1, 2), stCreate(2, "new", rdwr|unix.O_CREAT)),
			fmt.Sprintf("1= 2=new+o%o", rdwr|unix.O_CREAT)},
		{"failed requests change nothing",
			append(tree("a", "b"), failed(stOpen(2, 0)), failed(stRenameat(1, "a", 1, "c")), failed(stUnlink(1, "b")), failed(stCreate(3, "x", 0))),
			"1= 2=a 3=b"},
		{"clunk and remove forget even when failing", append(tree("a", "b", "c"), stClunk(2), failed(stClunk(3)), failed(stRemove(4))), "1="},
		{"remove drops every fid of the file", append(tree("a", "a", "ab", "a/x"), stRemove(2)), "1= 4=ab"},
		{"renameat moves the subtree", append(tree("d", "d/f", "dd", "x/d"), stRenameat(1, "d", 1, "e")), "1= 2=e 3=e/f 4=dd 5=x/d"},
		{"renameat drops the replaced target", append(tree("a", "b", "b/c"), stRenameat(1, "a", 1, "b")), "1= 2=b"},
		{"renameat into another directory", append(tree("a/f", "b"), stWalk(1, 9, "a"), stRenameat(9, "f", 3, "g")), "1= 2=b/g 3=b 9=a"},
		{"renameat onto itself", append(tree("a"), stRenameat(1, "a", 1, "a")), "1= 2=a"},
		{"renameat from an unknown directory", append(tree("x/a", "b", "y/b/z", "c"), stRenameat(50, "a", 1, "b")), "1= 4=y/b/z 5=c"},
		{"rename", append(tree("d/f", "z"), stRename(2, 1, "z")), "1= 2=z"},
		{"rename of an unknown fid forgets everything", append(tree("a", "b"), stRename(9, 1, "z")), ""},
		{"rename to an unknown directory", append(tree("d/f", "d/f/g", "k"), stRename(2, 9, "k")), "1="},
		{"unlinkat drops the path and below", append(tree("a", "a/b", "ab"), stUnlink(1, "a")), "1= 4=ab"},
		{"unlinkat in an unknown directory drops by name", append(tree("x/a", "b", "a/c"), stUnlink(9, "a")), "1= 3=b"},
		{"xattr fids are not kept", append(tree("a", "b"), stXattrwalk(1, 9), stXattrwalk(2, 2), stOp(p9Txattrcreate, le32(3), p9Str("user.x"), le64(1), le32(0))), "1="},
		{"Twalkgetattr newfid is unknown", append(tree("a"), stOp(p9Twalkgetattr, le32(1), le32(2), p9Names([]string{"b"}))), "1="},
		{"other requests change nothing", append(tree("a"), stOp(72, le32(1), p9Str("d"), le32(0o755), le32(0)), stOp(24, le32(2), le64(0))), "1= 2=a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab := newP9Fids()
			for _, s := range c.steps {
				if p9Check(s.req) != 0 {
					t.Fatalf("bad test message %x", s.req)
				}
				if op := p9ParseFidOp(s.req); op != nil {
					tab.apply(op, s.reply)
				}
			}
			if got := tab.render(); got != c.want {
				t.Errorf("table %q, want %q", got, c.want)
			}
			checkP9FidTable(t, tab)
		})
	}
}

func TestP9FidTrackerVersion(t *testing.T) {
	tab := newP9Fids()
	for _, c := range []struct {
		step p9Step
		want string
	}{
		{stVersion("unknown"), ""},
		{stVersion("9P2000.L"), "9P2000.L"},
		{failed(stVersion("x")), "9P2000.L"},
		{stVersion("unknown"), "9P2000.L"}, // the server kept the old session
	} {
		tab.apply(p9ParseFidOp(c.step.req), c.step.reply)
		if tab.version != c.want {
			t.Fatalf("after %x: version %q, want %q", c.step.reply, tab.version, c.want)
		}
	}
}

// Past its bounds the table stops growing: new fids are simply unknown.
func TestP9FidTrackerBounds(t *testing.T) {
	tab := newP9Fids()
	tab.maxFids = 3
	for _, s := range tree("a", "b", "c", "d") {
		tab.apply(p9ParseFidOp(s.req), s.reply)
	}
	if got := tab.render(); got != "1= 2=a 3=b" {
		t.Fatalf("capped table %q", got)
	}
	tab = newP9Fids()
	tab.maxBytes = 3*(p9FidOverhead+len("root")) + 2 // 1, 2=a, 3=b
	long := strings.Repeat("n", 200)
	for _, s := range append(tree("a", "b"), stWalk(1, 4, long), stWalk(2, 2, "0123456789")) {
		tab.apply(p9ParseFidOp(s.req), s.reply)
	}
	if got := tab.render(); got != "1= 3=b" {
		t.Fatalf("byte-capped table %q", got)
	}
	tab = newP9Fids()
	deep := tree()
	name := strings.Repeat("d", 255)
	for i := range 20 { // 20 * 256 bytes: past PATH_MAX
		deep = append(deep, stWalk(1+uint32(min(i, 1)), 2, name))
	}
	for _, s := range deep {
		tab.apply(p9ParseFidOp(s.req), s.reply)
	}
	if got := tab.render(); got != "1=" {
		t.Fatalf("over-long path kept: %.60q", got)
	}
	checkP9FidTable(t, tab)
}

// checkP9FidTable checks the table's invariants: within bounds, byte count
// exact, every path one that a restore accepts.
func checkP9FidTable(t *testing.T, tab *p9Fids) {
	t.Helper()
	if len(tab.m) > tab.maxFids || tab.bytes > tab.maxBytes {
		t.Fatalf("table of %d fids, %d bytes: over its bounds", len(tab.m), tab.bytes)
	}
	sum := 0
	for fid, f := range tab.m {
		if f.Fid != fid {
			t.Fatalf("fid %d stored as %d", fid, f.Fid)
		}
		sum += p9FidCost(f)
	}
	if sum != tab.bytes {
		t.Fatalf("table counts %d bytes, holds %d", tab.bytes, sum)
	}
	version := tab.version
	if version == "" {
		version = "9P2000.L"
	}
	if _, err := p9SessionFromState(P9State{Version: version, Msize: 8192, Fids: tab.list()}); err != nil {
		t.Fatalf("a restore refuses the table: %v", err)
	}
}
