package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// memory.zst (--compress, for export and archive) is one zstd stream of:
//
//	header  [8]byte "POPEKMZ1", uint32 page size, uint32 0, uint64 RAM size
//	records uint64 first page, uint32 page count (1..zstRunPages), uint32 0,
//	        then count*4096 bytes of page data; runs in increasing order,
//	        not overlapping
//	end     a record with count 0
//
// It holds the same pages memory.raw would (zero pages and, when
// incremental, unchanged ones left out). Restoring from it decompresses
// into private memory: no lazy mapping, no sharing between clones.
const (
	zstMagic    = "POPEKMZ1"
	zstRunPages = 256
	zstHeader   = 24
	zstRecord   = 16
)

// compressMemory writes zstName from the stored pages of rawName.
func compressMemory(rawName, zstName string, idx, parent []uint64) (err error) {
	raw, err := os.Open(rawName)
	if err != nil {
		return err
	}
	defer raw.Close()
	out, err := os.OpenFile(zstName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("compress memory: %w", err)
		}
	}()
	bw := bufio.NewWriterSize(out, 1<<20)
	enc, err := zstd.NewWriter(bw, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	var hdr [zstHeader]byte
	copy(hdr[:], zstMagic)
	le.PutUint32(hdr[8:], pageSize)
	le.PutUint64(hdr[16:], uint64(len(idx))*pageSize)
	if _, err := enc.Write(hdr[:]); err != nil {
		return err
	}
	buf := make([]byte, zstRunPages*pageSize)
	writeRun := func(first, n int) error {
		var rec [zstRecord]byte
		le.PutUint64(rec[:], uint64(first))
		le.PutUint32(rec[8:], uint32(n))
		if _, err := enc.Write(rec[:]); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		data := buf[:n*pageSize]
		if _, err := raw.ReadAt(data, int64(first)*pageSize); err != nil {
			return err
		}
		_, err := enc.Write(data)
		return err
	}
	for i := 0; i < len(idx); {
		if !storedPage(idx, parent, i) {
			i++
			continue
		}
		n := 1
		for n < zstRunPages && i+n < len(idx) && storedPage(idx, parent, i+n) {
			n++
		}
		if err := writeRun(i, n); err != nil {
			return err
		}
		i += n
	}
	if err := writeRun(0, 0); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// readCompressedMemory calls fn for every run of pages in a memory.zst of
// a RAM of pages pages, checking the structure as it goes.
func readCompressedMemory(name string, pages uint64, fn func(first uint64, data []byte) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	dec, err := zstd.NewReader(bufio.NewReaderSize(f, 1<<20), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return err
	}
	defer dec.Close()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", MemoryZstFile, fmt.Sprintf(format, args...))
	}
	le := binary.LittleEndian
	var hdr [zstHeader]byte
	if _, err := io.ReadFull(dec, hdr[:]); err != nil {
		return bad("truncated header: %v", err)
	}
	if string(hdr[:8]) != zstMagic || le.Uint32(hdr[8:]) != pageSize || le.Uint64(hdr[16:]) != pages*pageSize {
		return bad("header does not match this snapshot's memory")
	}
	buf := make([]byte, zstRunPages*pageSize)
	next := uint64(0) // runs must start at or after this page
	for {
		var rec [zstRecord]byte
		if _, err := io.ReadFull(dec, rec[:]); err != nil {
			return bad("truncated: %v", err)
		}
		first, n := le.Uint64(rec[:]), uint64(le.Uint32(rec[8:]))
		if n == 0 {
			break
		}
		if n > zstRunPages || first < next || first >= pages || n > pages-first || le.Uint32(rec[12:]) != 0 {
			return bad("bad page run %d+%d", first, n)
		}
		data := buf[:n*pageSize]
		if _, err := io.ReadFull(dec, data); err != nil {
			return bad("truncated page data: %v", err)
		}
		if err := fn(first, data); err != nil {
			return err
		}
		next = first + n
	}
	var extra [1]byte
	if n, err := dec.Read(extra[:]); n != 0 || !errors.Is(err, io.EOF) {
		if err != nil && !errors.Is(err, io.EOF) {
			return bad("after the end record: %v", err)
		}
		return bad("data after the end record")
	}
	return nil
}
