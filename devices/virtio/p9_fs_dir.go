package virtio

import (
	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// Directory operations act on one validated name inside the directory's
// own descriptor with *at calls that never follow a final symlink, so
// they cannot reach outside the share. New files belong to the popek
// process's user; the guest's uid/gid are not applied on the host.

// dirOp checks that f is a writable directory and name a single component.
func (f *p9File) dirOp(name string) error {
	if f.root.readOnly {
		return linux.EROFS
	}
	if f.kind != unix.S_IFDIR {
		return linux.ENOTDIR
	}
	return p9ValidName(name)
}

// qidAt stats name in directory f without following it.
func (f *p9File) qidAt(name string) (p9.QID, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(f.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return p9.QID{}, p9Errno(err)
	}
	return f.root.qid(&st), nil
}

// Create implements p9.File: a new regular file, opened.
func (f *p9File) Create(name string, flags p9.OpenFlags, perm p9.FileMode, _ p9.UID, _ p9.GID) (p9.File, p9.QID, uint32, error) {
	if err := f.dirOp(name); err != nil {
		return nil, p9.QID{}, 0, err
	}
	fl := p9OpenFlags(flags) &^ unix.O_DIRECTORY
	fd, err := unix.Openat(f.fd, name, fl|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, p9SafeMode(uint32(perm), false))
	if err != nil {
		return nil, p9.QID{}, 0, p9Errno(err)
	}
	// The O_PATH handle comes from the new descriptor, not the name, which
	// a host process could already have replaced.
	pfd, err := unix.Open(p9ProcPath(fd), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, p9.QID{}, 0, p9Errno(err)
	}
	nf, st, err := f.root.newFile(pfd)
	if err != nil {
		unix.Close(fd)
		return nil, p9.QID{}, 0, err
	}
	nf.open = fd
	return nf, f.root.qid(&st), 0, nil
}

// Mkdir implements p9.File.
func (f *p9File) Mkdir(name string, perm p9.FileMode, _ p9.UID, _ p9.GID) (p9.QID, error) {
	if err := f.dirOp(name); err != nil {
		return p9.QID{}, err
	}
	if err := unix.Mkdirat(f.fd, name, p9SafeMode(uint32(perm), true)); err != nil {
		return p9.QID{}, p9Errno(err)
	}
	return f.qidAt(name)
}

// Symlink implements p9.File. The target is stored as given: it is only
// ever interpreted by the guest.
func (f *p9File) Symlink(target, name string, _ p9.UID, _ p9.GID) (p9.QID, error) {
	if err := f.dirOp(name); err != nil {
		return p9.QID{}, err
	}
	if err := unix.Symlinkat(target, f.fd, name); err != nil {
		return p9.QID{}, p9Errno(err)
	}
	return f.qidAt(name)
}

// Link implements p9.File. Symlinks cannot be hard-linked: linking goes
// through /proc/self/fd, which would follow them on the host.
func (f *p9File) Link(target p9.File, name string) error {
	if err := f.dirOp(name); err != nil {
		return err
	}
	t, ok := target.(*p9File)
	if !ok || t.root != f.root {
		return linux.EXDEV
	}
	if t.kind == unix.S_IFDIR || t.kind == unix.S_IFLNK {
		return linux.EPERM
	}
	return p9Errno(unix.Linkat(unix.AT_FDCWD, p9ProcPath(t.fd), f.fd, name, unix.AT_SYMLINK_FOLLOW))
}

// Mknod implements p9.File for FIFOs, sockets and empty regular files;
// device nodes are refused.
func (f *p9File) Mknod(name string, mode p9.FileMode, _, _ uint32, _ p9.UID, _ p9.GID) (p9.QID, error) {
	if err := f.dirOp(name); err != nil {
		return p9.QID{}, err
	}
	typ := uint32(mode) & unix.S_IFMT
	switch typ {
	case unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFREG:
	default:
		return p9.QID{}, linux.EPERM
	}
	if err := unix.Mknodat(f.fd, name, typ|p9SafeMode(uint32(mode), false), 0); err != nil {
		return p9.QID{}, p9Errno(err)
	}
	return f.qidAt(name)
}

// Rename implements p9.File. The server implements Trename with the
// parent's RenameAt, since a descriptor does not know its own name.
func (f *p9File) Rename(p9.File, string) error { return linux.ENOSYS }

// RenameAt implements p9.File.
func (f *p9File) RenameAt(oldName string, newDir p9.File, newName string) error {
	if err := f.dirOp(oldName); err != nil {
		return err
	}
	d, ok := newDir.(*p9File)
	if !ok || d.root != f.root {
		return linux.EXDEV
	}
	if err := d.dirOp(newName); err != nil {
		return err
	}
	return p9Errno(unix.Renameat(f.fd, oldName, d.fd, newName))
}

// UnlinkAt implements p9.File; flags may hold AT_REMOVEDIR.
func (f *p9File) UnlinkAt(name string, flags uint32) error {
	if err := f.dirOp(name); err != nil {
		return err
	}
	return p9Errno(unix.Unlinkat(f.fd, name, int(flags&unix.AT_REMOVEDIR)))
}
