package virtio

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// The shared folder's files are held by file descriptor, never by path:
// every file is an O_PATH descriptor reached from the root's descriptor one
// validated name at a time, with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)
// and O_NOFOLLOW. So no "..", absolute or relative symlink, or symlink
// swapped in by a host process can take an operation outside the folder:
// symlinks are only ever read (Readlink), never followed on the host.
// Operations that need a real descriptor (read, write, chmod, truncate)
// reopen the very inode through /proc/self/fd, and only for regular files
// and directories. Device nodes cannot be opened or created, so a guest
// cannot reach host devices through the share.

// p9Root is the shared directory: the p9.Attacher of the 9P server.
type p9Root struct {
	fd       int // O_PATH descriptor of the directory
	dev      uint64
	readOnly bool

	mu     sync.Mutex
	closed bool
}

func openP9Root(dir string, readOnly bool) (*p9Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	st, err := p9Stat(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", dir, err)
	}
	return &p9Root{fd: fd, dev: st.Dev, readOnly: readOnly}, nil
}

// Attach implements p9.Attacher: every attach gets its own descriptor of
// the root.
func (r *p9Root) Attach() (p9.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, linux.EIO
	}
	fd, err := unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, p9Errno(err)
	}
	return &p9File{root: r, fd: fd, kind: unix.S_IFDIR, open: -1}, nil
}

func (r *p9Root) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return unix.Close(r.fd)
}

// p9File is one file of the share as the 9P server sees it (one per fid).
type p9File struct {
	root *p9Root
	fd   int    // O_PATH, O_NOFOLLOW: the inode itself, even a symlink
	kind uint32 // S_IFMT bits; an inode's type never changes

	mu   sync.Mutex // guards open and directory offsets
	open int        // descriptor from Open or Create, or -1
}

var _ p9.File = (*p9File)(nil)

// p9Errno turns a host error into the Linux errno the 9P server sends, so
// ENOTEMPTY stays ENOTEMPTY (the server's generic mapping would make it
// EEXIST).
func p9Errno(err error) error {
	var e unix.Errno
	if errors.As(err, &e) {
		return linux.Errno(e)
	}
	return err
}

// p9ValidName rejects everything but a single path component.
func p9ValidName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return linux.EINVAL
	}
	return nil
}

func p9Stat(fd int) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// p9OpenBeneath opens name in directory dirfd as an O_PATH descriptor
// without following any symlink, nor leaving the directory.
func p9OpenBeneath(dirfd int, name string) (int, error) {
	if err := p9ValidName(name); err != nil {
		return -1, err
	}
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 16 {
		fd, err := unix.Openat2(dirfd, name, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR, unix.EAGAIN: // EAGAIN: a rename raced the lookup
			continue
		case unix.ENOSYS:
			// Before Linux 5.6: one validated name with O_NOFOLLOW is
			// just as confined.
			fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			return fd, p9Errno(err)
		default:
			return -1, p9Errno(err)
		}
	}
	return -1, linux.EAGAIN
}

// p9ProcPath names the inode behind fd for the calls that need a path.
func p9ProcPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

func (r *p9Root) qid(st *unix.Stat_t) p9.QID {
	path := st.Ino
	if st.Dev != r.dev {
		// Another filesystem mounted inside the share: keep its inode
		// numbers apart from the share's own.
		path = (st.Ino ^ st.Dev<<40) | 1<<63
	}
	return p9.QID{Type: p9.FileMode(st.Mode).QIDType(), Path: path}
}

func (r *p9Root) attr(st *unix.Stat_t) p9.Attr {
	return p9.Attr{
		Mode: p9.FileMode(st.Mode), UID: p9.UID(st.Uid), GID: p9.GID(st.Gid),
		NLink: p9.NLink(st.Nlink), RDev: p9.Dev(st.Rdev), Size: uint64(st.Size),
		BlockSize: uint64(st.Blksize), Blocks: uint64(st.Blocks),
		ATimeSeconds: uint64(st.Atim.Sec), ATimeNanoSeconds: uint64(st.Atim.Nsec),
		MTimeSeconds: uint64(st.Mtim.Sec), MTimeNanoSeconds: uint64(st.Mtim.Nsec),
		CTimeSeconds: uint64(st.Ctim.Sec), CTimeNanoSeconds: uint64(st.Ctim.Nsec),
	}
}

// p9AttrValid is what GetAttr fills in: Linux's P9_STATS_BASIC.
var p9AttrValid = p9.AttrMask{
	Mode: true, NLink: true, UID: true, GID: true, RDev: true, ATime: true,
	MTime: true, CTime: true, INo: true, Size: true, Blocks: true,
}

// newFile wraps an O_PATH descriptor, taking ownership of it.
func (r *p9Root) newFile(fd int) (*p9File, unix.Stat_t, error) {
	st, err := p9Stat(fd)
	if err != nil {
		unix.Close(fd)
		return nil, st, p9Errno(err)
	}
	return &p9File{root: r, fd: fd, kind: st.Mode & unix.S_IFMT, open: -1}, st, nil
}

// Walk implements p9.File. The server walks one name at a time.
func (f *p9File) Walk(names []string) ([]p9.QID, p9.File, error) {
	qids, nf, _, _, err := f.WalkGetAttr(names)
	return qids, nf, err
}

// WalkGetAttr implements p9.File, saving the server a GetAttr per step.
func (f *p9File) WalkGetAttr(names []string) ([]p9.QID, p9.File, p9.AttrMask, p9.Attr, error) {
	if len(names) == 0 {
		fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, nil, p9.AttrMask{}, p9.Attr{}, p9Errno(err)
		}
		nf, st, err := f.root.newFile(fd)
		if err != nil {
			return nil, nil, p9.AttrMask{}, p9.Attr{}, err
		}
		return nil, nf, p9AttrValid, f.root.attr(&st), nil
	}
	var qids []p9.QID
	cur := f
	var st unix.Stat_t
	for _, name := range names {
		if cur.kind != unix.S_IFDIR {
			if cur != f {
				cur.Close()
			}
			return nil, nil, p9.AttrMask{}, p9.Attr{}, linux.ENOTDIR
		}
		fd, err := p9OpenBeneath(cur.fd, name)
		if cur != f {
			cur.Close()
		}
		if err != nil {
			return nil, nil, p9.AttrMask{}, p9.Attr{}, err
		}
		next, s, err := f.root.newFile(fd)
		if err != nil {
			return nil, nil, p9.AttrMask{}, p9.Attr{}, err
		}
		cur, st = next, s
		qids = append(qids, f.root.qid(&st))
	}
	return qids, cur, p9AttrValid, f.root.attr(&st), nil
}

// StatFS implements p9.File.
func (f *p9File) StatFS() (p9.FSStat, error) {
	var s unix.Statfs_t
	if err := unix.Fstatfs(f.fd, &s); err != nil {
		return p9.FSStat{}, p9Errno(err)
	}
	return p9.FSStat{
		Type: uint32(s.Type), BlockSize: uint32(s.Bsize), Blocks: s.Blocks,
		BlocksFree: s.Bfree, BlocksAvailable: s.Bavail, Files: s.Files,
		FilesFree: s.Ffree, FSID: uint64(uint32(s.Fsid.Val[0])) | uint64(uint32(s.Fsid.Val[1]))<<32,
		NameLength: uint32(s.Namelen),
	}, nil
}

// GetAttr implements p9.File.
func (f *p9File) GetAttr(p9.AttrMask) (p9.QID, p9.AttrMask, p9.Attr, error) {
	st, err := p9Stat(f.fd)
	if err != nil {
		return p9.QID{}, p9.AttrMask{}, p9.Attr{}, p9Errno(err)
	}
	return f.root.qid(&st), p9AttrValid, f.root.attr(&st), nil
}

// Close implements p9.File; the server calls it once, on clunk.
func (f *p9File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open >= 0 {
		unix.Close(f.open)
		f.open = -1
	}
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
	return nil
}

// Readlink implements p9.File.
func (f *p9File) Readlink() (string, error) {
	if f.kind != unix.S_IFLNK {
		return "", linux.EINVAL
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(f.fd, "", buf)
	if err != nil {
		return "", p9Errno(err)
	}
	return string(buf[:n]), nil
}

// Renamed implements p9.File: descriptors follow their inode, so nothing
// changes.
func (f *p9File) Renamed(p9.File, string) {}

// Extended attributes are not shared: the guest sees a filesystem without
// them (EOPNOTSUPP), which Linux treats as "none set".

func (f *p9File) SetXattr(string, []byte, p9.XattrFlags) error { return f.noXattrs() }
func (f *p9File) RemoveXattr(string) error                     { return f.noXattrs() }
func (f *p9File) GetXattr(string) ([]byte, error)              { return nil, linux.EOPNOTSUPP }
func (f *p9File) ListXattrs() ([]string, error)                { return nil, nil }

func (f *p9File) noXattrs() error {
	if f.root.readOnly {
		return linux.EROFS
	}
	return linux.EOPNOTSUPP
}
