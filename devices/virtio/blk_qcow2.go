package virtio

import (
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	qimage "github.com/lima-vm/go-qcow2reader/image"
	"github.com/lima-vm/go-qcow2reader/image/qcow2"
	"github.com/lima-vm/go-qcow2reader/image/raw"
	"golang.org/x/sys/unix"
)

// qcow2 images are read, never written, through go-qcow2reader: a
// read-only drive, or the base under a popek overlay. The library trusts
// its input (it allocates l1_size entries and 2^cluster_bits-byte tables
// as the header says, and follows backing files without end), so every
// header of the chain is checked here before the library sees it, popek
// opens the backing files through its own hook (cycles, depth, format),
// and reads recover from panics so malformed metadata is an I/O error.

// ErrWritableQcow2 is returned for a qcow2 image opened writable without
// an overlay: popek does not write qcow2.
var ErrWritableQcow2 = errors.New("popek does not write qcow2 images")

// errQcow2Panic marks a panic of the library, recovered.
var errQcow2Panic = errors.New("malformed image")

// The library reads a compressed cluster with one Read of the inflater
// and, when that comes back short, inflates the cluster again from its
// start for the rest. Go's inflater returns at most its 32 KiB window per
// Read, so a 2 MiB cluster was inflated 64 times over. The decompressor
// table is the library's global, so popek replaces the zlib entry once,
// with one that fills every Read; nothing else in the process uses the
// library.
func init() {
	qcow2.SetDecompressor(qcow2.CompressionTypeZlib, func(r io.Reader) (io.ReadCloser, error) {
		return fullReader{flate.NewReader(r)}, nil
	})
}

// fullReader fills p or fails (io.ErrUnexpectedEOF on a stream that ends
// inside the cluster).
type fullReader struct{ io.ReadCloser }

func (r fullReader) Read(p []byte) (int, error) { return io.ReadFull(r.ReadCloser, p) }

const (
	qcow2Magic          = "QFI\xfb"
	qcow2HeaderV2       = 72
	qcow2HeaderV3       = 104
	qcow2MinClusterBits = 9         // as QEMU
	qcow2MaxClusterBits = 21        // 2 MiB, as QEMU
	qcow2MaxL1Bytes     = 32 << 20  // QEMU's QCOW_MAX_L1_SIZE
	qcow2MaxSize        = 1 << 46   // 64 TiB: bounds an overlay's bitmap (128 MiB)
	qcow2MaxChain       = 16        // images in a backing chain, the top included
	qcow2L2Cached       = 16        // L2 tables the library's LRU keeps per image
	qcow2MaxMetadata    = 256 << 20 // L1 tables and L2 caches of a whole chain
	qcow2MaxBackingName = 1023
)

// Incompatible feature bits (qcow2 v3).
const (
	qcow2IncDirty      = 1 << 0
	qcow2IncCorrupt    = 1 << 1
	qcow2IncExtData    = 1 << 2
	qcow2IncCompress   = 1 << 3
	qcow2IncExtendedL2 = 1 << 4
	qcow2IncKnown      = qcow2IncDirty | qcow2IncCorrupt | qcow2IncExtData | qcow2IncCompress | qcow2IncExtendedL2
)

// DiskFormat names the format of the image at path, "qcow2" or "raw",
// detected by the qcow2 magic as popek does when it opens a drive.
func DiskFormat(path string) (string, error) {
	f, err := openProbe(path)
	if err != nil {
		return "", fmt.Errorf("open disk image: %w", err)
	}
	defer f.Close()
	q, err := isQcow2(f)
	if err != nil {
		return "", err
	}
	if q {
		return "qcow2", nil
	}
	return "raw", nil
}

// openProbe opens path read-only without blocking on a FIFO, so the format
// can be probed before the file is opened as what it is.
func openProbe(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
}

// isQcow2 reports whether f starts with the qcow2 magic. A file shorter
// than the magic is raw.
func isQcow2(f *os.File) (bool, error) {
	var m [4]byte
	n, err := f.ReadAt(m[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return n == len(m) && string(m[:]) == qcow2Magic, nil
}

// openDisk opens a drive without overlay: a raw image, or a qcow2 image
// when read-only.
func openDisk(path string, readOnly bool) (image, error) {
	f, err := openProbe(path)
	if err != nil {
		return nil, fmt.Errorf("open disk image: %w", err)
	}
	q, err := isQcow2(f)
	if err != nil || !q {
		f.Close()
		if err != nil {
			return nil, err
		}
		return openRaw(path, readOnly)
	}
	if !readOnly {
		f.Close()
		return nil, fmt.Errorf("%s is a qcow2 image: %w", path, ErrWritableQcow2)
	}
	return openQcow2(f)
}

// openBase opens the read-only image under an overlay, raw or qcow2, and
// hashes the file's first MiB as its identity.
func openBase(path string) (image, [32]byte, error) {
	f, err := openProbe(path)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("open base image: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, [32]byte{}, fmt.Errorf("stat base image: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, [32]byte{}, fmt.Errorf("base image %s is not a regular file", path)
	}
	hash, err := baseIdentity(f, st.Size())
	if err == nil {
		var q bool
		if q, err = isQcow2(f); err == nil && q {
			img, err := openQcow2(f)
			return img, hash, err
		}
	}
	if err != nil {
		f.Close()
		return nil, hash, err
	}
	if err := lockFile(f, false); err != nil {
		f.Close()
		return nil, hash, err
	}
	return &rawImage{f: f, size: st.Size()}, hash, nil
}

// qcow2Header is what popek checks of a qcow2 header (all big-endian).
type qcow2Header struct {
	version         uint32
	backingOff      uint64
	backingLen      uint32
	clusterBits     uint32
	size            uint64
	cryptMethod     uint32
	l1Size          uint32
	l1Off           uint64
	incompatible    uint64
	headerLen       uint32
	compressionType uint8
	clusterSize     uint64
	bytesPerL1Entry uint64 // guest bytes one L2 table maps
	l2TableBytes    uint64
	extendedL2      bool
	fileSize        int64
}

// parseQcow2Header reads and checks the header of f (size bytes long).
func parseQcow2Header(f io.ReaderAt, fileSize int64) (*qcow2Header, error) {
	var b [qcow2HeaderV3 + 8]byte
	n, err := f.ReadAt(b[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	be := binary.BigEndian
	switch {
	case n < 4 || string(b[:4]) != qcow2Magic:
		return nil, errors.New("not a qcow2 image (no QFI\\xfb magic)")
	case n < qcow2HeaderV2:
		return nil, errors.New("truncated header")
	}
	h := &qcow2Header{
		version: be.Uint32(b[4:]), backingOff: be.Uint64(b[8:]), backingLen: be.Uint32(b[16:]),
		clusterBits: be.Uint32(b[20:]), size: be.Uint64(b[24:]), cryptMethod: be.Uint32(b[32:]),
		l1Size: be.Uint32(b[36:]), l1Off: be.Uint64(b[40:]), headerLen: qcow2HeaderV2, fileSize: fileSize,
	}
	switch h.version {
	case 2:
	case 3:
		if n < qcow2HeaderV3 {
			return nil, errors.New("truncated version 3 header")
		}
		h.incompatible, h.headerLen = be.Uint64(b[72:]), be.Uint32(b[100:])
		if h.headerLen > qcow2HeaderV3 {
			if n <= qcow2HeaderV3 {
				return nil, errors.New("truncated version 3 header")
			}
			h.compressionType = b[104]
		}
	default:
		return nil, fmt.Errorf("unsupported qcow2 version %d", h.version)
	}
	if h.clusterBits < qcow2MinClusterBits || h.clusterBits > qcow2MaxClusterBits {
		return nil, fmt.Errorf("bad cluster size 2^%d (want 2^%d..2^%d)", h.clusterBits, qcow2MinClusterBits, qcow2MaxClusterBits)
	}
	h.clusterSize = 1 << h.clusterBits
	if err := h.checkFeatures(); err != nil {
		return nil, err
	}
	if h.version == 3 && (h.headerLen < qcow2HeaderV3 || uint64(h.headerLen) > h.clusterSize) {
		return nil, fmt.Errorf("bad header length %d", h.headerLen)
	}
	if err := h.checkLayout(); err != nil {
		return nil, err
	}
	return h, nil
}

// checkFeatures refuses what popek cannot read correctly.
func (h *qcow2Header) checkFeatures() error {
	if h.cryptMethod != 0 {
		how := map[uint32]string{1: "AES", 2: "LUKS"}[h.cryptMethod]
		if how == "" {
			how = fmt.Sprintf("method %d", h.cryptMethod)
		}
		return fmt.Errorf("encrypted image (%s) is not supported: decrypt it with qemu-img convert", how)
	}
	inc := h.incompatible
	switch {
	case inc&^qcow2IncKnown != 0:
		return fmt.Errorf("unknown incompatible feature bits %#x", inc&^qcow2IncKnown)
	case inc&qcow2IncExtData != 0:
		return errors.New("images with an external data file are not supported")
	case inc&qcow2IncCorrupt != 0:
		return errors.New("image is marked corrupt (repair it with qemu-img check -r all)")
	case h.compressionType != 0:
		return fmt.Errorf("compression type %d is not supported (only zlib): convert with qemu-img convert -O qcow2 -o compression_type=zlib", h.compressionType)
	}
	// The dirty bit only means refcounts may be stale: reads are fine.
	h.extendedL2 = inc&qcow2IncExtendedL2 != 0
	return nil
}

// checkLayout bounds sizes and tables by the file and popek's limits.
func (h *qcow2Header) checkLayout() error {
	entry := uint64(8)
	if h.extendedL2 {
		entry = 16
	}
	h.l2TableBytes = h.clusterSize
	h.bytesPerL1Entry = h.clusterSize / entry * h.clusterSize
	fs := uint64(h.fileSize)
	switch {
	case h.size == 0:
		return errors.New("empty disk (virtual size 0)")
	case h.size > qcow2MaxSize:
		return fmt.Errorf("virtual size %d is larger than popek's limit of %d TiB", h.size, qcow2MaxSize>>40)
	case uint64(h.l1Size)*8 > qcow2MaxL1Bytes:
		return fmt.Errorf("L1 table of %d entries is larger than %d MiB", h.l1Size, qcow2MaxL1Bytes>>20)
	case uint64(h.l1Size) < (h.size+h.bytesPerL1Entry-1)/h.bytesPerL1Entry:
		return fmt.Errorf("L1 table of %d entries does not cover the virtual size %d", h.l1Size, h.size)
	case h.l1Off == 0 || h.l1Off%h.clusterSize != 0:
		return fmt.Errorf("bad L1 table offset %#x", h.l1Off)
	case h.l1Off > fs || uint64(h.l1Size)*8 > fs-h.l1Off:
		return fmt.Errorf("L1 table at %#x runs past the end of the file (%d bytes): truncated image?", h.l1Off, fs)
	}
	if h.backingOff != 0 {
		switch {
		case h.backingLen == 0 || h.backingLen > qcow2MaxBackingName:
			return fmt.Errorf("bad backing file name length %d", h.backingLen)
		case h.backingOff > fs || uint64(h.backingLen) > fs-h.backingOff:
			return errors.New("backing file name runs past the end of the file")
		}
	}
	return nil
}

// metadata is the memory the library keeps for the image: its L1 table
// and its cache of L2 tables.
func (h *qcow2Header) metadata() int64 {
	return int64(h.l1Size)*8 + qcow2L2Cached*int64(h.l2TableBytes)
}

// qcow2Chain opens a qcow2 image and its backing files, remembering what
// it opened so a cycle, an overlong chain or too much metadata is refused.
type qcow2Chain struct {
	seen     map[[2]uint64]bool // device and inode of every file so far
	files    []*os.File         // closed together if the chain fails
	metadata int64
	err      error // the first refusal deep in the chain, reported as is
}

// openQcow2 opens the read-only qcow2 image in f; f is closed on error.
func openQcow2(f *os.File) (*qcow2Image, error) {
	c := &qcow2Chain{seen: map[[2]uint64]bool{}, files: []*os.File{f}}
	img, err := c.open(f)
	if err != nil {
		for _, f := range c.files { // closing twice is harmless
			f.Close()
		}
		if c.err != nil {
			err = c.err
		}
		return nil, fmt.Errorf("qcow2 %s: %w", f.Name(), err)
	}
	return &qcow2Image{path: f.Name(), img: img, size: img.Size(), cs: 1 << img.Header.ClusterBits}, nil
}

// enter locks f and records it as part of the chain.
func (c *qcow2Chain) enter(f *os.File) (int64, error) {
	if c.files[len(c.files)-1] != f {
		c.files = append(c.files, f)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, fmt.Errorf("%s is not a regular file", f.Name())
	}
	id := [2]uint64{uint64(st.Dev), st.Ino}
	switch {
	case c.seen[id]:
		return 0, errors.New("the backing chain loops back to this file")
	case len(c.seen) >= qcow2MaxChain:
		return 0, fmt.Errorf("backing chain is longer than %d images", qcow2MaxChain)
	}
	c.seen[id] = true
	return st.Size, lockFile(f, false)
}

// open checks f's header and opens it through the library, whose backing
// files come back through c.backing. On error the caller closes c.files.
func (c *qcow2Chain) open(f *os.File) (img *qcow2.Qcow2, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%v)", errQcow2Panic, r)
		}
		if err != nil {
			img = nil
		}
	}()
	size, err := c.enter(f)
	if err != nil {
		return nil, err
	}
	h, err := parseQcow2Header(f, size)
	if err != nil {
		return nil, err
	}
	if c.metadata += h.metadata(); c.metadata > qcow2MaxMetadata {
		return nil, fmt.Errorf("backing chain needs more than %d MiB of metadata", qcow2MaxMetadata>>20)
	}
	if h.backingOff != 0 {
		if err := checkBackingFile(f, h); err != nil {
			return nil, err
		}
	}
	img, err = qcow2.Open(f, c.backing)
	if err != nil {
		return nil, err
	}
	if err := img.Readable(); err != nil {
		return nil, err
	}
	if img.Size() != int64(h.size) {
		return nil, errors.New("header changed while opening")
	}
	return img, nil
}

// checkBackingFile makes sure the backing file the library is about to
// open is a regular file: opening a FIFO named by a hostile image would
// block. Relative names resolve against the image's directory, as QEMU
// and the library do.
func checkBackingFile(f *os.File, h *qcow2Header) error {
	name := make([]byte, h.backingLen)
	if _, err := f.ReadAt(name, int64(h.backingOff)); err != nil {
		return fmt.Errorf("read backing file name: %w", err)
	}
	path := string(name)
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(f.Name()), path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("backing file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("backing file %s is not a regular file", path)
	}
	return nil
}

// backing is the library's hook for opening a backing file (ra, opened by
// the library from the resolved path) of format t (from the header
// extension; "" to probe). On error it still returns an image wrapping
// ra: the library calls Close on what it gets even then.
func (c *qcow2Chain) backing(ra io.ReaderAt, t qimage.Type) (qimage.Image, error) {
	refuse := func(err error) (qimage.Image, error) {
		if c.err == nil {
			c.err = err
		}
		return &raw.Raw{ReaderAt: ra}, err
	}
	f, ok := ra.(*os.File)
	if !ok {
		return refuse(fmt.Errorf("backing file is a %T, not a file", ra))
	}
	if t == "" {
		q, err := isQcow2(f)
		if err != nil {
			return refuse(err)
		}
		t = raw.Type
		if q {
			t = qcow2.Type
		}
	}
	switch t {
	case qcow2.Type:
		img, err := c.open(f)
		if err != nil {
			return refuse(fmt.Errorf("backing file %s: %w", f.Name(), err))
		}
		return img, nil
	case raw.Type:
		if _, err := c.enter(f); err != nil {
			return refuse(fmt.Errorf("backing file %s: %w", f.Name(), err))
		}
		return &raw.Raw{ReaderAt: f}, nil
	}
	return refuse(fmt.Errorf("backing file %s has format %q: popek reads qcow2 and raw backing files only", f.Name(), t))
}

// qcow2Image is a read-only qcow2 disk.
type qcow2Image struct {
	path string
	img  *qcow2.Qcow2
	size int64
	cs   int64 // cluster size of the top image
	// Compressed clusters a request covered only in part, inflated whole:
	// the library inflates a compressed cluster from its start for every
	// read, so 4 KiB reads of a 64 KiB cluster would inflate it 16 times.
	cache [qcow2CachedClusters]cachedCluster
	next  int // slot to replace
}

const qcow2CachedClusters = 4

type cachedCluster struct {
	k    int64 // cluster number + 1; 0 is empty
	data []byte
}

var errQcow2ReadOnly = errors.New("qcow2 image is read-only")

func (q *qcow2Image) Size() int64 { return q.size }

// ReadAt fills p entirely or fails: inside the disk a short read means a
// table or cluster lies past the end of the file or a compressed cluster
// is cut short. Partial pieces of compressed clusters at either end of
// the request come from the cache; whole clusters are read directly.
func (q *qcow2Image) ReadAt(p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	if n := q.cachedPiece(p, off); n > 0 {
		p, off = p[n:], off+int64(n)
	}
	var tail []byte
	tailOff := (off + int64(len(p))) / q.cs * q.cs
	if last := off + int64(len(p)); tailOff > off && tailOff < last {
		if q.compressed(tailOff / q.cs) {
			tail, p = p[tailOff-off:], p[:tailOff-off]
		}
	}
	if len(p) > 0 {
		if err := q.readFull(p, off); err != nil {
			return err
		}
	}
	if len(tail) > 0 && q.cachedPiece(tail, tailOff) < len(tail) {
		return q.readFull(tail, tailOff)
	}
	return nil
}

// cachedPiece serves the start of p, when it is part of a compressed
// cluster and not all of it, from the cache. It returns the bytes served:
// 0 when the piece is not a compressed part or could not be cached.
func (q *qcow2Image) cachedPiece(p []byte, off int64) int {
	k := off / q.cs
	start, end := k*q.cs, min((k+1)*q.cs, q.size)
	n := min(end-off, int64(len(p)))
	if off == start && n == end-start {
		return 0 // the whole cluster: one direct read inflates it once
	}
	for i := range q.cache {
		if c := &q.cache[i]; c.k == k+1 {
			return copy(p[:n], c.data[off-start:])
		}
	}
	if !q.compressed(k) {
		return 0
	}
	c := &q.cache[q.next]
	if c.data == nil {
		c.data = make([]byte, q.cs)
	}
	c.k = 0
	if err := q.readFull(c.data[:end-start], start); err != nil {
		return 0 // the direct read reports it, or reads the part that is sound
	}
	c.k, q.next = k+1, (q.next+1)%len(q.cache)
	return copy(p[:n], c.data[off-start:end-start])
}

// compressed reports whether cluster k reads from a compressed cluster,
// in this image or (where it is unallocated) in the backing chain.
func (q *qcow2Image) compressed(k int64) (yes bool) {
	defer func() {
		if recover() != nil {
			yes = false
		}
	}()
	start := k * q.cs
	e, err := q.img.Extent(start, min(q.cs, q.size-start))
	return err == nil && e.Compressed
}

// readFull reads p at off through the library or fails. The library may
// return io.EOF with a full read.
func (q *qcow2Image) readFull(p []byte, off int64) error {
	n, err := q.readAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("qcow2 %s: read %d bytes at %d: %w", q.path, len(p), off, err)
}

// readAt calls the library, turning a panic on malformed metadata into an
// error for this request only.
func (q *qcow2Image) readAt(p []byte, off int64) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("%w (%v)", errQcow2Panic, r)
		}
	}()
	return q.img.ReadAt(p, off)
}

func (q *qcow2Image) WriteAt([]byte, int64) error          { return errQcow2ReadOnly }
func (q *qcow2Image) Discard(int64, int64) error           { return errQcow2ReadOnly }
func (q *qcow2Image) WriteZeroes(int64, int64, bool) error { return errQcow2ReadOnly }
func (q *qcow2Image) Flush() error                         { return nil }
func (q *qcow2Image) Close() error                         { return q.img.Close() }
