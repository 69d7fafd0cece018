package vmm

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// RV64 instruction encoders for the test guests below.
func rType(f7, rs2, rs1, f3, rd, op uint32) uint32 {
	return f7<<25 | rs2<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}
func iType(imm int32, rs1, f3, rd, op uint32) uint32 {
	return uint32(imm)<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}
func sType(imm int32, rs2, rs1, f3 uint32) uint32 {
	u := uint32(imm)
	return (u>>5&0x7f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u&0x1f)<<7 | 0x23
}
func bType(off int32, rs2, rs1, f3 uint32) uint32 {
	u := uint32(off)
	return (u>>12&1)<<31 | (u>>5&0x3f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u>>1&0xf)<<8 | (u>>11&1)<<7 | 0x63
}
func uType(imm20, rd, op uint32) uint32 { return imm20<<12 | rd<<7 | op }

const (
	rZero, rT0, rT1, rT2, rS0, rS1, rA0, rS2, rT3 = 0, 5, 6, 7, 8, 9, 10, 18, 28
)

func addi(rd, rs1 uint32, imm int32) uint32 { return iType(imm, rs1, 0, rd, 0x13) }
func slli(rd, rs1 uint32, sh int32) uint32  { return iType(sh, rs1, 1, rd, 0x13) }
func srli(rd, rs1 uint32, sh int32) uint32  { return iType(sh, rs1, 5, rd, 0x13) }
func add(rd, rs1, rs2 uint32) uint32        { return rType(0, rs2, rs1, 0, rd, 0x33) }
func xor(rd, rs1, rs2 uint32) uint32        { return rType(0, rs2, rs1, 4, rd, 0x33) }
func ld(rd, rs1 uint32, off int32) uint32   { return iType(off, rs1, 3, rd, 0x03) }
func sd(rs2, rs1 uint32, off int32) uint32  { return sType(off, rs2, rs1, 3) }
func sb(rs2, rs1 uint32, off int32) uint32  { return sType(off, rs2, rs1, 0) }
func sw(rs2, rs1 uint32, off int32) uint32  { return sType(off, rs2, rs1, 2) }
func bne(rs1, rs2 uint32, off int32) uint32 { return bType(off, rs2, rs1, 1) }
func blt(rs1, rs2 uint32, off int32) uint32 { return bType(off, rs2, rs1, 4) }
func lui(rd, imm20 uint32) uint32           { return uType(imm20, rd, 0x37) }
func auipc(rd, imm20 uint32) uint32         { return uType(imm20, rd, 0x17) }
func jal0(off int32) uint32 {
	return uint32(0x6f) | (uint32(off)>>20&1)<<31 | (uint32(off)>>1&0x3ff)<<21 | (uint32(off)>>11&1)<<20 | (uint32(off)>>12&0xff)<<12
}

// churnGuest is a bare-metal program that rewrites pages words of memory
// (one per 4 KiB page, from 1 MiB above its code) outer times, folding
// every value into a running hash, then prints the hash as "S" and 16 hex
// digits on the UART and powers off. It reads no clock: its output
// depends only on the instructions it executes, so a migrated run must
// print what an uninterrupted one prints.
func churnGuest(outer, pages int32) []uint32 {
	hi := (outer + 0x800) >> 12 // addi sign-extends its 12 bits
	p := []uint32{
		auipc(rS0, 0x100),                      // s0 = buffer
		lui(rS1, uint32(hi)),                   // s1 = outer
		addi(rS1, rS1, outer-hi<<12),           //
		addi(rS2, rZero, 1),                    // s2 = hash
		addi(rT0, rS0, 0),                      // outer: t0 = buffer
		addi(rT1, rZero, pages),                // t1 = pages
		ld(rT2, rT0, 0),                        // inner: t2 = *t0
		add(rT2, rT2, rS2),                     // t2 += hash
		sd(rT2, rT0, 0),                        // *t0 = t2
		slli(rT3, rS2, 13), xor(rS2, rS2, rT3), // xorshift
		srli(rT3, rS2, 7), xor(rS2, rS2, rT3),
		slli(rT3, rS2, 17), xor(rS2, rS2, rT3),
		add(rS2, rS2, rT2),
		lui(rT3, 1),            // t3 = 4096
		add(rT0, rT0, rT3),     // next page
		addi(rT1, rT1, -1),     //
		bne(rT1, rZero, -4*13), // to inner
		addi(rS1, rS1, -1),     //
		bne(rS1, rZero, -4*17), // to outer
		lui(rA0, 0x10000),      // a0 = UART
		addi(rT2, rZero, 'S'),
		sb(rT2, rA0, 0),
		addi(rT1, rZero, 16), // 16 digits
		srli(rT2, rS2, 60),   // print:
		addi(rT3, rZero, 10),
		blt(rT2, rT3, 8),
		addi(rT2, rT2, 'a'-10-'0'),
		addi(rT2, rT2, '0'), // digit:
		sb(rT2, rA0, 0),
		slli(rS2, rS2, 4),
		addi(rT1, rT1, -1),
		bne(rT1, rZero, -4*8), // to print
		addi(rT2, rZero, '\n'),
		sb(rT2, rA0, 0),
		lui(rT0, 0x100), // SiFive test device: pass
		lui(rT1, 0x5),
		addi(rT1, rT1, 0x555),
		sw(rT1, rT0, 0),
		jal0(0),
	}
	return p
}

// checkPrecopyRounds checks that pre-copy followed its stopping rule: a
// full round 1, then dirty rounds that went on exactly while the dirty
// set stayed large and shrank. How many rounds that takes depends on how
// fast the guest runs against the copy, so the count itself is not fixed.
func checkPrecopyRounds(t *testing.T, res MigrationResult) {
	t.Helper()
	r := res.Rounds
	if len(r) < 2 || len(r) != res.PrecopyRounds || len(r) > migMaxRounds {
		t.Fatalf("%d pre-copy rounds %+v: want a full round and at least one dirty round, at most %d", res.PrecopyRounds, r, migMaxRounds)
	}
	prev := ^uint64(0)
	for i, x := range r {
		if x.Round != i+1 {
			t.Errorf("round %d numbered %d", i+1, x.Round)
		}
		if i == 0 {
			continue
		}
		if done, last := precopyDone(x.Round, x.Pages, prev), i == len(r)-1; done != last {
			t.Errorf("round %d (%d pages after %d): stopping rule says done=%v, but it was the last round: %v", x.Round, x.Pages, prev, done, last)
		}
		prev = x.Pages
	}
}

func TestPrecopyDone(t *testing.T) {
	for _, c := range []struct {
		round   int
		k, prev uint64
		want    bool
	}{
		{2, 5000, ^uint64(0), false},
		{2, migSmallDirty, ^uint64(0), true},
		{3, 4000, 5000, false},
		{3, 5000, 5000, true},
		{3, 6000, 5000, true},
		{migMaxRounds, 4000, 5000, true},
	} {
		if got := precopyDone(c.round, c.k, c.prev); got != c.want {
			t.Errorf("precopyDone(%d, %d, %d) = %v, want %v", c.round, c.k, c.prev, got, c.want)
		}
	}
}

// migratePipe migrates name from src to dst over an in-memory pipe; wrap,
// when set, sits between the source and the pipe.
func migratePipe(t testing.TB, src, dst *Manager, name string, o MigrateOptions, wrap func(io.ReadWriteCloser) io.ReadWriteCloser) (MigrationResult, VMInfo, error, error) {
	t.Helper()
	return migratePipeWrapped(t, src, dst, name, o, wrap, nil)
}

// migratePipeWrapped is migratePipe with wrappers on both ends.
func migratePipeWrapped(t testing.TB, src, dst *Manager, name string, o MigrateOptions, wrapSrc, wrapDst func(io.ReadWriteCloser) io.ReadWriteCloser) (MigrationResult, VMInfo, error, error) {
	t.Helper()
	a, b := net.Pipe()
	var conn, tconn io.ReadWriteCloser = a, b
	if wrapSrc != nil {
		conn = wrapSrc(a)
	}
	if wrapDst != nil {
		tconn = wrapDst(b)
	}
	var wg sync.WaitGroup
	var info VMInfo
	var rerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		info, rerr = dst.ReceiveMigration(context.Background(), tconn)
	}()
	res, err := src.Migrate(context.Background(), name, conn, o)
	wg.Wait()
	return res, info, err, rerr
}

var checksumLine = regexp.MustCompile(`S[0-9a-f]{16}\n`)

// waitChecksum waits for the churn guest's line on a VM's console.
func waitChecksum(t *testing.T, m *Manager, name string) string {
	t.Helper()
	end := waitConsole(t, m, name, 0, "\n")
	cs, _ := m.Console(name)
	buf := make([]byte, end)
	n, _, _, _ := cs.ReadAt(t.Context(), buf, 0)
	line := checksumLine.FindString(string(buf[:n]))
	if line == "" {
		t.Fatalf("%s printed %q, not a checksum line", name, buf[:n])
	}
	return line
}

// TestMigrateBareMetal migrates a guest that keeps rewriting memory while
// pre-copy runs, with a sparse writable disk and a read-only one: several
// rounds happen, the guest's final checksum equals that of an uninterrupted
// run of the same program, the disk arrives in the target's state
// directory, and the VM is gone from the source.
func TestMigrateBareMetal(t *testing.T) {
	src := newTestManager(t, Options{})
	dst := newTestManager(t, Options{})
	dir := t.TempDir()
	kernel := writeGuest(t, dir, "churn", churnGuest(30000, 1024))
	img := filepath.Join(dir, "disk.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("tail"), 8<<20-4)
	f.Close()
	ro := filepath.Join(dir, "ro.img")
	os.WriteFile(ro, bytes.Repeat([]byte("r"), 1<<16), 0o644)

	ref := bareConfig("ref", kernel)
	mover := bareConfig("mover", kernel)
	mover.Drives = []DriveConfig{{File: img}, {File: ro, ReadOnly: true}}
	for _, c := range []*Config{ref, mover} {
		if _, err := src.Create(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"ref", "mover"} {
		if _, err := src.Start(n); err != nil {
			t.Fatal(err)
		}
	}
	res, info, err, rerr := migratePipe(t, src, dst, "mover", MigrateOptions{Target: "dst", Compress: true}, nil)
	if err != nil || rerr != nil {
		t.Fatalf("migrate: %v; target: %v", err, rerr)
	}
	t.Logf("%d pre-copy rounds %+v, %d final pages, %d bytes, downtime %.2f ms, total %.1f ms",
		res.PrecopyRounds, res.Rounds, res.FinalPages, res.BytesSent, res.DowntimeSeconds*1000, res.TotalSeconds*1000)
	checkPrecopyRounds(t, res)
	if res.State != StateRunning || info.State != StateRunning || res.DowntimeSeconds <= 0 || res.TotalSeconds < res.DowntimeSeconds || res.BytesSent == 0 || res.StateBytes == 0 {
		t.Errorf("result %+v, target VM %+v", res, info)
	}
	if res.DiskBytes == 0 || res.DiskBytes > 2*zeroBlock {
		t.Errorf("disk bytes sent %d of an 8 MiB image: want at most the two non-zero 64 KiB blocks", res.DiskBytes)
	}
	if _, err := src.Get("mover"); KindOf(err) != KindNotFound {
		t.Errorf("source still has the VM: %v", err)
	}
	want := waitChecksum(t, src, "ref")
	if got := waitChecksum(t, dst, "mover"); got != want {
		t.Errorf("migrated guest printed %q, the uninterrupted one %q", got, want)
	}
	waitFor(t, "the migrated guest to power off", func() bool {
		in, _ := dst.Get("mover")
		return in.State == StateStopped
	})
	in, _ := dst.Get("mover")
	if in.LastExit != "guest powered off" {
		t.Errorf("target VM ended with %q", in.LastExit)
	}
	moved := filepath.Join(dst.vmDisks("mover"), "disk0.img")
	if in.Config.Drives[0].File != moved || in.Config.Drives[1].File != ro {
		t.Errorf("target drives %+v, want the image in %s and the read-only one in place", in.Config.Drives, moved)
	}
	orig, _ := os.ReadFile(img)
	got, err := os.ReadFile(moved)
	if err != nil || !bytes.Equal(orig, got) {
		t.Errorf("migrated disk differs from the source's (%v)", err)
	}
	for _, c := range []struct {
		m    *Manager
		want []string
	}{{src, []string{EventMigrated, EventDeleted}}, {dst, []string{EventMigrated}}} {
		var types []string
		evs, _ := c.m.WaitEvents(t.Context(), 0)
		for _, e := range evs {
			if e.VM == "mover" && e.Type != EventCreated && e.Type != EventStarted && e.Type != EventStopped {
				types = append(types, e.Type)
			}
		}
		if strings.Join(types, ",") != strings.Join(c.want, ",") {
			t.Errorf("events %v, want %v", types, c.want)
		}
	}
}

// TestMigratePausedVM: a paused VM arrives paused, in one go, and resumes
// on the target with its vsock CID.
func TestMigratePausedVM(t *testing.T) {
	src := newTestManager(t, Options{})
	dst := newTestManager(t, Options{})
	dir := t.TempDir()
	cfg := bareConfig("p", writeGuest(t, dir, "echo", echo))
	cfg.Vsock = &VsockConfig{CID: 77, UDS: filepath.Join(dir, "v.sock")}
	if _, err := src.Create(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Start("p"); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, src, "p", 0, ">")
	if _, err := src.Pause("p"); err != nil {
		t.Fatal(err)
	}
	res, info, err, rerr := migratePipe(t, src, dst, "p", MigrateOptions{}, nil)
	if err != nil || rerr != nil {
		t.Fatalf("migrate: %v; target: %v", err, rerr)
	}
	if res.PrecopyRounds != 0 || res.State != StatePaused || info.State != StatePaused {
		t.Fatalf("result %+v, target %+v: want no pre-copy and a paused VM", res, info)
	}
	if _, err := dst.Resume("p"); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.ConsoleInput(t.Context(), "p", []byte("after")); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, dst, "p", 0, "after")
	v, _ := dst.vm("p")
	v.mu.Lock()
	vs, ok := v.run.machine.VirtioDevices()[0].(interface{ CID() uint64 })
	v.mu.Unlock()
	if !ok || vs.CID() != 77 {
		t.Errorf("target vsock device %T, want CID 77", vs)
	}
	// Both daemons run on this host with one socket path: the target's
	// device took the socket over, and it outlived the source's VM.
	if c, err := net.Dial("unix", cfg.Vsock.UDS); err != nil {
		t.Errorf("nobody listens on the vsock socket after the migration: %v", err)
	} else {
		c.Close()
	}
	if _, err := os.Lstat(cfg.Vsock.UDS + ".incoming"); !os.IsNotExist(err) {
		t.Errorf("the target left its staging socket: %v", err)
	}
}

// cutConn fails every write past limit bytes and closes the connection,
// as a network that goes away mid-stream.
type cutConn struct {
	io.ReadWriteCloser
	mu      sync.Mutex
	left    int
	corrupt bool // flip one byte at the limit instead, then carry on
}

func (c *cutConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left < 0 {
		return c.ReadWriteCloser.Write(p)
	}
	if len(p) <= c.left {
		c.left -= len(p)
		return c.ReadWriteCloser.Write(p)
	}
	if c.corrupt {
		q := bytes.Clone(p)
		q[c.left] ^= 0x40
		c.left = -1
		return c.ReadWriteCloser.Write(q)
	}
	n, _ := c.ReadWriteCloser.Write(p[:c.left])
	c.left = 0
	c.ReadWriteCloser.Close()
	return n, io.ErrClosedPipe
}

// failAtFrame passes the target's replies through until it starts a
// frame of type typ, then closes the connection instead: the target has
// done everything but confirm.
type failAtFrame struct {
	io.ReadWriteCloser
	typ    frameType
	mu     sync.Mutex
	hdr    []byte // the current frame's header so far
	left   int    // payload bytes of the current frame still to come
	failed bool
}

func (c *failAtFrame) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed {
		return 0, io.ErrClosedPipe
	}
	for i := 0; i < len(p); {
		if c.left > 0 {
			n := min(c.left, len(p)-i)
			c.left -= n
			i += n
			continue
		}
		if len(c.hdr) == 0 && frameType(p[i]) == c.typ {
			c.failed = true
			c.ReadWriteCloser.Close()
			return 0, io.ErrClosedPipe
		}
		n := min(migHeader-len(c.hdr), len(p)-i)
		c.hdr = append(c.hdr, p[i:i+n]...)
		i += n
		if len(c.hdr) == migHeader {
			c.left = int(binary.LittleEndian.Uint32(c.hdr[8:]))
			c.hdr = c.hdr[:0]
		}
	}
	return c.ReadWriteCloser.Write(p)
}

// TestMigrateLateFailureKeepsVsock: a migration to a daemon on the same
// host fails after the target built the VM's devices, its vsock device
// among them, and the source's VM runs on with its vsock socket in place.
func TestMigrateLateFailureKeepsVsock(t *testing.T) {
	src := newTestManager(t, Options{})
	dst := newTestManager(t, Options{})
	dir := t.TempDir()
	uds := filepath.Join(dir, "v.sock")
	cfg := bareConfig("s", writeGuest(t, dir, "echo", echo))
	cfg.Vsock = &VsockConfig{CID: 78, UDS: uds}
	if _, err := src.Create(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Start("s"); err != nil {
		t.Fatal(err)
	}
	pos := waitConsole(t, src, "s", 0, ">")
	before, err := os.Lstat(uds)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err, rerr := migratePipeWrapped(t, src, dst, "s", MigrateOptions{}, nil, func(rw io.ReadWriteCloser) io.ReadWriteCloser {
		return &failAtFrame{ReadWriteCloser: rw, typ: frameRunning}
	})
	if err == nil || rerr == nil {
		t.Fatalf("migration over a connection cut before the confirmation succeeded: %v, %v", err, rerr)
	}
	if !strings.Contains(rerr.Error(), "confirming") {
		t.Fatalf("target failed with %v, want a failure only when confirming", rerr)
	}
	if _, err := dst.Get("s"); KindOf(err) != KindNotFound {
		t.Errorf("target has the VM: %v", err)
	}
	if after, err := os.Lstat(uds); err != nil || !os.SameFile(before, after) {
		t.Fatalf("the source VM's vsock socket was replaced or removed: %v", err)
	}
	if c, err := net.Dial("unix", uds); err != nil {
		t.Fatalf("nobody listens on the source VM's vsock socket: %v", err)
	} else {
		c.Close()
	}
	if _, err := os.Lstat(uds + ".incoming"); !os.IsNotExist(err) {
		t.Errorf("the target left its staging socket: %v", err)
	}
	if _, err := src.ConsoleInput(t.Context(), "s", []byte("still")); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, src, "s", pos, "still")
}

// TestMigrateFailures: a refusing target, a connection cut mid-stream and
// a corrupted stream leave the source's guest running and the target
// without the VM.
func TestMigrateFailures(t *testing.T) {
	src := newTestManager(t, Options{})
	dst := newTestManager(t, Options{})
	dir := t.TempDir()
	// The echo guest with 1 MiB of data behind it, so that pre-copy has
	// something to send, and a 2 MiB disk of random data for the final
	// phase (the guest is paused while it streams).
	big := append([]uint32(nil), echo...)
	for i := 0; i < 1<<18; i++ {
		big = append(big, uint32(i)*2654435761|1)
	}
	img := filepath.Join(dir, "disk.img")
	noise := make([]byte, 2<<20)
	for i := range noise {
		noise[i] = byte(rand.Uint32())
	}
	if err := os.WriteFile(img, noise, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := bareConfig("v", writeGuest(t, dir, "big", big))
	cfg.Drives = []DriveConfig{{File: img}}
	if _, err := src.Create(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Start("v"); err != nil {
		t.Fatal(err)
	}
	pos := waitConsole(t, src, "v", 0, ">")
	if _, err := dst.Create(bareConfig("taken", writeGuest(t, dir, "busy", busyLoop))); err != nil {
		t.Fatal(err)
	}

	t.Run("name exists", func(t *testing.T) {
		// The source's VM takes the name of the target's: rename it by
		// migrating a second VM defined with that name.
		if _, err := src.Create(bareConfig("taken", writeGuest(t, dir, "echo", echo))); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Start("taken"); err != nil {
			t.Fatal(err)
		}
		_, _, err, rerr := migratePipe(t, src, dst, "taken", MigrateOptions{}, nil)
		wantKind(t, "source", err, KindConflict, `a VM named "taken" already exists`)
		wantKind(t, "target", rerr, KindConflict, "already exists")
		if in, _ := src.Get("taken"); in.State != StateRunning {
			t.Errorf("source VM is %s", in.State)
		}
		if in, _ := dst.Get("taken"); in.State != StateStopped || in.StartedAt != nil {
			t.Errorf("target's own VM changed: %+v", in)
		}
		if err := dst.CheckIncoming("taken"); KindOf(err) != KindConflict {
			t.Errorf("CheckIncoming of an existing name: %v", err)
		}
	})

	for _, c := range []struct {
		name    string
		limit   int
		corrupt bool
		want    string
	}{
		{"cut in hello", 40, false, ""},
		{"cut in pre-copy", 300 << 10, false, ""},
		{"cut while paused", 2 << 20, false, ""},
		{"checksum mismatch", 500 << 10, true, "checksum mismatch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err, rerr := migratePipe(t, src, dst, "v", MigrateOptions{}, func(rw io.ReadWriteCloser) io.ReadWriteCloser {
				return &cutConn{ReadWriteCloser: rw, left: c.limit, corrupt: c.corrupt}
			})
			if err == nil || rerr == nil {
				t.Fatalf("migration succeeded over a broken connection: %v, %v", err, rerr)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(rerr.Error(), c.want) {
				t.Errorf("source: %v; target: %v; want %q", err, rerr, c.want)
			}
			if _, err := dst.Get("v"); KindOf(err) != KindNotFound {
				t.Errorf("target has the VM: %v", err)
			}
			if err := dst.CheckIncoming("v"); err != nil {
				t.Errorf("the target still reserves the name: %v", err)
			}
			if _, err := os.Stat(dst.vmDisks("v")); !os.IsNotExist(err) {
				t.Errorf("the target kept files: %v", err)
			}
			// The source's guest runs on: it still echoes.
			word := strings.ReplaceAll(c.name, " ", "-")
			if _, err := src.ConsoleInput(t.Context(), "v", []byte(word)); err != nil {
				t.Fatal(err)
			}
			pos = waitConsole(t, src, "v", pos, word)
			if in, _ := src.Get("v"); in.State != StateRunning {
				t.Errorf("source VM is %s", in.State)
			}
		})
	}

	t.Run("stopped VM", func(t *testing.T) {
		if _, err := src.Stop("taken"); err != nil {
			t.Fatal(err)
		}
		_, _, err, _ := migratePipe(t, src, dst, "taken", MigrateOptions{}, nil)
		wantKind(t, "stopped", err, KindConflict, "it is stopped")
	})
}

// testNames is for the fuzz seed: a stream recorded from a real
// migration.
func recordStream(t testing.TB, src, dst *Manager, name string) []byte {
	a, b := net.Pipe()
	var rec bytes.Buffer
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		dst.ReceiveMigration(context.Background(), &teeConn{ReadWriteCloser: b, mu: &mu, rec: &rec})
	}()
	if _, err := src.Migrate(context.Background(), name, a, MigrateOptions{Compress: true}); err != nil {
		t.Fatal(err)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	return bytes.Clone(rec.Bytes())
}

// teeConn records what is read from it.
type teeConn struct {
	io.ReadWriteCloser
	mu  *sync.Mutex
	rec *bytes.Buffer
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.ReadWriteCloser.Read(p)
	c.mu.Lock()
	c.rec.Write(p[:n])
	c.mu.Unlock()
	return n, err
}
