package vmm

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/zeebo/xxh3"
)

// The migration stream. The source opens with a 16-byte preamble
//
//	0  [8]byte "POPEKMIG"
//	8  uint32  migVersion
//	12 uint32  0
//
// and then both sides exchange frames, each a 24-byte header and a payload:
//
//	0  uint8   frame type
//	1  uint8   flags (bit 0: payload is one zstd frame)
//	2  uint16  0
//	4  uint32  sequence number, from 0 per direction
//	8  uint32  payload bytes on the wire
//	12 uint32  payload bytes once decompressed (≤ migMaxPayload)
//	16 uint64  xxh3 of header bytes 0..15 and the decompressed payload
//
// All integers are little-endian. Every length is checked against its
// bound before anything is allocated, so a hostile stream costs at most
// one frame's buffer; the sequence number catches lost or replayed frames
// and the checksum corrupted ones.
const (
	migMagic      = "POPEKMIG"
	migVersion    = 1
	migPreamble   = 16
	migHeader     = 24
	migMaxPayload = 4 << 20
	// migMaxWire bounds a compressed payload: zstd never expands data by
	// more than a small fraction.
	migMaxWire = migMaxPayload + migMaxPayload/64 + 1024
	flagZstd   = 1
)

type frameType uint8

const (
	frameHello     frameType = iota + 1 // JSON migHello, source → target
	frameAccept                         // JSON migAccept, target → source
	frameError                          // JSON migErrorBody, either way; ends the migration
	framePages                          // uint32 n, n × uint64 page index, n × 4096 bytes
	frameZero                           // uint32 n, n × uint64 page index: pages that are now zero
	frameRound                          // JSON migRoundEnd: a pre-copy round is over
	frameState                          // a chunk of the gob-encoded board.MachineState
	frameDiskBegin                      // JSON migDiskBegin: a drive's file follows
	frameDisk                           // uint32 drive, uint64 offset, data
	frameDone                           // JSON migDone: everything was sent
	frameRunning                        // JSON migRunning, target → source: the VM runs there
	frameLimit                          // first unknown type
)

func (t frameType) String() string {
	names := [...]string{"", "hello", "accept", "error", "pages", "zero-pages", "round", "state", "disk-begin", "disk", "done", "running"}
	if t > 0 && t < frameLimit {
		return names[t]
	}
	return fmt.Sprintf("type-%d", uint8(t))
}

const (
	pageBytes = 4096
	// pagesPerFrame keeps a pages frame at about 1 MiB.
	pagesPerFrame = 256
	// zeroPerFrame bounds a zero-pages frame's index list.
	zeroPerFrame = 65536
	// diskChunk is the largest disk extent in one frame.
	diskChunk = 1 << 20
)

// frame is one decoded frame. payload is only valid until the next read.
type frame struct {
	typ     frameType
	payload []byte
}

// frameWriter encodes frames onto a buffered stream and counts the bytes.
type frameWriter struct {
	w        *bufio.Writer
	seq      uint32
	compress bool
	enc      *zstd.Encoder
	zbuf     []byte
	bytes    uint64 // written to the stream, headers included
}

func newFrameWriter(w io.Writer, compress bool) *frameWriter {
	fw := &frameWriter{compress: compress}
	fw.w = bufio.NewWriterSize(&countingWriter{w: w, n: &fw.bytes}, 256<<10)
	if compress {
		fw.enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	}
	return fw
}

type countingWriter struct {
	w io.Writer
	n *uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	*c.n += uint64(k)
	return k, err
}

func writePreamble(w io.Writer) error {
	var p [migPreamble]byte
	copy(p[:], migMagic)
	binary.LittleEndian.PutUint32(p[8:], migVersion)
	_, err := w.Write(p[:])
	return err
}

func readPreamble(r io.Reader) error {
	var p [migPreamble]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return fmt.Errorf("reading the migration preamble: %w", err)
	}
	if string(p[:8]) != migMagic {
		return errors.New("not a popek migration stream")
	}
	if v := binary.LittleEndian.Uint32(p[8:]); v != migVersion {
		return fmt.Errorf("migration stream version %d, this popek speaks version %d", v, migVersion)
	}
	return nil
}

// write sends one frame; compressible payloads are zstd-compressed when
// the writer compresses and it pays.
func (fw *frameWriter) write(t frameType, payload []byte, compressible bool) error {
	if len(payload) > migMaxPayload {
		return fmt.Errorf("migration: %s frame of %d bytes exceeds %d", t, len(payload), migMaxPayload)
	}
	wire, flags := payload, uint8(0)
	if fw.compress && compressible && len(payload) > 0 {
		fw.zbuf = fw.enc.EncodeAll(payload, fw.zbuf[:0])
		if len(fw.zbuf) < len(payload) {
			wire, flags = fw.zbuf, flagZstd
		}
	}
	var h [migHeader]byte
	h[0], h[1] = uint8(t), flags
	binary.LittleEndian.PutUint32(h[4:], fw.seq)
	binary.LittleEndian.PutUint32(h[8:], uint32(len(wire)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[16:], frameSum(h[:16], payload))
	fw.seq++
	if _, err := fw.w.Write(h[:]); err != nil {
		return err
	}
	_, err := fw.w.Write(wire)
	return err
}

func (fw *frameWriter) writeJSON(t frameType, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return fw.write(t, b, false)
}

func (fw *frameWriter) flush() error { return fw.w.Flush() }

func frameSum(header, payload []byte) uint64 {
	var h xxh3.Hasher
	h.Write(header)
	h.Write(payload)
	return h.Sum64()
}

// frameReader decodes frames, refusing anything malformed.
type frameReader struct {
	r    io.Reader
	seq  uint32
	buf  []byte // wire bytes
	raw  []byte // decompressed payload
	dec  *zstd.Decoder
	read uint64 // bytes consumed, headers included
}

func newFrameReader(r io.Reader) *frameReader { return &frameReader{r: r} }

// errStream marks a stream that is malformed (as opposed to cut).
var errStream = errors.New("malformed migration stream")

func streamErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errStream, fmt.Sprintf(format, args...))
}

func (fr *frameReader) next() (frame, error) {
	var h [migHeader]byte
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, fmt.Errorf("migration stream cut inside a frame header")
		}
		return frame{}, err
	}
	t, flags := frameType(h[0]), h[1]
	seq := binary.LittleEndian.Uint32(h[4:])
	wireLen := binary.LittleEndian.Uint32(h[8:])
	rawLen := binary.LittleEndian.Uint32(h[12:])
	switch {
	case t == 0 || t >= frameLimit:
		return frame{}, streamErr("unknown frame type %d", h[0])
	case flags&^flagZstd != 0 || h[2] != 0 || h[3] != 0:
		return frame{}, streamErr("%s frame with unknown flags %#x", t, h[1:4])
	case seq != fr.seq:
		return frame{}, streamErr("%s frame number %d where %d was due", t, seq, fr.seq)
	case rawLen > migMaxPayload:
		return frame{}, streamErr("%s frame of %d bytes exceeds %d", t, rawLen, migMaxPayload)
	case flags&flagZstd == 0 && wireLen != rawLen:
		return frame{}, streamErr("%s frame: %d bytes sent for %d", t, wireLen, rawLen)
	case wireLen > migMaxWire:
		return frame{}, streamErr("%s frame: %d compressed bytes exceed %d", t, wireLen, migMaxWire)
	}
	fr.seq++
	if cap(fr.buf) < int(wireLen) {
		fr.buf = make([]byte, wireLen)
	}
	wire := fr.buf[:wireLen]
	if _, err := io.ReadFull(fr.r, wire); err != nil {
		return frame{}, fmt.Errorf("migration stream cut inside a %s frame: %w", t, err)
	}
	fr.read += migHeader + uint64(wireLen)
	payload := wire
	if flags&flagZstd != 0 {
		if fr.dec == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(migMaxPayload),
				zstd.WithDecodeAllCapLimit(true))
			if err != nil {
				return frame{}, err
			}
			fr.dec = d
		}
		if cap(fr.raw) < int(rawLen) {
			fr.raw = make([]byte, 0, rawLen)
		}
		out, err := fr.dec.DecodeAll(wire, fr.raw[:0:rawLen])
		if err != nil {
			return frame{}, streamErr("%s frame: zstd: %v", t, err)
		}
		if len(out) != int(rawLen) {
			return frame{}, streamErr("%s frame: decompressed to %d bytes, header says %d", t, len(out), rawLen)
		}
		payload = out
	}
	if frameSum(h[:16], payload) != binary.LittleEndian.Uint64(h[16:]) {
		return frame{}, streamErr("%s frame %d: checksum mismatch", t, seq)
	}
	return frame{typ: t, payload: payload}, nil
}

func (fr *frameReader) close() {
	if fr.dec != nil {
		fr.dec.Close()
	}
}

// decodeJSON decodes a JSON frame strictly.
func decodeJSON(f frame, v any) error {
	if err := json.Unmarshal(f.payload, v); err != nil {
		return streamErr("%s frame: %v", f.typ, err)
	}
	return nil
}

// encodePages builds a pages frame (zero false) or a zero-pages frame
// from page indices and, for pages, their contents in RAM.
func encodePages(dst []byte, idx []uint64, ram []byte, zero bool) []byte {
	dst = binary.LittleEndian.AppendUint32(dst[:0], uint32(len(idx)))
	for _, p := range idx {
		dst = binary.LittleEndian.AppendUint64(dst, p)
	}
	if !zero {
		for _, p := range idx {
			dst = append(dst, ram[p*pageBytes:(p+1)*pageBytes]...)
		}
	}
	return dst
}

// decodePages checks a pages or zero-pages payload against a RAM of
// pages pages and returns the indices and (for pages) the contents.
func decodePages(payload []byte, pages uint64, zero bool) (idx []byte, data []byte, n int, err error) {
	if len(payload) < 4 {
		return nil, nil, 0, streamErr("page frame of %d bytes", len(payload))
	}
	n = int(binary.LittleEndian.Uint32(payload))
	limit, per := pagesPerFrame, 8+pageBytes
	if zero {
		limit, per = zeroPerFrame, 8
	}
	if n == 0 || n > limit {
		return nil, nil, 0, streamErr("page frame with %d pages", n)
	}
	if len(payload) != 4+n*per {
		return nil, nil, 0, streamErr("page frame of %d bytes for %d pages", len(payload), n)
	}
	idx = payload[4 : 4+8*n]
	for i := 0; i < n; i++ {
		if p := binary.LittleEndian.Uint64(idx[8*i:]); p >= pages {
			return nil, nil, 0, streamErr("page %d outside the guest's %d pages", p, pages)
		}
	}
	return idx, payload[4+8*n:], n, nil
}
