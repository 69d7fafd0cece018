package vmm

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streamConn feeds a recorded or crafted stream to a receiver and
// swallows its answers.
type streamConn struct{ r io.Reader }

func (c *streamConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *streamConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *streamConn) Close() error                { return nil }

// crafted builds a stream: the preamble, a hello for cfg, then frames.
type crafted struct {
	buf bytes.Buffer
	fw  *frameWriter
}

func newCrafted(t testing.TB, cfg *Config) *crafted {
	c := &crafted{}
	c.fw = newFrameWriter(&c.buf, false)
	writePreamble(c.fw.w)
	if cfg != nil {
		c2 := cfg.Clone()
		c2.ApplyDefaults()
		mem, _ := c2.MemoryBytes()
		h := migHello{Name: c2.Name, Config: c2, Harts: c2.VCPUs, MemSize: mem, StateVersion: 1, Slots: slotTypes(c2)}
		d, err := describeDrives(c2)
		if err != nil {
			panic(err) // the test's own files
		}
		h.Drives = d
		c.fw.writeJSON(frameHello, h)
	}
	return c
}

func (c *crafted) frame(t frameType, payload []byte) *crafted {
	c.fw.write(t, payload, false)
	return c
}

func (c *crafted) bytes() []byte {
	c.fw.flush()
	return c.buf.Bytes()
}

func pagesPayload(idx ...uint64) []byte {
	return encodePages(nil, idx, make([]byte, (idx[len(idx)-1]+1)*pageBytes), false)
}

func diskPayload(drive uint32, off uint64, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, drive)
	b = binary.LittleEndian.AppendUint64(b, off)
	return append(b, data...)
}

// TestMigrationReceiverRejects feeds the receiver malformed and hostile
// streams: each is refused with a clear error, and nothing is left.
func TestMigrationReceiverRejects(t *testing.T) {
	m := newTestManager(t, Options{})
	dir := t.TempDir()
	img := filepath.Join(dir, "d.img")
	os.WriteFile(img, make([]byte, 1<<16), 0o644)
	cfg := bareConfig("h", writeGuest(t, dir, "echo", echo))
	cfg.Drives = []DriveConfig{{File: img}}
	hdr := func() *crafted { return newCrafted(t, cfg) }
	flip := func(b []byte, at int) []byte { b = bytes.Clone(b); b[at] ^= 1; return b }
	good := hdr().frame(framePages, pagesPayload(3)).bytes()
	bigRAM := cfg.Clone()
	bigRAM.ApplyDefaults()
	bigRAM.VCPUs = 2
	for _, c := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"empty", nil, "preamble"},
		{"bad magic", append([]byte("NOTPOPEK"), make([]byte, 8)...), "not a popek migration stream"},
		{"other version", func() []byte { b := hdr().bytes(); b[8] = 9; return b }(), "version 9"},
		{"no hello", newCrafted(t, nil).frame(framePages, pagesPayload(1)).bytes(), "starts with a pages frame"},
		{"hello is not JSON", newCrafted(t, nil).frame(frameHello, []byte("{")).bytes(), "hello frame"},
		{"shape mismatch", func() []byte {
			c := newCrafted(t, nil)
			h := migHello{Name: "h", Config: bigRAM, Harts: 1, MemSize: 16 << 20, StateVersion: 1}
			c.fw.writeJSON(frameHello, h)
			return c.bytes()
		}(), "is not its config's"},
		{"checksum", flip(good, len(good)-10), "checksum mismatch"},
		{"unknown type", func() []byte { b := bytes.Clone(good); b[len(b)-(migHeader+4+8+pageBytes)] = 99; return b }(), "unknown frame type 99"},
		{"huge frame", func() []byte {
			b := bytes.Clone(good)
			at := len(b) - (migHeader + 4 + 8 + pageBytes)
			binary.LittleEndian.PutUint32(b[at+8:], 1<<31)
			binary.LittleEndian.PutUint32(b[at+12:], 1<<31)
			return b
		}(), "exceeds"},
		{"replayed frame", func() []byte {
			b := hdr().frame(framePages, pagesPayload(1)).bytes()
			last := b[len(b)-(migHeader+4+8+pageBytes):]
			return append(b, last...)
		}(), "frame number 1 where 2 was due"},
		{"page outside RAM", hdr().frame(framePages, encodePages(nil, []uint64{4096}, make([]byte, 4097*pageBytes), false)).bytes(), "outside the guest's 4096 pages"},
		{"short page frame", hdr().frame(framePages, pagesPayload(1)[:100]).bytes(), "bytes for 1 pages"},
		{"too many pages", hdr().frame(frameZero, binary.LittleEndian.AppendUint32(nil, 1<<30)).bytes(), "with 1073741824 pages"},
		{"disk before state", hdr().frame(frameDisk, diskPayload(0, 0, []byte("x"))).bytes(), "unexpected disk frame"},
		{"disk outside its size", hdr().frame(frameState, []byte("s")).frame(frameDiskBegin, []byte(`{"drive":0,"size":4096}`)).
			frame(frameDisk, diskPayload(0, 4090, make([]byte, 10))).bytes(), "outside drive 0's 4096 bytes"},
		{"disk offset overflow", hdr().frame(frameState, []byte("s")).frame(frameDiskBegin, []byte(`{"drive":0,"size":4096}`)).
			frame(frameDisk, diskPayload(0, ^uint64(0)-2, make([]byte, 10))).bytes(), "outside drive 0's"},
		{"disk of another drive", hdr().frame(frameState, []byte("s")).frame(frameDiskBegin, []byte(`{"drive":5,"size":1}`)).bytes(), "drive 5, which is not streamed"},
		{"pages after state", hdr().frame(frameState, []byte("s")).frame(framePages, pagesPayload(1)).bytes(), "unexpected pages frame"},
		{"totals differ", hdr().frame(framePages, pagesPayload(1)).frame(frameState, []byte("s")).frame(frameDiskBegin, []byte(`{"drive":0,"size":1}`)).
			frame(frameDone, []byte(`{"pages":7}`)).bytes(), "arrived"},
		{"garbage state", hdr().frame(frameState, []byte("not gob")).frame(frameDiskBegin, []byte(`{"drive":0,"size":1}`)).
			frame(frameDone, []byte(`{"state_bytes":7}`)).bytes(), "machine state"},
		{"cut", good[:len(good)-100], "cut inside a pages frame"},
		{"ends early", good, "closed the connection before the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.ReceiveMigration(context.Background(), &streamConn{r: bytes.NewReader(c.stream)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			assertNothingReceived(t, m, "h")
		})
	}
}

func assertNothingReceived(t *testing.T, m *Manager, name string) {
	t.Helper()
	if l := m.List(); len(l) != 0 {
		t.Errorf("the target has VMs: %v", l)
	}
	if err := m.CheckIncoming(name); err != nil {
		t.Errorf("the name is still reserved: %v", err)
	}
	if _, err := os.Stat(m.vmDisks(name)); !os.IsNotExist(err) {
		t.Errorf("files left: %v", err)
	}
}

// FuzzMigrationReceiver feeds arbitrary streams, seeded with a real one,
// to a target manager: it must refuse cleanly or receive a VM, never
// panic, and leave nothing behind after a refusal.
func FuzzMigrationReceiver(f *testing.F) {
	src := newTestManager(f, Options{})
	dst := newTestManager(f, Options{})
	dir := f.TempDir()
	img := filepath.Join(dir, "d.img")
	os.WriteFile(img, append([]byte("disk"), make([]byte, 1<<16)...), 0o644)
	cfg := bareConfig("fz", writeGuest(f, dir, "echo", echo))
	cfg.Drives = []DriveConfig{{File: img}}
	if _, err := src.Create(cfg); err != nil {
		f.Fatal(err)
	}
	if _, err := src.Start("fz"); err != nil {
		f.Fatal(err)
	}
	stream := recordStream(f, src, dst, "fz")
	if err := dst.Delete("fz", true); err != nil {
		f.Fatal(err)
	}
	f.Add(stream)
	f.Add(stream[:len(stream)/2])
	f.Add(bytes.Clone(stream[:200]))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := dst.ReceiveMigration(context.Background(), &streamConn{r: bytes.NewReader(data)})
		if err == nil {
			for _, in := range dst.List() {
				if err := dst.Delete(in.Name, true); err != nil {
					t.Fatal(err)
				}
			}
			return
		}
		if l := dst.List(); len(l) != 0 {
			t.Fatalf("refused (%v) but kept %v", err, l)
		}
		if err := dst.CheckIncoming("fz"); err != nil {
			t.Fatalf("refused (%v) but the name stays reserved: %v", err, err)
		}
	})
}

// FuzzMigrationFrames gets past the checksums: after a valid hello, the
// input is cut into frames (a type byte, a 16-bit length, the payload)
// that the harness frames and checksums, so the fuzzer explores the
// decoders of pages, state, disks and totals behind them.
func FuzzMigrationFrames(f *testing.F) {
	dst := newTestManager(f, Options{})
	dir := f.TempDir()
	img := filepath.Join(dir, "d.img")
	os.WriteFile(img, make([]byte, 1<<16), 0o644)
	cfg := bareConfig("ff", writeGuest(f, dir, "echo", echo))
	cfg.Drives = []DriveConfig{{File: img}}
	seed := func(frames ...[]byte) []byte {
		var b []byte
		for _, fr := range frames {
			b = append(b, fr[0])
			b = binary.LittleEndian.AppendUint16(b, uint16(len(fr)-1))
			b = append(b, fr[1:]...)
		}
		return b
	}
	with := func(t frameType, p []byte) []byte { return append([]byte{byte(t)}, p...) }
	f.Add(seed(with(framePages, pagesPayload(2)), with(frameZero, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1), 0)[:12])))
	f.Add(seed(with(frameState, []byte("x")), with(frameDiskBegin, []byte(`{"drive":0,"size":100}`)), with(frameDisk, diskPayload(0, 50, []byte("abc"))),
		with(frameDone, []byte(`{"state_bytes":1,"disk_bytes":3}`))))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCrafted(nil, cfg)
		for len(data) >= 3 {
			typ, n := frameType(data[0]), int(binary.LittleEndian.Uint16(data[1:]))
			data = data[3:]
			n = min(n, len(data))
			c.frame(typ, data[:n])
			data = data[n:]
		}
		_, err := dst.ReceiveMigration(context.Background(), &streamConn{r: bytes.NewReader(c.bytes())})
		if err == nil { // a valid machine state: unlikely, but not wrong
			if err := dst.Delete("ff", true); err != nil {
				t.Fatal(err)
			}
			return
		}
		if l := dst.List(); len(l) != 0 {
			t.Fatalf("refused (%v) but kept %v", err, l)
		}
		if err := dst.CheckIncoming("ff"); err != nil {
			t.Fatalf("refused but the name stays reserved: %v", err)
		}
	})
}
