package virtio

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// image is the storage behind a block device: a raw file, or a base file
// with a copy-on-write overlay. Offsets are bytes; callers keep requests
// inside Size. Only the device's worker uses it.
type image interface {
	Size() int64
	ReadAt(p []byte, off int64) error
	WriteAt(p []byte, off int64) error
	// Discard tells the storage the range is unused; reads return anything.
	Discard(off, n int64) error
	// WriteZeroes makes the range read as zero; unmap allows deallocation.
	WriteZeroes(off, n int64, unmap bool) error
	// Flush makes every completed write durable.
	Flush() error
	Close() error
}

// lockFile takes an advisory lock so two VMs cannot write one image:
// exclusive for files popek writes, shared for read-only ones.
func lockFile(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("%s is in use by another process", f.Name())
		}
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}

func unsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL)
}

// punchHole deallocates [off, off+n) so it reads as zero and takes no space.
func punchHole(f *os.File, off, n int64) error {
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}

// zeroRange makes [off, off+n) of f read as zero without writing zero data
// when the filesystem can: punching a hole when unmap is allowed, else
// FALLOC_FL_ZERO_RANGE (allocated zeroes), falling back to writing zeroes.
func zeroRange(f *os.File, off, n int64, unmap bool) error {
	if n <= 0 {
		return nil
	}
	fd := int(f.Fd())
	if unmap {
		if err := punchHole(f, off, n); err == nil || !unsupported(err) {
			return err
		}
	}
	if err := unix.Fallocate(fd, unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, off, n); err == nil || !unsupported(err) {
		return err
	}
	zeros := make([]byte, min(n, 1<<20))
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}

// rawImage is a plain disk image file. It stays sparse: discards and zero
// writes punch holes instead of writing zero-filled blocks.
type rawImage struct {
	f    *os.File
	size int64
}

func openRaw(path string, readOnly bool) (*rawImage, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("open disk image: %w", err)
	}
	if err := lockFile(f, !readOnly); err != nil {
		f.Close()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat disk image: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("disk image %s is not a regular file", path)
	}
	return &rawImage{f: f, size: st.Size()}, nil
}

func (r *rawImage) Size() int64 { return r.size }

func (r *rawImage) ReadAt(p []byte, off int64) error {
	_, err := r.f.ReadAt(p, off)
	return err
}

func (r *rawImage) WriteAt(p []byte, off int64) error {
	_, err := r.f.WriteAt(p, off)
	return err
}

func (r *rawImage) Discard(off, n int64) error {
	if err := punchHole(r.f, off, n); err != nil && !unsupported(err) {
		return err
	}
	return nil // discard is advisory
}

func (r *rawImage) WriteZeroes(off, n int64, unmap bool) error {
	return zeroRange(r.f, off, n, unmap)
}

func (r *rawImage) Flush() error { return unix.Fdatasync(int(r.f.Fd())) }

func (r *rawImage) Close() error { return r.f.Close() }
