package virtio

import (
	"encoding/binary"
	"math"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// p9OpenFlags keeps the open flags the guest may ask for; the rest (O_DIRECT
// with its alignment rules, O_NOATIME, O_ASYNC, O_NONBLOCK, ...) are
// dropped, and the descriptor never becomes the host's controlling terminal
// or leaks into children.
func p9OpenFlags(flags p9.OpenFlags) int {
	const keep = unix.O_ACCMODE | unix.O_TRUNC | unix.O_APPEND | unix.O_DSYNC | unix.O_SYNC | unix.O_DIRECTORY
	return int(flags)&keep | unix.O_CLOEXEC | unix.O_NOCTTY
}

// p9Writes reports whether open flags would modify the file.
func p9Writes(flags int) bool {
	return flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0
}

// p9SafeMode strips set-user-ID and (except on directories) set-group-ID:
// popek may run as root, and a guest must not plant set-ID programs on the
// host.
func p9SafeMode(mode uint32, dir bool) uint32 {
	mode &= 0o7777 &^ unix.S_ISUID
	if !dir {
		mode &^= unix.S_ISGID
	}
	return mode
}

// Open implements p9.File: it reopens the inode with real access.
func (f *p9File) Open(flags p9.OpenFlags) (p9.QID, uint32, error) {
	if f.kind != unix.S_IFREG && f.kind != unix.S_IFDIR {
		// Symlinks are resolved by the guest, and host devices, FIFOs
		// and sockets stay out of reach.
		return p9.QID{}, 0, linux.EPERM
	}
	fl := p9OpenFlags(flags)
	if f.root.readOnly && p9Writes(fl) {
		return p9.QID{}, 0, linux.EROFS
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open >= 0 {
		return p9.QID{}, 0, linux.EINVAL
	}
	fd, err := unix.Open(p9ProcPath(f.fd), fl, 0)
	if err != nil {
		return p9.QID{}, 0, p9Errno(err)
	}
	st, err := p9Stat(fd)
	if err != nil {
		unix.Close(fd)
		return p9.QID{}, 0, p9Errno(err)
	}
	f.open = fd
	return f.root.qid(&st), 0, nil
}

// openFD is the descriptor from Open, or -1.
func (f *p9File) openFD() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

// ReadAt implements p9.File.
func (f *p9File) ReadAt(p []byte, off int64) (int, error) {
	fd := f.openFD()
	if fd < 0 {
		return 0, linux.EBADF
	}
	n, err := unix.Pread(fd, p, off)
	if err != nil {
		return 0, p9Errno(err)
	}
	return n, nil
}

// WriteAt implements p9.File.
func (f *p9File) WriteAt(p []byte, off int64) (int, error) {
	if f.root.readOnly {
		return 0, linux.EROFS
	}
	fd := f.openFD()
	if fd < 0 {
		return 0, linux.EBADF
	}
	n, err := unix.Pwrite(fd, p, off)
	if err != nil {
		return n, p9Errno(err)
	}
	return n, nil
}

// FSync implements p9.File.
func (f *p9File) FSync() error {
	fd := f.openFD()
	if fd < 0 {
		return linux.EBADF
	}
	return p9Errno(unix.Fsync(fd))
}

// Lock implements p9.File with open file description locks, so locks
// taken through different fids conflict as they would between processes.
// It never waits: a conflicting lock reports Blocked and the guest retries.
func (f *p9File) Lock(_ int, typ p9.LockType, _ p9.LockFlags, start, length uint64, _ string) (p9.LockStatus, error) {
	fd := f.openFD()
	if fd < 0 {
		return p9.LockStatusError, linux.EBADF
	}
	var t int16
	switch typ {
	case p9.ReadLock:
		t = unix.F_RDLCK
	case p9.WriteLock:
		t = unix.F_WRLCK
	case p9.Unlock:
		t = unix.F_UNLCK
	default:
		return p9.LockStatusError, linux.EINVAL
	}
	if start > math.MaxInt64 || length > math.MaxInt64 {
		return p9.LockStatusError, linux.EINVAL
	}
	fl := unix.Flock_t{Type: t, Whence: unix.SEEK_SET, Start: int64(start), Len: int64(length)}
	switch err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &fl); err {
	case nil:
		return p9.LockStatusOK, nil
	case unix.EAGAIN, unix.EACCES:
		return p9.LockStatusBlocked, nil
	default:
		return p9.LockStatusError, p9Errno(err)
	}
}

// Readdir implements p9.File. Offsets are the host's directory cookies
// (d_off), so reads resume exactly where the guest left off.
func (f *p9File) Readdir(offset uint64, count uint32) (p9.Dirents, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open < 0 || f.kind != unix.S_IFDIR {
		return nil, linux.EBADF
	}
	if offset > math.MaxInt64 {
		return nil, linux.EINVAL
	}
	if _, err := unix.Seek(f.open, int64(offset), 0); err != nil {
		return nil, p9Errno(err)
	}
	var ents p9.Dirents
	size := 0
	buf := make([]byte, min(int(count)*2+512, 64<<10))
	for {
		n, err := unix.Getdents(f.open, buf)
		if err != nil {
			return nil, p9Errno(err)
		}
		if n <= 0 {
			return ents, nil
		}
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:]))
			if reclen < 19 || reclen > len(b) {
				return ents, nil
			}
			name := b[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			// Encoded as qid[13] offset[8] type[1] name[s].
			size += 24 + len(name)
			if size > int(count) {
				return ents, nil
			}
			ino := binary.NativeEndian.Uint64(b[0:])
			st := unix.Stat_t{Ino: ino, Dev: f.root.dev, Mode: p9DirentMode(b[18])}
			q := f.root.qid(&st)
			ents = append(ents, p9.Dirent{QID: q, Offset: binary.NativeEndian.Uint64(b[8:]), Type: q.Type, Name: string(name)})
			b = b[reclen:]
		}
	}
}

// p9DirentMode maps a dirent's d_type to file type bits.
func p9DirentMode(t byte) uint32 {
	switch t {
	case unix.DT_DIR:
		return unix.S_IFDIR
	case unix.DT_LNK:
		return unix.S_IFLNK
	}
	return unix.S_IFREG
}

// SetAttr implements p9.File.
func (f *p9File) SetAttr(valid p9.SetAttrMask, attr p9.SetAttr) error {
	if f.root.readOnly {
		return linux.EROFS
	}
	link := f.kind == unix.S_IFLNK
	path := p9ProcPath(f.fd)
	if valid.Permissions {
		if link {
			return linux.EOPNOTSUPP // Linux has no symlink modes
		}
		if err := unix.Fchmodat(unix.AT_FDCWD, path, p9SafeMode(uint32(attr.Permissions), f.kind == unix.S_IFDIR), 0); err != nil {
			return p9Errno(err)
		}
	}
	if valid.UID || valid.GID {
		uid, gid := -1, -1
		if valid.UID {
			uid = int(attr.UID)
		}
		if valid.GID {
			gid = int(attr.GID)
		}
		if err := unix.Fchownat(f.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return p9Errno(err)
		}
	}
	if valid.Size {
		switch {
		case f.kind == unix.S_IFDIR:
			return linux.EISDIR
		case f.kind != unix.S_IFREG:
			return linux.EINVAL
		case attr.Size > math.MaxInt64:
			return linux.EFBIG
		}
		if err := unix.Truncate(path, int64(attr.Size)); err != nil {
			return p9Errno(err)
		}
	}
	if valid.ATime || valid.MTime {
		if link {
			// Only reachable by a path that would follow the link.
			return linux.EOPNOTSUPP
		}
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if valid.ATime {
			ts[0] = p9Time(valid.ATimeNotSystemTime, attr.ATimeSeconds, attr.ATimeNanoSeconds)
		}
		if valid.MTime {
			ts[1] = p9Time(valid.MTimeNotSystemTime, attr.MTimeSeconds, attr.MTimeNanoSeconds)
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, 0); err != nil {
			return p9Errno(err)
		}
	}
	return nil // CTime: the host updates it itself
}

func p9Time(given bool, sec, nsec uint64) unix.Timespec {
	if !given {
		return unix.Timespec{Nsec: unix.UTIME_NOW}
	}
	return unix.Timespec{Sec: int64(sec), Nsec: int64(nsec % 1e9)}
}
