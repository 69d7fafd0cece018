package snapshot

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/zeebo/xxh3"
	"golang.org/x/sys/unix"
)

// pageSize is the unit of memory files, page indexes and digests.
const pageSize = 4096

// digestPrefix names the checksum algorithm in the manifest.
const digestPrefix = "xxh3-128-pages:"

var (
	zeroPage [pageSize]byte
	// zeroHash is the page hash of an all-zero page.
	zeroHash = xxh3.Hash(zeroPage[:])
)

// pageHash is the per-page hash of page indexes (memory.idx) and digests.
func pageHash(p []byte) uint64 { return xxh3.Hash(p) }

func isZero(p []byte) bool {
	for len(p) > 0 {
		n := min(len(p), pageSize)
		if !bytes.Equal(p[:n], zeroPage[:n]) {
			return false
		}
		p = p[n:]
	}
	return true
}

// digester computes the format's file checksum: xxh3-128 over the file size
// and, for every 4 KiB page that is not all zero, its index and xxh3-64
// hash. Zero pages do not count, so a file's checksum is the same whether
// its zeroes are holes or written blocks (a sparse copy, a restore from
// archive), and verifying a sparse file reads only its data.
type digester struct {
	h   *xxh3.Hasher128
	buf [16]byte
}

func newDigester(size int64) *digester {
	d := &digester{h: xxh3.New128()}
	d.h.WriteString("popek-pages-v1")
	binary.LittleEndian.PutUint64(d.buf[:8], uint64(size))
	d.h.Write(d.buf[:8])
	return d
}

// page adds a non-zero page; pages must come in increasing index order.
func (d *digester) page(index, hash uint64) {
	binary.LittleEndian.PutUint64(d.buf[:8], index)
	binary.LittleEndian.PutUint64(d.buf[8:], hash)
	d.h.Write(d.buf[:])
}

func (d *digester) sum() string {
	b := d.h.Sum128().Bytes()
	return digestPrefix + hex.EncodeToString(b[:])
}

// bytesDigest is the checksum of a file holding b.
func bytesDigest(b []byte) string {
	d := newDigester(int64(len(b)))
	for i := 0; i < len(b); i += pageSize {
		p := b[i:min(i+pageSize, len(b))]
		if !isZero(p) {
			d.page(uint64(i/pageSize), pageHash(p))
		}
	}
	return d.sum()
}

// fileDigest checksums the first size bytes of f, reading only its data
// extents.
func fileDigest(f *os.File, size int64) (string, error) {
	d := newDigester(size)
	buf := make([]byte, 1<<20)
	err := forDataPages(f, size, func(first int64, data []byte) {
		for i := 0; i < len(data); i += pageSize {
			p := data[i:min(i+pageSize, len(data))]
			if !isZero(p) {
				d.page(uint64(first)+uint64(i/pageSize), pageHash(p))
			}
		}
	}, buf)
	if err != nil {
		return "", err
	}
	return d.sum(), nil
}

// forDataPages calls fn with the bytes of every page range of f below size
// that may hold data, in increasing order, first being the index of the
// range's first page. Holes are skipped without reading. buf (a multiple
// of pageSize) is the read buffer.
func forDataPages(f *os.File, size int64, fn func(first int64, data []byte), buf []byte) error {
	next := int64(0) // the first page not yet passed to fn
	for next*pageSize < size {
		start, end, err := dataExtent(f, next*pageSize, size)
		if err != nil {
			return err
		}
		if start >= size {
			break
		}
		first := max(start/pageSize, next)
		last := (min(end, size) + pageSize - 1) / pageSize // one past
		for p := first; p < last; {
			n := min(last-p, int64(len(buf)/pageSize))
			chunk := buf[:min(n*pageSize, size-p*pageSize)]
			if _, err := f.ReadAt(chunk, p*pageSize); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read %s: %w", f.Name(), err)
			}
			fn(p, chunk)
			p += n
		}
		next = last
	}
	return nil
}

// dataExtent returns the next range at or after off that holds data, by
// SEEK_DATA/SEEK_HOLE; where those are unsupported the rest of the file is
// one extent. start >= limit means no data remains.
func dataExtent(f *os.File, off, limit int64) (start, end int64, err error) {
	fd := int(f.Fd())
	start, err = unix.Seek(fd, off, unix.SEEK_DATA)
	if errors.Is(err, unix.ENXIO) {
		return limit, limit, nil
	}
	if err != nil {
		return off, limit, nil
	}
	end, err = unix.Seek(fd, start, unix.SEEK_HOLE)
	if err != nil {
		return start, limit, nil
	}
	return start, end, nil
}
