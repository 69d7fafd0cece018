package virtio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// socketStaging is the suffix of a taking-over device's socket until its
// Commit moves it over the real path (a same-host live migration).
const socketStaging = ".incoming"

// maxUnixPath is the longest path Linux binds a Unix socket to (sun_path
// holds 108 bytes with the terminating NUL).
const maxUnixPath = 107

// CheckSocketPath refuses a path a device could not listen on in every
// case: it must leave room for the staging suffix a same-host migration's
// target listens on.
func CheckSocketPath(path string) error {
	if max := maxUnixPath - len(socketStaging); len(path) > max {
		return fmt.Errorf("%s is %d bytes: a Unix socket path can be at most %d here (%d, less %q for live migration)", path, len(path), max, maxUnixPath, socketStaging)
	}
	return nil
}

// listenUnix listens on path for device dev (the error prefix), replacing
// a stale socket file there. A socket something still listens on (another
// VM's) or any other file is an error. The returned stat identifies the
// socket file, so that its owner unlinks it only while it is still its own.
func listenUnix(dev, path string) (*net.UnixListener, os.FileInfo, error) {
	if len(path) > maxUnixPath {
		return nil, nil, fmt.Errorf("%s: %s is %d bytes, longer than a Unix socket path can be (%d)", dev, path, len(path), maxUnixPath)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, nil, fmt.Errorf("%s: %s exists and is not a socket", dev, path)
		}
		// Only a refused connection proves the socket stale: a live
		// listener with a full accept queue, or one this user may not
		// connect to, fails differently and must not be removed.
		c, err := net.DialTimeout("unix", path, time.Second)
		switch {
		case err == nil:
			c.Close()
			return nil, nil, fmt.Errorf("%s: %s is in use: another VM (or program) listens on it", dev, path)
		case !errors.Is(err, syscall.ECONNREFUSED):
			return nil, nil, fmt.Errorf("%s: %s: cannot tell whether something listens on it (%v): remove it if it is stale", dev, path, err)
		}
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dev, err)
	}
	// The owner unlinks the socket only while it is still this one: a
	// device that took it over may have replaced it.
	ln.SetUnlinkOnClose(false)
	sock, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("%s: %w", dev, err)
	}
	return ln, sock, nil
}

// sameSocket tells whether two stats are of one socket file. The inode
// alone does not tell: a socket that replaced an unlinked one may get its
// inode number back, but not its change time.
func sameSocket(a, b os.FileInfo) bool {
	if a == nil || b == nil || !os.SameFile(a, b) {
		return false
	}
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || sa.Ctim == sb.Ctim
}

// moveSocket renames the socket file at from over to and returns its new
// stat, for unlinkOwnSocket (a rename changes the inode's ctime), or old
// if the new one cannot be read. The listener keeps working.
func moveSocket(dev, from, to string, old os.FileInfo) (os.FileInfo, error) {
	if err := os.Rename(from, to); err != nil {
		return old, fmt.Errorf("%s: taking over %s: %w", dev, to, err)
	}
	if fi, err := os.Lstat(to); err == nil {
		return fi, nil
	}
	return old, nil
}

// unlinkOwnSocket removes the socket file at path if it is still sock.
// A taking-over device (a same-host migration's target) may rename its
// socket over path at any moment, so a Remove after the check could
// delete that one: the file is moved aside first, and what was moved is
// removed only if it is sock, else put back.
func unlinkOwnSocket(path string, sock os.FileInfo) {
	fi, err := os.Lstat(path)
	if err != nil || !sameSocket(fi, sock) {
		return
	}
	aside := path + ".closing"
	if os.Rename(path, aside) != nil {
		return
	}
	// The rename changed the ctime sameSocket compares; the inode still
	// tells, as ours existed until now and no new file can share it.
	if moved, err := os.Lstat(aside); err == nil && os.SameFile(moved, fi) {
		os.Remove(aside)
		return
	}
	os.Rename(aside, path)
}
