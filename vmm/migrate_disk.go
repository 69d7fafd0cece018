package vmm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/popek-vm/popek/snapshot"
	"golang.org/x/sys/unix"
)

// Disks move as snapshots freeze them, during the final pause after the
// device flushed: a writable raw image or a writable overlay is streamed
// sparsely (holes and all-zero 64 KiB blocks are skipped); the base of an
// overlay and read-only drives are not sent, and the target requires the
// same files at the same paths, with the identity (size, SHA-256 of the
// first MiB) snapshot/disk.go checks. The target writes the streamed files
// into its STATE/disks/VM/ and points the VM's config at them.

// migDiskBegin announces a drive's file.
type migDiskBegin struct {
	Drive int   `json:"drive"`
	Size  int64 `json:"size"`
}

// zeroBlock is the granularity at which zero ranges are skipped.
const zeroBlock = 64 << 10

// driveMode is how drive d moves.
func driveMode(d DriveConfig) string {
	switch {
	case d.ReadOnly:
		return driveReadOnly
	case d.Overlay != "":
		return driveOverlay
	}
	return driveImage
}

// describeDrives identifies the files the target must already have.
func describeDrives(c *Config) ([]migDrive, error) {
	var out []migDrive
	for i, d := range c.Drives {
		md := migDrive{Mode: driveMode(d)}
		if md.Mode != driveImage {
			size, id, err := snapshot.BaseIdentity(d.File)
			if err != nil {
				return nil, fmt.Errorf("drives[%d]: %v", i, err)
			}
			md.Base, md.BaseSize, md.BaseIdentity = d.File, size, id
		}
		out = append(out, md)
	}
	return out, nil
}

// streamedFile is the file of drive d that migration sends ("" if none).
func streamedFile(d DriveConfig) string {
	switch driveMode(d) {
	case driveImage:
		return d.File
	case driveOverlay:
		return d.Overlay
	}
	return ""
}

// sendDisks flushes and streams the writable drives; the guest is paused.
func (s *migSender) sendDisks() error {
	devs := s.mach.VirtioDevices()
	for i, d := range s.cfg.Drives {
		name := streamedFile(d)
		if name == "" {
			continue
		}
		if f, ok := devs[i].(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil {
				return fmt.Errorf("drives[%d]: flush: %v", i, err)
			}
		}
		n, err := s.streamFile(i, name)
		if err != nil {
			return fmt.Errorf("drives[%d]: %v", i, err)
		}
		s.res.DiskBytes += n
	}
	return nil
}

// streamFile sends one file's data extents, skipping zero blocks.
func (s *migSender) streamFile(drive int, name string) (uint64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size > migMaxDisk {
		return 0, fmt.Errorf("%s is larger than a migration carries", name)
	}
	if err := s.fw.writeJSON(frameDiskBegin, migDiskBegin{Drive: drive, Size: size}); err != nil {
		return 0, err
	}
	buf := make([]byte, diskChunk)
	var sent uint64
	for off := int64(0); off < size; {
		data, hole := dataExtent(f, off, size)
		if data >= size {
			break
		}
		for p := data; p < hole; {
			n := min(int64(diskChunk), hole-p)
			if _, err := f.ReadAt(buf[:n], p); err != nil && !errors.Is(err, io.EOF) {
				return sent, err
			}
			k, err := s.sendNonZeroRuns(drive, p, buf[:n])
			sent += k
			if err != nil {
				return sent, err
			}
			p += n
		}
		off = hole
	}
	return sent, nil
}

// dataExtent finds the next data extent at or after off (SEEK_DATA and
// SEEK_HOLE); without them the rest of the file is one extent.
func dataExtent(f *os.File, off, size int64) (data, hole int64) {
	d, err := f.Seek(off, unix.SEEK_DATA)
	if errors.Is(err, unix.ENXIO) {
		return size, size // only a hole is left
	}
	if err != nil {
		return off, size
	}
	h, err := f.Seek(d, unix.SEEK_HOLE)
	if err != nil || h > size {
		h = size
	}
	return d, h
}

// sendNonZeroRuns sends the runs of non-zero blocks of b, found at off.
func (s *migSender) sendNonZeroRuns(drive int, off int64, b []byte) (uint64, error) {
	var sent uint64
	start := -1
	emit := func(end int) error {
		if start < 0 {
			return nil
		}
		payload := binary.LittleEndian.AppendUint32(s.buf[:0], uint32(drive))
		payload = binary.LittleEndian.AppendUint64(payload, uint64(off)+uint64(start))
		payload = append(payload, b[start:end]...)
		s.buf = payload
		sent += uint64(end - start)
		start = -1
		return s.fw.write(frameDisk, payload, true)
	}
	for i := 0; i < len(b); i += zeroBlock {
		j := min(len(b), i+zeroBlock)
		if isZeroBytes(b[i:j]) {
			if err := emit(i); err != nil {
				return sent, err
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return sent, emit(len(b))
}

func isZeroBytes(b []byte) bool {
	for len(b) >= pageBytes {
		if !isZeroPage(b[:pageBytes]) {
			return false
		}
		b = b[pageBytes:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// incomingDisks are the target's files for the drives being received.
type incomingDisks struct {
	dir   string
	files map[int]*incomingFile // by drive
}

type incomingFile struct {
	f     *os.File
	size  int64
	began bool
}

// planIncomingDisks checks the drives against this host and rewrites the
// config so streamed files land in dir; the files are created empty.
func planIncomingDisks(c *Config, drives []migDrive, dir string) (*incomingDisks, error) {
	if len(drives) != len(c.Drives) {
		return nil, errorf(KindInvalid, "the stream describes %d drives, the config %d", len(drives), len(c.Drives))
	}
	in := &incomingDisks{dir: dir, files: map[int]*incomingFile{}}
	for i := range c.Drives {
		d, md := &c.Drives[i], drives[i]
		if md.Mode != driveMode(*d) {
			return nil, errorf(KindInvalid, "drives[%d]: the stream sends it as %q, the config says %q", i, md.Mode, driveMode(*d))
		}
		if md.Mode != driveImage {
			if md.Base != d.File {
				return nil, errorf(KindInvalid, "drives[%d]: the stream names base %s, the config %s", i, md.Base, d.File)
			}
			size, id, err := snapshot.BaseIdentity(d.File)
			if err != nil {
				return nil, errorf(KindConflict, "drives[%d]: this host needs the same file: %v", i, err)
			}
			if size != md.BaseSize || id != md.BaseIdentity {
				return nil, errorf(KindConflict, "drives[%d]: %s on this host is not the source's (size or contents differ)", i, d.File)
			}
		}
		switch md.Mode {
		case driveReadOnly:
			if d.Overlay != "" {
				if _, err := os.Stat(d.Overlay); err != nil {
					return nil, errorf(KindConflict, "drives[%d]: this host needs the same overlay: %v", i, err)
				}
			}
			continue
		case driveImage:
			d.File = filepath.Join(dir, fmt.Sprintf("disk%d.img", i))
		case driveOverlay:
			d.Overlay = filepath.Join(dir, fmt.Sprintf("disk%d.ovl", i))
		}
		in.files[i] = &incomingFile{}
	}
	if len(in.files) == 0 {
		return in, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errorf(KindInternal, "%v", err)
	}
	for i, f := range in.files {
		name := streamedFile(c.Drives[i])
		fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			in.close()
			return nil, errorf(KindInternal, "drives[%d]: %v", i, err)
		}
		f.f = fh
	}
	return in, nil
}

func (in *incomingDisks) begin(f frame) error {
	var b migDiskBegin
	if err := decodeJSON(f, &b); err != nil {
		return err
	}
	file, ok := in.files[b.Drive]
	switch {
	case !ok:
		return streamErr("disk data for drive %d, which is not streamed", b.Drive)
	case file.began:
		return streamErr("drive %d sent twice", b.Drive)
	case b.Size < 0 || b.Size > migMaxDisk:
		return streamErr("drive %d of %d bytes", b.Drive, b.Size)
	}
	file.began, file.size = true, b.Size
	return file.f.Truncate(b.Size)
}

// write stores one disk frame, inside the announced size only.
func (in *incomingDisks) write(payload []byte) (int, error) {
	if len(payload) < 12 {
		return 0, streamErr("disk frame of %d bytes", len(payload))
	}
	drive := int(binary.LittleEndian.Uint32(payload))
	off := binary.LittleEndian.Uint64(payload[4:])
	data := payload[12:]
	file, ok := in.files[drive]
	if !ok || !file.began {
		return 0, streamErr("disk data for drive %d before its announcement", drive)
	}
	if off > uint64(file.size) || uint64(len(data)) > uint64(file.size)-off {
		return 0, streamErr("disk data at %d+%d outside drive %d's %d bytes", off, len(data), drive, file.size)
	}
	if _, err := file.f.WriteAt(data, int64(off)); err != nil {
		return 0, err
	}
	return len(data), nil
}

// finish checks every file came and makes them durable.
func (in *incomingDisks) finish() error {
	for i, f := range in.files {
		if !f.began {
			return streamErr("drive %d was never sent", i)
		}
		if err := f.f.Sync(); err != nil {
			return err
		}
	}
	in.close()
	if len(in.files) == 0 {
		return nil
	}
	return syncDir(in.dir)
}

func (in *incomingDisks) close() {
	for _, f := range in.files {
		if f.f != nil {
			f.f.Close()
			f.f = nil
		}
	}
}
