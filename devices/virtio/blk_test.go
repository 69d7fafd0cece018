package virtio

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

const blkAllFeatures = FeatureVersion1 | FeatureEventIdx | FeatureIndirectDesc |
	BlockFSegMax | BlockFBlkSize | BlockFFlush | BlockFDiscard | BlockFWriteZeroes

func blkHeader(typ uint32, sector uint64) []byte {
	h := make([]byte, blkHeaderSize)
	binary.LittleEndian.PutUint32(h, typ)
	binary.LittleEndian.PutUint64(h[8:], sector)
	return h
}

func dwzSegments(segs ...[3]uint64) []byte {
	b := make([]byte, blkSegmentSize*len(segs))
	for i, s := range segs {
		binary.LittleEndian.PutUint64(b[16*i:], s[0])
		binary.LittleEndian.PutUint32(b[16*i+8:], uint32(s[1]))
		binary.LittleEndian.PutUint32(b[16*i+12:], uint32(s[2]))
	}
	return b
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// sparseFile creates a sparse file of size bytes.
func sparseFile(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func allocatedBytes(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

type blkDriver struct {
	*testDriver
	blk *Block
}

func newBlkDriver(t *testing.T, cfg BlockConfig, features uint64) *blkDriver {
	t.Helper()
	b, err := NewBlock(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDriver(t, b)
	d.start(features, 64)
	return &blkDriver{d, b}
}

// rw issues a request with a status byte and returns the status.
func (d *blkDriver) do(indirect bool, bufs ...buf) (req, byte) {
	d.t.Helper()
	bufs = append(bufs, in(1))
	r, _ := d.call(0, indirect, bufs...)
	return r, d.written(r, len(bufs)-1)[0]
}

func (d *blkDriver) write(sector uint64, data []byte) byte {
	_, s := d.do(false, out(blkHeader(blkTOut, sector)), out(data))
	return s
}

func (d *blkDriver) read(sector uint64, n uint32) ([]byte, byte) {
	r, s := d.do(false, out(blkHeader(blkTIn, sector)), in(n))
	return d.written(r, 1), s
}

func TestBlockReadWrite(t *testing.T) {
	path := sparseFile(t, 1<<20)
	d := newBlkDriver(t, BlockConfig{Path: path}, blkAllFeatures)
	data := pattern(4096, 1)
	if s := d.write(8, data); s != blkSOK {
		t.Fatalf("write status %d", s)
	}
	file, _ := os.ReadFile(path)
	if !bytes.Equal(file[8*512:8*512+4096], data) {
		t.Fatal("write did not reach the file")
	}
	got, s := d.read(8, 4096)
	if s != blkSOK || !bytes.Equal(got, data) {
		t.Fatalf("read back status %d, data equal %v", s, bytes.Equal(got, data))
	}
	// Scattered buffers, headers and data sharing a descriptor, indirect.
	r, s := d.do(true, out(blkHeader(blkTIn, 9)), in(100), in(412), in(512))
	if s != blkSOK || !bytes.Equal(append(d.written(r, 1), append(d.written(r, 2), d.written(r, 3)...)...), data[512:1536]) {
		t.Fatal("scattered indirect read mismatch")
	}
	if s := d.write(0, nil); s != blkSOK { // empty write
		t.Fatalf("empty write status %d", s)
	}
	_, s = d.do(false, out(append(blkHeader(blkTOut, 100), pattern(512, 9)...)))
	if got, _ := d.read(100, 512); s != blkSOK || !bytes.Equal(got, pattern(512, 9)) {
		t.Fatal("write with header and data in one buffer failed")
	}
	st := d.blk.Stats()
	if st.WriteOps != 3 || st.ReadOps != 3 || st.ReadBytes != 4096+1024+512 || st.WriteBytes != 4096+512 {
		t.Errorf("stats %+v", st)
	}
}

func TestBlockRequestErrors(t *testing.T) {
	const sectors = 2048
	d := newBlkDriver(t, BlockConfig{Path: sparseFile(t, sectors*512)}, blkAllFeatures)
	cases := []struct {
		name string
		bufs []buf
		want byte
	}{
		{"read past the end", []buf{out(blkHeader(blkTIn, sectors)), in(512)}, blkSIOErr},
		{"read straddling the end", []buf{out(blkHeader(blkTIn, sectors-1)), in(1024)}, blkSIOErr},
		{"read at a huge sector", []buf{out(blkHeader(blkTIn, 1<<62)), in(512)}, blkSIOErr},
		{"write past the end", []buf{out(blkHeader(blkTOut, sectors)), out(make([]byte, 512))}, blkSIOErr},
		{"write wrapping sector", []buf{out(blkHeader(blkTOut, ^uint64(0))), out(make([]byte, 512))}, blkSIOErr},
		{"partial sector read", []buf{out(blkHeader(blkTIn, 0)), in(100)}, blkSIOErr},
		{"partial sector write", []buf{out(blkHeader(blkTOut, 0)), out(make([]byte, 700))}, blkSIOErr},
		{"short header", []buf{out(make([]byte, 8))}, blkSIOErr},
		{"unknown type", []buf{out(blkHeader(99, 0))}, blkSUnsupp},
		{"SCSI command", []buf{out(blkHeader(2, 0))}, blkSUnsupp},
		{"read at the last sector", []buf{out(blkHeader(blkTIn, sectors-1)), in(512)}, blkSOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, s := d.do(false, c.bufs...); s != c.want {
				t.Fatalf("status %d, want %d", s, c.want)
			}
		})
	}
	if e := d.blk.Stats().Errors; e != uint64(len(cases)-1) {
		t.Errorf("error count %d", e)
	}
}

func TestBlockNoStatusByte(t *testing.T) {
	d := newBlkDriver(t, BlockConfig{Path: sparseFile(t, 1<<20)}, blkAllFeatures)
	if _, n := d.call(0, false, out(blkHeader(blkTFlush, 0))); n != 0 {
		t.Fatalf("used len %d for a request without status", n)
	}
}

func TestBlockFlushAndGetID(t *testing.T) {
	cases := []struct {
		serial string
		room   uint32
		want   []byte
	}{
		{"popek-disk-0", 20, append([]byte("popek-disk-0"), make([]byte, 8)...)},
		{"exactly-twenty-bytes", 20, []byte("exactly-twenty-bytes")},
		{"short-room", 5, []byte("short")},
		{"", 20, make([]byte, 20)},
	}
	for _, c := range cases {
		t.Run(c.serial, func(t *testing.T) {
			d := newBlkDriver(t, BlockConfig{Path: sparseFile(t, 1<<20), Serial: c.serial}, blkAllFeatures)
			r, s := d.do(false, out(blkHeader(blkTGetID, 0)), in(c.room))
			if got := d.written(r, 1); s != blkSOK || !bytes.Equal(got, c.want) {
				t.Fatalf("GET_ID status %d id %q, want %q", s, got, c.want)
			}
			if _, s := d.do(false, out(blkHeader(blkTFlush, 0))); s != blkSOK {
				t.Fatalf("flush status %d", s)
			}
			if d.blk.Stats().FlushOps != 1 {
				t.Error("flush not counted")
			}
		})
	}
	if _, err := NewBlock(BlockConfig{Path: sparseFile(t, 4096), Serial: "this serial is far too long"}); err == nil {
		t.Fatal("over-long serial accepted")
	}
}

func TestBlockReadOnly(t *testing.T) {
	path := sparseFile(t, 1<<20)
	os.WriteFile(path, pattern(1<<20, 3), 0o644)
	b, err := NewBlock(BlockConfig{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Features(); f&BlockFRO == 0 || f&(BlockFDiscard|BlockFWriteZeroes) != 0 {
		t.Fatalf("read-only features %#x", f)
	}
	d := newTestDriver(t, b)
	d.start(FeatureVersion1|BlockFRO|BlockFFlush, 64)
	bd := &blkDriver{d, b}
	if s := bd.write(0, make([]byte, 512)); s != blkSIOErr {
		t.Fatalf("write on read-only disk: status %d", s)
	}
	_, s := bd.do(false, out(blkHeader(blkTWriteZeroes, 0)), out(dwzSegments([3]uint64{0, 8, 0})))
	if s != blkSIOErr {
		t.Fatalf("write zeroes on read-only disk: status %d", s)
	}
	if got, s := bd.read(0, 512); s != blkSOK || !bytes.Equal(got, pattern(1<<20, 3)[:512]) {
		t.Fatal("read from read-only disk failed")
	}
	file, _ := os.ReadFile(path)
	if !bytes.Equal(file, pattern(1<<20, 3)) {
		t.Fatal("read-only image modified")
	}
}

func TestBlockConfigSpace(t *testing.T) {
	d := newBlkDriver(t, BlockConfig{Path: sparseFile(t, 3<<20+100)}, blkAllFeatures)
	cases := []struct {
		name string
		off  uint64
		size int
		want uint64
	}{
		{"capacity (partial tail sector dropped)", 0, 8, 3 << 11},
		{"capacity low word", 0, 4, 3 << 11},
		{"seg_max", 12, 4, blkQueueSize - 2},
		{"blk_size", 20, 4, 512},
		{"max_discard_sectors", 36, 4, blkMaxDWZ},
		{"max_discard_seg", 40, 4, blkMaxDWZSegs},
		{"discard_sector_alignment", 44, 4, blkDiscardAlign},
		{"max_write_zeroes_seg", 52, 4, blkMaxDWZSegs},
		{"write_zeroes_may_unmap", 56, 1, 1},
		{"past the config", 200, 4, 0},
	}
	for _, c := range cases {
		if got := d.m.Read(regConfig+c.off, c.size); got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestBlockDiscardAndWriteZeroes(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name       string
		typ        uint32
		flags      uint64
		wantFreed  bool // blocks returned to the filesystem
		wantZeroes bool
	}{
		{"discard punches holes", blkTDiscard, 0, true, true},
		{"write zeroes with unmap", blkTWriteZeroes, blkFlagUnmap, true, true},
		{"write zeroes without unmap", blkTWriteZeroes, 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := sparseFile(t, 8*mib)
			d := newBlkDriver(t, BlockConfig{Path: path}, blkAllFeatures)
			for s := uint64(0); s < 2*mib/512; s += 128 {
				d.write(s, pattern(64<<10, byte(s)))
			}
			d.do(false, out(blkHeader(blkTFlush, 0)))
			before := allocatedBytes(t, path)
			_, s := d.do(false, out(blkHeader(c.typ, 0)), out(dwzSegments([3]uint64{0, mib / 512, c.flags}, [3]uint64{mib / 512, 64, c.flags})))
			if s != blkSOK {
				t.Fatalf("status %d", s)
			}
			after := allocatedBytes(t, path)
			if freed := after < before-mib/2; freed != c.wantFreed {
				t.Errorf("allocated %d -> %d bytes, freed = %v, want %v", before, after, freed, c.wantFreed)
			}
			got, _ := d.read(0, mib+64*512)
			if c.wantZeroes && !isZero(got) {
				t.Error("range does not read as zero")
			}
			if rest, _ := d.read(mib/512+64, 512); isZero(rest) {
				t.Error("data after the range was lost")
			}
		})
	}
}

func TestBlockDiscardValidation(t *testing.T) {
	const sectors = 4096
	cases := []struct {
		name string
		typ  uint32
		body []byte
		want byte
	}{
		{"discard with unmap flag", blkTDiscard, dwzSegments([3]uint64{0, 8, blkFlagUnmap}), blkSUnsupp},
		{"unknown flag", blkTWriteZeroes, dwzSegments([3]uint64{0, 8, 2}), blkSUnsupp},
		{"beyond capacity", blkTDiscard, dwzSegments([3]uint64{sectors - 4, 8, 0}), blkSIOErr},
		{"second segment bad", blkTWriteZeroes, dwzSegments([3]uint64{0, 8, 0}, [3]uint64{sectors, 1, 0}), blkSIOErr},
		{"too many sectors", blkTDiscard, dwzSegments([3]uint64{0, blkMaxDWZ + 1, 0}), blkSIOErr},
		{"ragged segment list", blkTDiscard, make([]byte, 20), blkSIOErr},
		{"no segments", blkTDiscard, nil, blkSIOErr},
		{"too many segments", blkTDiscard, make([]byte, blkSegmentSize*(blkMaxDWZSegs+1)), blkSIOErr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := sparseFile(t, sectors*512)
			d := newBlkDriver(t, BlockConfig{Path: path}, blkAllFeatures)
			d.write(0, pattern(4096, 5))
			bufs := []buf{out(blkHeader(c.typ, 0))}
			if c.body != nil {
				bufs = append(bufs, out(c.body))
			}
			if _, s := d.do(false, bufs...); s != c.want {
				t.Fatalf("status %d, want %d", s, c.want)
			}
			if got, _ := d.read(0, 4096); !bytes.Equal(got, pattern(4096, 5)) {
				t.Fatal("rejected request changed the disk")
			}
		})
	}
}

func TestBlockRawStaysSparse(t *testing.T) {
	path := sparseFile(t, 64<<20)
	d := newBlkDriver(t, BlockConfig{Path: path}, blkAllFeatures)
	d.write(32<<11, pattern(4096, 1))
	d.do(false, out(blkHeader(blkTWriteZeroes, 0)), out(dwzSegments([3]uint64{0, 16 << 11, blkFlagUnmap})))
	d.do(false, out(blkHeader(blkTFlush, 0)))
	if a := allocatedBytes(t, path); a > 1<<20 {
		t.Fatalf("64 MiB image with 4 KiB of data allocates %d bytes", a)
	}
}

func TestBlockWithoutFlushIsWriteThrough(t *testing.T) {
	b, err := NewBlock(BlockConfig{Path: sparseFile(t, 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cases := []struct {
		features uint64
		want     bool
	}{
		{FeatureVersion1 | BlockFFlush, false},
		{FeatureVersion1, true},
	}
	for _, c := range cases {
		b.Activate(c.features, nil)
		if b.writeThrough != c.want {
			t.Errorf("features %#x: write-through %v, want %v", c.features, b.writeThrough, c.want)
		}
	}
}

func TestBlockStateChecksShape(t *testing.T) {
	b, err := NewBlock(BlockConfig{Path: sparseFile(t, 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	blob, _ := b.MarshalState()
	if err := b.UnmarshalState(blob); err != nil {
		t.Fatal(err)
	}
	if err := b.RestoreState(BlockState{Capacity: 5}); err == nil {
		t.Fatal("state of another disk accepted")
	}
}

func TestBlockImageLocked(t *testing.T) {
	path := sparseFile(t, 1<<20)
	b, err := NewBlock(BlockConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewBlock(BlockConfig{Path: path}); err == nil {
		t.Fatal("second writer of one image allowed")
	}
	b.Close()
	b2, err := NewBlock(BlockConfig{Path: path})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	b2.Close()
}

func TestBlockDiscardNeedsNegotiation(t *testing.T) {
	d := newBlkDriver(t, BlockConfig{Path: sparseFile(t, 1<<20)}, FeatureVersion1|BlockFFlush)
	for _, typ := range []uint32{blkTDiscard, blkTWriteZeroes} {
		if _, s := d.do(false, out(blkHeader(typ, 0)), out(dwzSegments([3]uint64{0, 8, 0}))); s != blkSUnsupp {
			t.Errorf("type %d without its feature: status %d, want UNSUPP", typ, s)
		}
	}
}

// TestBlockXv6Driver drives the disk as xv6-riscv's virtio_disk.c does:
// it writes only the low feature word (so never accepts VERSION_1), masks
// out RO, SCSI, CONFIG_WCE, MQ, ANY_LAYOUT, EVENT_IDX and INDIRECT_DESC,
// uses one queue of 8 descriptors and 3-descriptor chains per 1 KiB block,
// enough requests to wrap the rings several times. QEMU runs this driver.
func TestBlockXv6Driver(t *testing.T) {
	path := sparseFile(t, 1<<20)
	b, err := NewBlock(BlockConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	d := &blkDriver{newTestDriver(t, b), b}
	d.setReg(regDeviceFeatSel, 0)
	features := uint64(d.reg(regDeviceFeatures))
	for _, bit := range []uint{5, 7, 11, 12, 27, 28, 29} {
		features &^= 1 << bit
	}
	d.start(features, 8)
	const blocks = 40
	for i := uint64(0); i < blocks; i++ {
		if s := d.write(2*i, pattern(1024, byte(i))); s != blkSOK {
			t.Fatalf("write block %d: status %d", i, s)
		}
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < blocks; i++ {
		if !bytes.Equal(file[i*1024:(i+1)*1024], pattern(1024, byte(i))) {
			t.Fatalf("block %d did not reach the file", i)
		}
		got, s := d.read(2*i, 1024)
		if s != blkSOK || !bytes.Equal(got, pattern(1024, byte(i))) {
			t.Fatalf("read block %d: status %d, data equal %v", i, s, bytes.Equal(got, pattern(1024, byte(i))))
		}
	}
}
