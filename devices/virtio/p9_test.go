package virtio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
)

const (
	p9TestMsize = 8192
	p9TestSlots = 64 // two descriptors each: the whole 128-entry ring
)

// p9Wire is the guest's 9P transport as Linux's trans_virtio drives it:
// each T-message goes out in one chain with room for the reply, replies
// come back from the used ring in any order. It gives the p9 client
// library a byte stream, so the tests speak real 9P2000.L.
type p9Wire struct {
	d     *testDriver
	slots [p9TestSlots]struct{ out, in uint64 }
	free  chan int
	subMu sync.Mutex // the avail ring
	wmu   sync.Mutex // Write and Close: the client's finalizers write late
	acc   []byte     // client bytes not yet a whole message
	shut  bool
	pr    *io.PipeReader
	pw    *io.PipeWriter
	stop  chan struct{}
	done  chan struct{}
}

func newP9Wire(t *testing.T, dev *P9) *p9Wire {
	d := newTestDriver(t, dev)
	d.start(FeatureVersion1|FeatureEventIdx|FeatureIndirectDesc|P9FMountTag, 128)
	w := &p9Wire{d: d, free: make(chan int, p9TestSlots), stop: make(chan struct{}), done: make(chan struct{})}
	for i := range w.slots {
		w.slots[i].out = d.alloc(p9TestMsize, 8)
		w.slots[i].in = d.alloc(p9TestMsize, 8)
		w.free <- i
	}
	w.pr, w.pw = io.Pipe()
	go w.poll()
	t.Cleanup(func() { w.Close() })
	return w
}

// Write takes the client's bytes and submits every whole message.
func (w *p9Wire) Write(p []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.shut {
		return 0, io.ErrClosedPipe
	}
	w.acc = append(w.acc, p...)
	for len(w.acc) >= p9HeaderLen {
		size := int(binary.LittleEndian.Uint32(w.acc))
		if len(w.acc) < size {
			break
		}
		w.submit(w.acc[:size])
		w.acc = w.acc[size:]
	}
	return len(p), nil
}

func (w *p9Wire) submit(msg []byte) {
	slot := <-w.free
	s := w.slots[slot]
	q := w.d.queues[0]
	w.d.put(s.out, msg)
	head := uint16(2 * slot)
	w.d.writeDesc(q.desc, head, s.out, uint32(len(msg)), descFNext, head+1)
	w.d.writeDesc(q.desc, head+1, s.in, p9TestMsize, descFWrite, 0)
	w.subMu.Lock()
	w.d.publish(0, head)
	w.subMu.Unlock()
	w.d.kick(0)
}

// poll turns used entries into the client's reply stream.
func (w *p9Wire) poll() {
	defer close(w.done)
	q := w.d.queues[0]
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		if w.d.usedIdx(0) == q.lastUsed {
			time.Sleep(20 * time.Microsecond)
			continue
		}
		e := w.d.mem(q.used+4+8*uint64(q.lastUsed%q.size), 8)
		head, n := binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
		q.lastUsed++
		slot := int(head / 2)
		reply := bytes.Clone(w.d.mem(w.slots[slot].in, uint64(n)))
		w.free <- slot
		if _, err := w.pw.Write(reply); err != nil {
			return
		}
	}
}

func (w *p9Wire) Read(p []byte) (int, error) { return w.pr.Read(p) }

func (w *p9Wire) Close() error {
	w.wmu.Lock()
	w.shut = true
	w.wmu.Unlock()
	select {
	case <-w.stop:
	default:
		close(w.stop)
		w.pr.Close()
		<-w.done
	}
	return nil
}

func newTestShare(t *testing.T, dir string, ro bool) (*P9, p9.File) {
	t.Helper()
	dev, err := New9P(dir, "share", ro)
	if err != nil {
		t.Fatal(err)
	}
	w := newP9Wire(t, dev)
	c, err := p9.NewClient(w, p9.WithMessageSize(p9TestMsize))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	root, err := c.Attach("")
	if err != nil {
		t.Fatal(err)
	}
	return dev, root
}

func TestNew9PRejects(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	cases := []struct{ dir, tag string }{
		{dir, ""},
		{dir, string(make([]byte, 256))},
		{filepath.Join(dir, "missing"), "t"},
		{file, "t"},
	}
	for _, c := range cases {
		if d, err := New9P(c.dir, c.tag, false); err == nil {
			d.Close()
			t.Errorf("New9P(%q, %q) accepted", c.dir, c.tag)
		}
	}
}

func TestP9ConfigSpace(t *testing.T) {
	dev, err := New9P(t.TempDir(), "hostshare", false)
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDriver(t, dev)
	if d.deviceFeatures()&P9FMountTag == 0 {
		t.Fatal("MOUNT_TAG not offered")
	}
	if n := d.m.Read(regConfig, 2); n != 9 {
		t.Fatalf("tag_len %d", n)
	}
	var tag []byte
	for i := range 9 {
		tag = append(tag, byte(d.m.Read(regConfig+2+uint64(i), 1)))
	}
	if string(tag) != "hostshare" {
		t.Fatalf("tag %q", tag)
	}
}

// The operations a guest's shell does, over the virtqueue.
func TestP9SessionOverVirtqueue(t *testing.T) {
	share, _ := p9Tree(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // many messages' worth
	os.WriteFile(filepath.Join(share, "big"), big, 0o644)
	_, root := newTestShare(t, share, false)

	file, err := walk(t, root, "dir", "sub.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, file); got != "sub" {
		t.Fatalf("read %q", got)
	}
	bf, err := walk(t, root, "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bf.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(big))
	if n, err := bf.ReadAt(got, 0); n != len(big) || !bytes.Equal(got, big) {
		t.Fatalf("big read %d bytes, %v", n, err)
	}

	// Tlcreate turns the directory's fid into the new file's: use a clone.
	nf, err := walk(t, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := nf.Create("new.txt", p9.ReadWrite, 0o644, 0, 0); err != nil {
		t.Fatal(err)
	}
	if n, err := nf.WriteAt(big[:20000], 0); n != 20000 || err != nil {
		t.Fatalf("write %d, %v", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(share, "new.txt")); !bytes.Equal(b, big[:20000]) {
		t.Fatalf("new.txt holds %d bytes", len(b))
	}
	if _, err := root.Mkdir("made", 0o755, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Symlink("new.txt", "ln", 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := root.RenameAt("new.txt", root, "renamed.txt"); err != nil {
		t.Fatal(err)
	}
	if err := root.UnlinkAt("file.txt", 0); err != nil {
		t.Fatal(err)
	}
	ln, err := walk(t, root, "ln")
	if err != nil {
		t.Fatal(err)
	}
	if target, err := ln.Readlink(); target != "new.txt" || err != nil {
		t.Fatalf("readlink %q, %v", target, err)
	}

	dir, err := walk(t, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	var names []string
	for off := uint64(0); ; {
		ents, err := dir.Readdir(off, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			if e.Name != "." && e.Name != ".." {
				names = append(names, e.Name)
			}
			off = e.Offset
		}
	}
	sort.Strings(names)
	want := "abslink big dir dirlink ln made rellink renamed.txt"
	if got := fmt.Sprint(names); got != "["+want+"]" {
		t.Fatalf("readdir %v, want %s", names, want)
	}
	_, err = walk(t, root, "..")
	wantErrno(t, "walk ..", err, linux.EINVAL)
	_, err = walk(t, root, "dirlink", "secret.txt")
	if err == nil {
		t.Fatal("walk through symlink succeeded")
	}
}

func TestP9ReadOnlyOverVirtqueue(t *testing.T) {
	share, _ := p9Tree(t)
	_, root := newTestShare(t, share, true)
	_, _, _, err := root.Create("x", p9.ReadWrite, 0o644, 0, 0)
	wantErrno(t, "create", err, linux.EROFS)
	wantErrno(t, "unlink", root.UnlinkAt("file.txt", 0), linux.EROFS)
	f, _ := walk(t, root, "file.txt")
	_, _, err = f.Open(p9.ReadWrite)
	wantErrno(t, "open rw", err, linux.EROFS)
}

// Requests run concurrently and complete out of order.
func TestP9ConcurrentRequests(t *testing.T) {
	share := t.TempDir()
	for i := range 16 {
		os.WriteFile(filepath.Join(share, fmt.Sprint(i)), bytes.Repeat([]byte{byte(i)}, 5000), 0o644)
	}
	dev, root := newTestShare(t, share, false)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				_, f, err := root.Walk([]string{fmt.Sprint(i)})
				if err != nil {
					errs <- err
					return
				}
				if _, _, err := f.Open(p9.ReadOnly); err != nil {
					errs <- err
					return
				}
				b := make([]byte, 5000)
				if n, err := f.ReadAt(b, 0); n != 5000 || !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, 5000)) {
					errs <- fmt.Errorf("file %d: read %d, %v", i, n, err)
				}
				f.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := dev.Stats(); s.Requests < 16*10*4 || s.Rejected != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// p9Msg builds a raw message.
func p9Msg(typ byte, tag uint16, body ...[]byte) []byte {
	b := make([]byte, p9HeaderLen)
	b[4] = typ
	binary.LittleEndian.PutUint16(b[5:], tag)
	for _, p := range body {
		b = append(b, p...)
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func p9Str(s string) []byte {
	return append(binary.LittleEndian.AppendUint16(nil, uint16(len(s))), s...)
}

// p9Call sends one raw request and returns the reply the device wrote.
func p9Call(d *testDriver, msg []byte) []byte {
	d.t.Helper()
	r, n := d.call(0, false, out(msg), in(p9TestMsize))
	return d.written(r, 1)[:n]
}

func wantLerror(t *testing.T, what string, reply []byte, tag uint16, errno linux.Errno) {
	t.Helper()
	if !bytes.Equal(reply, p9Lerror(tag, errno)) {
		t.Errorf("%s: reply %x, want Rlerror(%v) tag %d", what, reply, errno, tag)
	}
}

// Malformed requests are answered one by one without disturbing the
// session.
func TestP9MalformedRequests(t *testing.T) {
	dev, err := New9P(t.TempDir(), "share", false)
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDriverRAM(t, dev, newTestRAM(t, 8<<20))
	d.start(FeatureVersion1|P9FMountTag, 128)

	version := p9Call(d, p9Msg(p9Tversion, p9NoTag, le32(p9TestMsize), p9Str("9P2000.L")))
	if version[4] != p9Rversion || binary.LittleEndian.Uint32(version[7:]) != p9TestMsize {
		t.Fatalf("version reply %x", version)
	}
	tooBig := p9Msg(116, 9, make([]byte, p9TestMsize))
	badSize := p9Msg(120, 3, le32(1))
	binary.LittleEndian.PutUint32(badSize, 1000)
	cases := []struct {
		name string
		msg  []byte
		tag  uint16
		want linux.Errno
	}{
		{"size beyond the buffer", badSize, 3, linux.EINVAL},
		{"unknown type", p9Msg(200, 4), 4, linux.ENOSYS},
		{"R-message as request", p9Msg(117, 5, le32(3), []byte("abc")), 5, linux.ENOSYS},
		{"Twrite count past the data", p9Msg(p9Twrite, 6, le32(1), le64(0), le32(10), []byte("abc")), 6, linux.EINVAL},
		{"Twalk name past the end", p9Msg(110, 7, le32(1), le32(2), []byte{1, 0}, []byte{50, 0}, []byte("ab")), 7, linux.EINVAL},
		{"Tclunk without fid", p9Msg(120, 8, []byte{1}), 8, linux.EINVAL},
		{"larger than msize", tooBig, 9, linux.EMSGSIZE},
		{"Tgetlock", p9Msg(54, 10, le32(1), []byte{0}, le64(0), le64(0), le32(0), p9Str("c")), 10, linux.ENOSYS},
	}
	for _, c := range cases {
		if c.name == "larger than msize" {
			r, n := d.call(0, false, out(c.msg), in(64))
			wantLerror(t, c.name, d.written(r, 1)[:n], c.tag, c.want)
			continue
		}
		wantLerror(t, c.name, p9Call(d, c.msg), c.tag, c.want)
	}
	// No header at all: nothing to answer, the buffer is just returned.
	if _, n := d.call(0, false, out([]byte{1, 2}), in(64)); n != 0 {
		t.Fatalf("headerless request wrote %d bytes", n)
	}
	// The session survived: a valid request reaches the server (which
	// knows no fid 1).
	wantLerror(t, "clunk unknown fid", p9Call(d, p9Msg(120, 11, le32(1))), 11, linux.EBADF)
	if s := dev.Stats(); s.Rejected != uint64(len(cases))+1 {
		t.Fatalf("stats %+v", s)
	}
}

// A device reset ends the session: fids from before are gone.
func TestP9ResetEndsSession(t *testing.T) {
	share, _ := p9Tree(t)
	dev, err := New9P(share, "share", false)
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDriverRAM(t, dev, newTestRAM(t, 8<<20))
	attach := func() {
		d.start(FeatureVersion1|P9FMountTag, 128)
		p9Call(d, p9Msg(p9Tversion, p9NoTag, le32(p9TestMsize), p9Str("9P2000.L")))
		r := p9Call(d, p9Msg(104, 1, le32(1), le32(p9NoFID), p9Str("root"), p9Str(""), le32(0)))
		if r[4] != 105 {
			t.Fatalf("attach reply %x", r)
		}
	}
	attach()
	d.queues = nil
	attach() // d.start resets the device first; fid 1 is free again
	if r := p9Call(d, p9Msg(120, 2, le32(1))); r[4] != 121 {
		t.Fatalf("clunk reply %x", r)
	}
	wantLerror(t, "clunk again", p9Call(d, p9Msg(120, 3, le32(1))), 3, linux.EBADF)
}

// Requests in flight at a snapshot are answered after restore: with the
// saved reply, or EIO if the server had not answered.
func TestP9RestoreAnswersPending(t *testing.T) {
	share := t.TempDir()
	dev, err := New9P(share, "share", false)
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDriver(t, dev)
	d.start(FeatureVersion1|P9FMountTag, 128)
	d.m.Quiesce()
	// Two requests the device had popped but not completed when saved.
	a := d.submit(0, false, out(p9Msg(120, 21, le32(1))), in(64))
	b := d.submit(0, false, out(p9Msg(120, 22, le32(1))), in(64))
	st := d.m.SaveState()
	st.Queues[0].LastAvail += 2
	saved := p9Msg(121, 22)
	blob, _ := encodeState(P9State{Tag: "share", Pending: []P9PendingRequest{
		{Head: a.head, Tag: 21, Writable: []Segment{{Addr: a.addrs[1], Len: 64, Write: true}}},
		{Head: b.head, Tag: 22, Writable: []Segment{{Addr: b.addrs[1], Len: 64, Write: true}}, Reply: saved},
	}})
	st.Device = blob

	ram2 := newTestRAM(t, d.ram.Size())
	copy(ram2.Bytes(), d.ram.Bytes())
	dev2, err := New9P(share, "share", false)
	if err != nil {
		t.Fatal(err)
	}
	d2 := newTestDriverRAM(t, dev2, ram2)
	d2.queues, d2.next = d.queues, d.next
	if err := d2.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	used := d2.waitUsed(0, 2)
	got := map[uint32][]byte{}
	for _, u := range used {
		r := a
		if u[0] == uint32(b.head) {
			r = b
		}
		got[u[0]] = d2.written(r, 1)[:u[1]]
	}
	wantLerror(t, "unanswered request", got[uint32(a.head)], 21, linux.EIO)
	if !bytes.Equal(got[uint32(b.head)], saved) {
		t.Fatalf("answered request got %x, want %x", got[uint32(b.head)], saved)
	}

	// A snapshot pointing outside RAM is refused when the device starts.
	bad, _ := encodeState(P9State{Tag: "share", Pending: []P9PendingRequest{{Head: 0, Tag: 1, Writable: []Segment{{Addr: 1 << 40, Len: 64, Write: true}}}}})
	st.Device = bad
	dev3, _ := New9P(share, "share", false)
	d3 := newTestDriverRAM(t, dev3, newTestRAM(t, d.ram.Size()))
	if err := d3.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if d3.reg(regStatus)&StatusDeviceNeedsReset == 0 {
		t.Fatal("bad pending request accepted")
	}
	other, _ := New9P(share, "other", false)
	defer other.Close()
	if err := other.UnmarshalState(blob); err == nil {
		t.Fatal("state of another share accepted")
	}
}

func TestP9StateRoundTrip(t *testing.T) {
	dev, err := New9P(t.TempDir(), "share", true)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	s := P9State{Tag: "share", ReadOnly: true, Pending: []P9PendingRequest{{Head: 3, Tag: 9, Writable: []Segment{{Addr: testRAMBase, Len: 16, Write: true}}}}}
	if err := dev.RestoreState(s); err != nil {
		t.Fatal(err)
	}
	blob, err := dev.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	var back P9State
	if err := decodeState(blob, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Pending) != 1 || back.Pending[0].Tag != 9 || back.Pending[0].Writable[0].Len != 16 {
		t.Fatalf("round trip %+v", back)
	}
	if err := dev.RestoreState(P9State{Tag: "share"}); err == nil {
		t.Fatal("read-write state accepted by a read-only share")
	}
}
