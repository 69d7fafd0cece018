package virtio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hugelgupf/p9/linux"
	"golang.org/x/sys/unix"
)

// p9Raw drives a device with raw 9P over its queue.
type p9Raw struct {
	t   *testing.T
	d   *testDriver
	tag uint16
}

func (s *p9Raw) call(typ byte, body ...[]byte) []byte {
	s.t.Helper()
	s.tag++
	return p9Call(s.d, p9Msg(typ, s.tag, body...))
}

// must calls and fails unless the reply is typ's R-message.
func (s *p9Raw) must(typ byte, body ...[]byte) []byte {
	s.t.Helper()
	r := s.call(typ, body...)
	if len(r) < p9HeaderLen || r[4] != typ+1 {
		s.t.Fatalf("T%d: reply %x", typ, r)
	}
	return r
}

func (s *p9Raw) walk(fid, newfid uint32, names ...string) []byte {
	s.t.Helper()
	return s.call(p9Twalk, le32(fid), le32(newfid), p9Names(names))
}

// read returns the data of Tread(fid) from offset 0.
func (s *p9Raw) read(fid uint32) ([]byte, []byte) {
	s.t.Helper()
	r := s.call(116, le32(fid), le64(0), le32(4096))
	if r[4] != 117 {
		return nil, r
	}
	return r[p9HeaderLen+4:], r
}

func p9StartRaw(t *testing.T, dev *P9) *p9Raw {
	d := newTestDriverRAM(t, dev, newTestRAM(t, 8<<20))
	d.start(FeatureVersion1|P9FMountTag, 128)
	s := &p9Raw{t: t, d: d}
	v := s.must(p9Tversion, le32(p9TestMsize), p9Str("9P2000.L"))
	if binary.LittleEndian.Uint32(v[7:]) != p9TestMsize {
		t.Fatalf("version %x", v)
	}
	s.must(p9Tattach, le32(1), le32(p9NoFID), p9Str("root"), p9Str(""), le32(0))
	return s
}

// p9Move restores the transport state st, with RAM as s left it, into a
// new device on the share in dir.
func p9Move(t *testing.T, s *p9Raw, dir string, ro bool, st MMIOState) (*p9Raw, error) {
	dev, err := New9P(dir, "share", ro)
	if err != nil {
		t.Fatal(err)
	}
	ram := newTestRAM(t, s.d.ram.Size())
	copy(ram.Bytes(), s.d.ram.Bytes())
	d := newTestDriverRAM(t, dev, ram)
	d.queues, d.next = s.d.queues, s.d.next
	if err := d.m.RestoreState(st); err != nil {
		return nil, err
	}
	if d.reg(regStatus)&StatusDeviceNeedsReset != 0 {
		t.Fatalf("restored device needs reset: %v", d.m.Err())
	}
	return &p9Raw{t: t, d: d, tag: 1000}, nil
}

// editP9State rewrites the device part of st.
func editP9State(t *testing.T, st MMIOState, edit func(*P9State)) MMIOState {
	var ps P9State
	if err := decodeState(st.Device, &ps); err != nil {
		t.Fatal(err)
	}
	edit(&ps)
	b, err := encodeState(ps)
	if err != nil {
		t.Fatal(err)
	}
	st.Device = b
	return st
}

// A restored device keeps the guest's fids: an open file reads on, a
// directory fid walks on, new files can be made, in a copy of the share
// (as after moving the snapshot to another host). Fids whose file went
// away are unknown.
func TestP9RestoreKeepsFids(t *testing.T) {
	share, _ := p9Tree(t)
	dev, err := New9P(share, "share", false)
	if err != nil {
		t.Fatal(err)
	}
	s := p9StartRaw(t, dev)
	s.must(p9Twalk, le32(1), le32(2), p9Names([]string{"dir", "sub.txt"}))
	s.must(p9Tlopen, le32(2), le32(unix.O_RDONLY))
	s.must(p9Twalk, le32(1), le32(3), p9Names([]string{"dir"}))
	s.must(p9Twalk, le32(1), le32(4), p9Names([]string{"file.txt"}))
	s.must(p9Tlopen, le32(4), le32(unix.O_RDWR|unix.O_TRUNC))
	s.must(p9Twrite, le32(4), le64(0), le32(5), []byte("HELLO"))
	s.must(p9Twalk, le32(1), le32(5), p9Names(nil))
	s.must(p9Tlcreate, le32(5), p9Str("doomed"), le32(unix.O_RDWR|unix.O_CREAT), le32(0o644), le32(0))
	s.must(p9Twalk, le32(1), le32(6), p9Names(nil))
	s.must(p9Tlcreate, le32(6), p9Str("gone"), le32(unix.O_RDWR), le32(0o644), le32(0))
	s.must(p9Tunlinkat, le32(1), p9Str("gone"), le32(0)) // unlinked while open
	s.must(p9Twalk, le32(1), le32(7), p9Names([]string{"dir"}))
	s.must(p9Trenameat, le32(1), p9Str("dir"), le32(1), p9Str("moved"))
	st := s.d.m.SaveState()
	var saved P9State
	if err := json.Unmarshal(st.Device, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Version != "9P2000.L" || saved.Msize != p9TestMsize || len(saved.Fids) != 6 {
		t.Fatalf("saved session %q msize %d fids %+v", saved.Version, saved.Msize, saved.Fids)
	}

	// The snapshot moves to another host: a copy of the share, without
	// the file deleted meanwhile.
	moved := t.TempDir()
	if err := os.CopyFS(moved, os.DirFS(share)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(moved, "doomed"))
	r, err := p9Move(t, s, moved, false, st)
	if err != nil {
		t.Fatal(err)
	}
	if data, reply := r.read(2); string(data) != "sub" {
		t.Errorf("read through the open fid: %q, reply %x", data, reply)
	}
	if data, _ := r.read(4); string(data) != "HELLO" {
		t.Errorf("read through the read-write fid: %q (a replay must not truncate)", data)
	}
	r.must(p9Twrite, le32(4), le64(5), le32(1), []byte("!"))
	if b, _ := os.ReadFile(filepath.Join(moved, "file.txt")); string(b) != "HELLO!" {
		t.Errorf("write through the restored fid: file holds %q", b)
	}
	r.must(p9Twalk, le32(3), le32(10), p9Names([]string{"sub.txt"}))
	r.must(p9Tlopen, le32(10), le32(unix.O_RDONLY))
	if data, _ := r.read(10); string(data) != "sub" {
		t.Errorf("walk from the restored directory fid: read %q", data)
	}
	r.must(p9Twalk, le32(1), le32(11), p9Names(nil))
	r.must(p9Tlcreate, le32(11), p9Str("new.txt"), le32(unix.O_RDWR|unix.O_CREAT), le32(0o644), le32(0))
	if _, err := os.Stat(filepath.Join(moved, "new.txt")); err != nil {
		t.Errorf("file created through the restored root fid: %v", err)
	}
	for _, fid := range []uint32{5, 6} { // deleted on the host; unlinked in the guest
		if _, reply := r.read(fid); !bytes.Equal(reply[4:5], []byte{p9Rlerror}) || binary.LittleEndian.Uint32(reply[7:]) != uint32(linux.EBADF) {
			t.Errorf("fid %d of a vanished file: reply %x, want EBADF", fid, reply)
		}
	}
	// A fresh snapshot of the restored device has what was rebuilt.
	again := r.d.m.SaveState()
	var resaved P9State
	json.Unmarshal(again.Device, &resaved)
	var fids []string
	for _, f := range resaved.Fids {
		fids = append(fids, f.Path)
	}
	if got := strings.Join(fids, ","); got != ",moved/sub.txt,moved,file.txt,moved,moved/sub.txt,new.txt" {
		t.Errorf("fids after restore: %q", got)
	}
}

// A saved state is input: paths that are not plain names are refused, and
// paths that reach outside the share through a symlink are never opened.
func TestP9RestoreHostileState(t *testing.T) {
	share, _ := p9Tree(t)
	dev, err := New9P(share, "share", false)
	if err != nil {
		t.Fatal(err)
	}
	s := p9StartRaw(t, dev)
	st := s.d.m.SaveState()
	bad := []struct {
		name string
		edit func(*P9State)
		want string
	}{
		{"dot-dot", func(p *P9State) { p.Fids = append(p.Fids, P9Fid{Fid: 9, Path: "dir/../.."}) }, "not a relative path"},
		{"absolute", func(p *P9State) { p.Fids = append(p.Fids, P9Fid{Fid: 9, Path: "/etc"}) }, "not a relative path"},
		{"duplicate", func(p *P9State) { p.Fids = append(p.Fids, P9Fid{Fid: 1}) }, "listed twice"},
		{"NOFID", func(p *P9State) { p.Fids = append(p.Fids, P9Fid{Fid: p9NoFID}) }, "NOFID"},
		{"long path", func(p *P9State) { p.Fids = append(p.Fids, P9Fid{Fid: 9, Path: strings.Repeat("a/", 3000)}) }, "path of"},
		{"msize", func(p *P9State) { p.Msize = p9MaxMessage + 1 }, "msize"},
		{"version", func(p *P9State) { p.Version = "9P2000.u" }, "version"},
		{"fids without session", func(p *P9State) { p.Version = "" }, "without a version"},
		{"too many", func(p *P9State) {
			for i := range p9MaxTrackedFids {
				p.Fids = append(p.Fids, P9Fid{Fid: uint32(i + 100)})
			}
		}, "fids, at most"},
	}
	for _, c := range bad {
		_, err := p9Move(t, s, share, false, editP9State(t, st, c.edit))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: restore error %v, want %q", c.name, err, c.want)
		}
	}
	escape := editP9State(t, st, func(p *P9State) {
		p.Fids = append(p.Fids,
			P9Fid{Fid: 20, Path: "dirlink/secret.txt", Open: true},
			P9Fid{Fid: 21, Path: "abslink", Open: true},
			P9Fid{Fid: 22, Path: "file.txt", Open: true, Flags: unix.O_RDONLY},
			P9Fid{Fid: 23, Path: "file.txt", Open: true, Flags: unix.O_WRONLY | unix.O_TRUNC | unix.O_CREAT | unix.O_EXCL})
	})
	r, err := p9Move(t, s, share, false, escape)
	if err != nil {
		t.Fatal(err)
	}
	for _, fid := range []uint32{20, 21} {
		if data, reply := r.read(fid); data != nil {
			t.Errorf("fid %d outside the share read %q (%x)", fid, data, reply)
		}
	}
	if data, _ := r.read(22); string(data) != "hello" {
		t.Errorf("planted fid in the share: read %q", data)
	}
	if b, _ := os.ReadFile(filepath.Join(share, "file.txt")); string(b) != "hello" {
		t.Errorf("a replayed open truncated the file: %q", b)
	}

	// A read-only share reopens read-only fids, not writable ones.
	ro, err := New9P(share, "share", true)
	if err != nil {
		t.Fatal(err)
	}
	rs := p9StartRaw(t, ro)
	rst := editP9State(t, rs.d.m.SaveState(), func(p *P9State) {
		p.Fids = append(p.Fids, P9Fid{Fid: 22, Path: "file.txt", Open: true}, P9Fid{Fid: 23, Path: "file.txt", Open: true, Flags: unix.O_RDWR})
	})
	rr, err := p9Move(t, rs, share, true, rst)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := rr.read(22); string(data) != "hello" {
		t.Errorf("read-only share, read-only fid: read %q", data)
	}
	if data, _ := rr.read(23); data != nil {
		t.Errorf("read-only share reopened a writable fid")
	}
}

// Snapshots from before session tracking restore as before: no replay.
func TestP9RestoreWithoutSession(t *testing.T) {
	share, _ := p9Tree(t)
	dev, err := New9P(share, "share", false)
	if err != nil {
		t.Fatal(err)
	}
	s := p9StartRaw(t, dev)
	st := editP9State(t, s.d.m.SaveState(), func(p *P9State) { p.Version, p.Msize, p.Fids = "", 0, nil })
	r, err := p9Move(t, s, share, false, st)
	if err != nil {
		t.Fatal(err)
	}
	wantLerror(t, "old fid", r.walk(1, 2), r.tag, linux.EBADF)
}
