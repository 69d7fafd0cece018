package virtio

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
)

// FuzzP9Request checks the device's request triage against the 9P server
// itself: every message the device forwards must be answered under its own
// tag (a NOTAG reply could not be matched to the chain, which would then
// hang), and every message the device rejects as malformed must be one the
// server could not decode either, so a well-formed request from a real
// client is never refused.
func FuzzP9Request(f *testing.F) {
	seeds := []struct {
		typ  byte
		body []byte
	}{
		{p9Tversion, cat(le32(8192), p9Str("9P2000.L"))},
		{104, cat(le32(1), le32(p9NoFID), p9Str("root"), p9Str(""), le32(0))},
		{110, cat(le32(1), le32(2), []byte{2, 0}, p9Str("a"), p9Str("b"))},
		{110, cat(le32(1), le32(2), []byte{2, 0}, p9Str("a"))},
		{p9Twrite, cat(le32(1), le64(0), le32(3), []byte("abc"))},
		{p9Twrite, cat(le32(1), le64(0), le32(4), []byte("abc"))},
		{26, make([]byte, 60)},
		{26, make([]byte, 59)},
		{52, cat(le32(1), []byte{1}, le32(0), le64(0), le64(0), le32(0), p9Str("host"))},
		{p9Tflush, []byte{1, 0}},
		{p9Tflush, []byte{7, 0}},
		{117, cat(le32(3), []byte("abc"))},
		{14, cat(le32(1), p9Str("new"), le32(2), le32(0o644), le32(0))},
	}
	for _, s := range seeds {
		f.Add(s.typ, s.body)
	}
	root, err := openP9Root(f.TempDir(), false)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { root.close() })
	f.Fuzz(func(t *testing.T, typ byte, body []byte) {
		if len(body) > 1<<16 {
			return
		}
		const tag = 1
		msg := p9Msg(typ, tag, body)
		verdict := p9Check(msg)
		if typ == p9Tflush && verdict == 0 && binary.LittleEndian.Uint16(body) == tag {
			return // the device answers a self-flush itself
		}
		reply := p9ServerReply(t, root, msg)
		got := binary.LittleEndian.Uint16(reply[5:])
		switch {
		case verdict == 0 && got != tag:
			t.Fatalf("forwarded %x answered under tag %#x: %x", msg, got, reply)
		case verdict == linux.EINVAL && got != p9NoTag:
			t.Fatalf("rejected %x, which the server decodes: %x", msg, reply)
		}
	})
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// p9ServerReply runs msg through a fresh server session.
func p9ServerReply(t *testing.T, root *p9Root, msg []byte) []byte {
	t.Helper()
	replies := make(chan []byte, 4)
	c := newP9Conn(func(m []byte) { replies <- m })
	done := make(chan struct{})
	go func() {
		p9.NewServer(root).Handle(c, c)
		close(done)
	}()
	defer func() {
		c.Close()
		<-done
	}()
	c.push(msg)
	select {
	case r := <-replies:
		return r
	case <-time.After(10 * time.Second): // only guards against a hang
		t.Fatalf("no reply to %x", msg)
		return nil
	}
}

// Unit cases of the same property, so plain go test checks it too.
func TestP9CheckMatchesServer(t *testing.T) {
	root, err := openP9Root(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer root.close()
	cases := []struct {
		name string
		typ  byte
		body []byte
		want linux.Errno
	}{
		{"Tversion", p9Tversion, cat(le32(8192), p9Str("9P2000.L")), 0},
		{"Tversion cut", p9Tversion, cat(le32(8192), []byte{9, 0}, []byte("9P")), linux.EINVAL},
		{"Twalk", 110, cat(le32(1), le32(2), []byte{1, 0}, p9Str("a")), 0},
		{"Twalk missing name", 110, cat(le32(1), le32(2), []byte{2, 0}, p9Str("a")), linux.EINVAL},
		{"Twrite", p9Twrite, cat(le32(1), le64(0), le32(3), []byte("abc")), 0},
		{"Twrite short", p9Twrite, cat(le32(1), le64(0), le32(4), []byte("abc")), linux.EINVAL},
		{"Twrite long", p9Twrite, cat(le32(1), le64(0), le32(2), []byte("abc")), linux.EINVAL},
		{"Twrite header only", p9Twrite, le32(1), linux.EINVAL},
		{"Tsetattr", 26, make([]byte, 60), 0},
		{"Tsetattr short", 26, make([]byte, 59), linux.EINVAL},
		{"Tfsync with datasync", 50, cat(le32(1), le32(1)), 0},
		{"Tlock", 52, cat(le32(1), []byte{1}, le32(0), le64(0), le64(0), le32(0), p9Str("host")), 0},
		{"Tlock no client", 52, cat(le32(1), []byte{1}, le32(0), le64(0), le64(0), le32(0)), linux.EINVAL},
		{"Tflush other", p9Tflush, []byte{7, 0}, 0},
	}
	for _, c := range cases {
		msg := p9Msg(c.typ, 1, c.body)
		if got := p9Check(msg); got != c.want {
			t.Errorf("%s: verdict %v, want %v", c.name, got, c.want)
			continue
		}
		reply := p9ServerReply(t, root, msg)
		tag := binary.LittleEndian.Uint16(reply[5:])
		if (c.want == 0) != (tag == 1) {
			t.Errorf("%s: server replied under tag %#x: %x", c.name, tag, reply)
		}
	}
}

// FuzzP9FidTracker runs random request sequences through the fid tracker,
// with successful, failed and garbage replies: it never panics, stays
// within its bounds, and what it holds is always a state a restore
// accepts. Raw fuzz bytes are also parsed as a request and a reply.
func FuzzP9FidTracker(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 1, 1, 1, 2, 0, 1, 6, 2, 3, 1, 1})
	f.Add([]byte{0, 1, 0, 0, 1, 1, 1, 2, 1, 1, 1, 2, 3, 2, 1, 7, 1, 1, 0, 1, 8, 2, 0, 0, 1})
	f.Add(p9Msg(p9Twalk, 1, le32(1), le32(2), p9Names([]string{"a", "b"})))
	names := []string{"a", "b", "c", "..", "", "a/b", strings.Repeat("n", 300)}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab := newP9Fids()
		tab.maxFids, tab.maxBytes = 6, 6*(p9FidOverhead+8)+300
		if op := p9ParseFidOp(data); op != nil {
			tab.apply(op, data)
		}
		for len(data) >= 5 {
			kind, fid, newfid, name, how := data[0]%12, uint32(data[1]%8), uint32(data[2]%8), names[int(data[3])%len(names)], data[4]
			data = data[5:]
			var s p9Step
			switch kind {
			case 0:
				s = stAttach(fid, name)
			case 1:
				s = stWalk(fid, newfid, strings.Split(name, "/")...)
			case 2:
				s = stWalk(fid, newfid)
			case 3:
				s = stOpen(fid, uint32(how))
			case 4:
				s = stCreate(fid, name, uint32(how))
			case 5:
				s = stClunk(fid)
			case 6:
				s = stRemove(fid)
			case 7:
				s = stRenameat(fid, name, newfid, names[int(how)%len(names)])
			case 8:
				s = stRename(fid, newfid, name)
			case 9:
				s = stUnlink(fid, name)
			case 10:
				s = stXattrwalk(fid, newfid)
			default:
				s = stVersion(name)
			}
			switch how % 4 {
			case 1:
				s = failed(s)
			case 2:
				s.reply = s.reply[:len(s.reply)/2] // cut short
			}
			if op := p9ParseFidOp(s.req); op != nil {
				tab.apply(op, s.reply)
			}
			checkP9FidTable(t, tab)
		}
	})
}
