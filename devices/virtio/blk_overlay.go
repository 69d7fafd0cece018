package virtio

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Overlay file format, version 1. All integers little-endian.
//
//	header, 4096 bytes at offset 0:
//	   0  [8]byte  magic "POPEKOVL"
//	   8  uint32   version (1)
//	  12  uint32   header size (4096)
//	  16  uint32   cluster bits (16: 64 KiB clusters)
//	  20  uint32   flags (0)
//	  24  uint64   virtual disk size in bytes (= base size)
//	  32  uint64   base image size in bytes
//	  40  [32]byte SHA-256 of the base's first MiB (its identity)
//	  72  uint64   bitmap offset (4096)
//	  80  uint64   bitmap length, bytes (one bit per cluster, rounded up to 4 KiB)
//	  88  uint64   data offset (first cluster boundary after the bitmap)
//	  96  uint32   CRC-32C of bytes 0..95
//	rest zero
//	bitmap: bit k (byte k/8, bit k%8) set = cluster k lives in the overlay
//	data: cluster k at data offset + k*cluster size; the file is sparse
//
// A clear bit reads the cluster from the base. A set bit reads the overlay,
// where holes read as zero: that is how discarded ranges are recorded.
//
// Crash safety: cluster data is written before its bitmap bit reaches the
// disk. Bitmap changes stay in memory until a flush, which syncs the data,
// writes the changed bitmap pages and syncs again, so after a crash the
// bitmap never points at unwritten data and every flushed write survives.
const (
	overlayMagic         = "POPEKOVL"
	overlayVersion       = 1
	overlayHeaderSize    = 4096
	overlayClusterBits   = 16
	overlayBitmapPage    = 4096
	overlayIdentityBytes = 1 << 20
	overlayHeaderFields  = 96
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type overlayHeader struct {
	clusterBits uint32
	size        uint64
	baseSize    uint64
	baseHash    [32]byte
	bitmapOff   uint64
	bitmapLen   uint64
	dataOff     uint64
}

// overlayLayout places the bitmap and data for a disk of size bytes.
func overlayLayout(size uint64, clusterBits uint32) (bitmapLen, dataOff uint64) {
	cs := uint64(1) << clusterBits
	clusters := (size + cs - 1) / cs
	bitmapLen = max(roundUp((clusters+7)/8, overlayBitmapPage), overlayBitmapPage)
	dataOff = roundUp(overlayHeaderSize+bitmapLen, cs)
	return bitmapLen, dataOff
}

func roundUp(v, to uint64) uint64 { return (v + to - 1) / to * to }

func newOverlayHeader(size uint64, hash [32]byte) overlayHeader {
	bl, do := overlayLayout(size, overlayClusterBits)
	return overlayHeader{clusterBits: overlayClusterBits, size: size, baseSize: size, baseHash: hash,
		bitmapOff: overlayHeaderSize, bitmapLen: bl, dataOff: do}
}

func (h *overlayHeader) encode() []byte {
	b := make([]byte, overlayHeaderSize)
	copy(b, overlayMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], overlayVersion)
	le.PutUint32(b[12:], overlayHeaderSize)
	le.PutUint32(b[16:], h.clusterBits)
	le.PutUint64(b[24:], h.size)
	le.PutUint64(b[32:], h.baseSize)
	copy(b[40:72], h.baseHash[:])
	le.PutUint64(b[72:], h.bitmapOff)
	le.PutUint64(b[80:], h.bitmapLen)
	le.PutUint64(b[88:], h.dataOff)
	le.PutUint32(b[96:], crc32Castagnoli(b[:overlayHeaderFields]))
	return b
}

// decodeOverlayHeader parses and checks a header's internal consistency.
func decodeOverlayHeader(b []byte) (overlayHeader, error) {
	var h overlayHeader
	le := binary.LittleEndian
	if len(b) < overlayHeaderSize {
		return h, errors.New("truncated header")
	}
	if string(b[:8]) != overlayMagic {
		return h, errors.New("not a popek overlay (bad magic)")
	}
	if crc32Castagnoli(b[:overlayHeaderFields]) != le.Uint32(b[96:]) {
		return h, errors.New("corrupt header (checksum mismatch)")
	}
	if v := le.Uint32(b[8:]); v != overlayVersion {
		return h, fmt.Errorf("unsupported version %d", v)
	}
	h.clusterBits = le.Uint32(b[16:])
	h.size, h.baseSize = le.Uint64(b[24:]), le.Uint64(b[32:])
	copy(h.baseHash[:], b[40:72])
	h.bitmapOff, h.bitmapLen, h.dataOff = le.Uint64(b[72:]), le.Uint64(b[80:]), le.Uint64(b[88:])
	switch {
	case le.Uint32(b[12:]) != overlayHeaderSize:
		return h, errors.New("bad header size")
	case le.Uint32(b[20:]) != 0:
		return h, errors.New("unknown flags")
	case h.clusterBits < 12 || h.clusterBits > 21:
		return h, fmt.Errorf("bad cluster size 2^%d", h.clusterBits)
	case h.size != h.baseSize || h.size > 1<<50:
		return h, errors.New("bad disk size")
	}
	bl, do := overlayLayout(h.size, h.clusterBits)
	if h.bitmapOff != overlayHeaderSize || h.bitmapLen != bl || h.dataOff != do {
		return h, errors.New("inconsistent layout")
	}
	return h, nil
}

// baseIdentity hashes the base's first MiB: an overlay applied to any other
// base would silently corrupt it.
func baseIdentity(f *os.File, size int64) ([32]byte, error) {
	buf := make([]byte, min(size, overlayIdentityBytes))
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size < overlayIdentityBytes) {
		return [32]byte{}, fmt.Errorf("read base image: %w", err)
	}
	return sha256.Sum256(buf), nil
}

// overlayImage is a read-only base with writes redirected to an overlay.
type overlayImage struct {
	base      image // raw or qcow2, only read
	basePath  string
	ovl       *os.File
	readOnly  bool
	size      int64
	cbits     uint32
	cs        int64
	dataOff   int64
	bitmapOff int64
	bitmap    []byte
	dirty     []bool // bitmap pages changed since the last flush
	buf       []byte // one cluster of scratch
}

// openOverlay opens base read-only (raw or qcow2) and the overlay on top
// of it, creating the overlay when it does not exist (unless readOnly).
func openOverlay(basePath, ovlPath string, readOnly bool) (img *overlayImage, err error) {
	base, hash, err := openBase(basePath)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			base.Close()
		}
	}()
	size := base.Size()
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	ovl, err := os.OpenFile(ovlPath, flag, 0)
	if errors.Is(err, os.ErrNotExist) && !readOnly {
		if err := createOverlay(ovlPath, uint64(size), hash); err != nil {
			return nil, err
		}
		ovl, err = os.OpenFile(ovlPath, flag, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open overlay: %w", err)
	}
	defer func() {
		if err != nil {
			ovl.Close()
		}
	}()
	if err := lockFile(ovl, !readOnly); err != nil {
		return nil, err
	}
	hb := make([]byte, overlayHeaderSize)
	if _, err := io.ReadFull(io.NewSectionReader(ovl, 0, overlayHeaderSize), hb); err != nil {
		return nil, fmt.Errorf("overlay %s: truncated header", ovlPath)
	}
	h, err := decodeOverlayHeader(hb)
	if err != nil {
		return nil, fmt.Errorf("overlay %s: %w", ovlPath, err)
	}
	if h.baseSize != uint64(size) {
		return nil, fmt.Errorf("overlay %s was made for a base of %d bytes, %s has %d", ovlPath, h.baseSize, basePath, size)
	}
	if h.baseHash != hash {
		return nil, fmt.Errorf("overlay %s was made for a different base image than %s", ovlPath, basePath)
	}
	o := &overlayImage{
		base: base, basePath: basePath, ovl: ovl, readOnly: readOnly, size: int64(h.size),
		cbits: h.clusterBits, cs: 1 << h.clusterBits,
		dataOff: int64(h.dataOff), bitmapOff: int64(h.bitmapOff),
		bitmap: make([]byte, h.bitmapLen),
		dirty:  make([]bool, h.bitmapLen/overlayBitmapPage),
	}
	o.buf = make([]byte, o.cs)
	if _, err := ovl.ReadAt(o.bitmap, o.bitmapOff); err != nil {
		return nil, fmt.Errorf("overlay %s: truncated bitmap", ovlPath)
	}
	ost, err := ovl.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat overlay: %w", err)
	}
	if end := o.dataOff + o.size; ost.Size() < end {
		if readOnly {
			return nil, fmt.Errorf("overlay %s: truncated data area", ovlPath)
		}
		if err := ovl.Truncate(end); err != nil {
			return nil, fmt.Errorf("extend overlay: %w", err)
		}
	}
	return o, nil
}

// createOverlay writes an empty overlay atomically: a crash leaves either
// no file or a complete one.
func createOverlay(path string, size uint64, hash [32]byte) error {
	h := newOverlayHeader(size, hash)
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create overlay: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(h.encode())
	if err == nil {
		err = tmp.Truncate(int64(h.dataOff + size)) // bitmap and data: holes
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("create overlay %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (o *overlayImage) Size() int64 { return o.size }

func (o *overlayImage) allocated(k int64) bool { return o.bitmap[k>>3]&(1<<(k&7)) != 0 }

func (o *overlayImage) setAllocated(first, last int64) {
	for k := first; k <= last; k++ {
		if !o.allocated(k) {
			o.bitmap[k>>3] |= 1 << (k & 7)
			o.dirty[(k>>3)/overlayBitmapPage] = true
		}
	}
}

func (o *overlayImage) clusterEnd(k int64) int64 { return min((k+1)<<o.cbits, o.size) }

func (o *overlayImage) ReadAt(p []byte, off int64) error {
	for len(p) > 0 {
		k := off >> o.cbits
		inOverlay := o.allocated(k)
		end := o.clusterEnd(k)
		for end < off+int64(len(p)) && o.allocated(end>>o.cbits) == inOverlay {
			end = o.clusterEnd(end >> o.cbits)
		}
		n := min(end-off, int64(len(p)))
		var err error
		if inOverlay {
			_, err = o.ovl.ReadAt(p[:n], o.dataOff+off)
		} else {
			err = o.base.ReadAt(p[:n], off)
		}
		if err != nil {
			return err
		}
		p, off = p[n:], off+n
	}
	return nil
}

// runs splits [off, end) into direct runs, made of clusters already in the
// overlay or fully covered (served by one call on the overlay, then marked
// allocated), and partial pieces of clusters still in the base (which need
// copy-on-write).
func (o *overlayImage) runs(off, end int64, direct func(from, to int64) error, partial func(k, from, to int64) error) error {
	runStart := int64(-1)
	flush := func(to int64) error {
		if runStart < 0 {
			return nil
		}
		if err := direct(runStart, to); err != nil {
			return err
		}
		o.setAllocated(runStart>>o.cbits, (to-1)>>o.cbits)
		runStart = -1
		return nil
	}
	for cur := off; cur < end; {
		k := cur >> o.cbits
		ce := o.clusterEnd(k)
		to := min(ce, end)
		if o.allocated(k) || (cur == k<<o.cbits && to == ce) {
			if runStart < 0 {
				runStart = cur
			}
		} else {
			if err := flush(cur); err != nil {
				return err
			}
			if err := partial(k, cur, to); err != nil {
				return err
			}
		}
		cur = to
	}
	return flush(end)
}

func (o *overlayImage) WriteAt(p []byte, off int64) error {
	if o.readOnly {
		return errors.New("overlay is read-only")
	}
	return o.runs(off, off+int64(len(p)),
		func(from, to int64) error {
			_, err := o.ovl.WriteAt(p[from-off:to-off], o.dataOff+from)
			return err
		},
		func(k, from, to int64) error { return o.copyOnWrite(k, from, to, p[from-off:to-off]) })
}

// Discard records the range as zero: the overlay is how the base is hidden.
func (o *overlayImage) Discard(off, n int64) error { return o.WriteZeroes(off, n, true) }

// WriteZeroes punches the range out of the overlay (keeping it sparse) and
// marks it allocated, so it reads as zero instead of falling to the base.
func (o *overlayImage) WriteZeroes(off, n int64, _ bool) error {
	if o.readOnly {
		return errors.New("overlay is read-only")
	}
	return o.runs(off, off+n,
		func(from, to int64) error { return zeroRange(o.ovl, o.dataOff+from, to-from, true) },
		func(k, from, to int64) error { return o.copyOnWrite(k, from, to, nil) })
}

// copyOnWrite moves cluster k into the overlay: the base's bytes outside
// [from, to) are copied, data (or zeroes when nil) goes in between. The
// cluster is punched first, because an allocation lost in a crash may have
// left stale bytes there; zero parts of the base then need no writing.
func (o *overlayImage) copyOnWrite(k, from, to int64, data []byte) error {
	cs, ce := k<<o.cbits, o.clusterEnd(k)
	punched := true
	if err := punchHole(o.ovl, o.dataOff+cs, ce-cs); err != nil {
		if !unsupported(err) {
			return err
		}
		punched = false
	}
	buf := o.buf[:ce-cs]
	if err := o.base.ReadAt(buf, cs); err != nil {
		return err
	}
	if data == nil {
		clear(buf[from-cs : to-cs])
	} else {
		copy(buf[from-cs:], data)
	}
	if !punched {
		if _, err := o.ovl.WriteAt(buf, o.dataOff+cs); err != nil {
			return err
		}
	} else {
		for _, r := range [][2]int64{{cs, from}, {from, to}, {to, ce}} {
			part := buf[r[0]-cs : r[1]-cs]
			if isZero(part) { // the punched cluster already reads as zero
				continue
			}
			if _, err := o.ovl.WriteAt(part, o.dataOff+r[0]); err != nil {
				return err
			}
		}
	}
	o.setAllocated(k, k)
	return nil
}

func isZero(b []byte) bool {
	var zero [512]byte
	for len(b) > 0 {
		n := min(len(b), len(zero))
		if !bytes.Equal(b[:n], zero[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// Flush syncs cluster data, then persists and syncs the bitmap pages that
// changed, in that order.
func (o *overlayImage) Flush() error {
	if o.readOnly {
		return nil
	}
	if err := unix.Fdatasync(int(o.ovl.Fd())); err != nil {
		return err
	}
	wrote := false
	for i, d := range o.dirty {
		if !d {
			continue
		}
		page := o.bitmap[i*overlayBitmapPage : (i+1)*overlayBitmapPage]
		if _, err := o.ovl.WriteAt(page, o.bitmapOff+int64(i)*overlayBitmapPage); err != nil {
			return err
		}
		o.dirty[i] = false
		wrote = true
	}
	if !wrote {
		return nil
	}
	return unix.Fdatasync(int(o.ovl.Fd()))
}

func (o *overlayImage) Close() error {
	err := o.Flush()
	if cerr := o.ovl.Close(); err == nil {
		err = cerr
	}
	if cerr := o.base.Close(); err == nil {
		err = cerr
	}
	return err
}

func crc32Castagnoli(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
