package api

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// DefaultSocket is where the daemon listens and the CLI connects when not
// told otherwise: $POPEK_SOCKET, else $XDG_RUNTIME_DIR/popek.sock, else
// popek.sock in the default state directory.
func DefaultSocket() string {
	if s := os.Getenv("POPEK_SOCKET"); s != "" {
		return s
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "popek.sock")
	}
	return filepath.Join(DefaultStateDir(), "popek.sock")
}

// DefaultStateDir is $XDG_STATE_HOME/popek, else ~/.local/state/popek.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "popek")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "popek")
	}
	return filepath.Join(os.TempDir(), "popek-state")
}

// ListenUnix listens on a Unix socket only its owner can use. A stale
// socket file left by a daemon that died is replaced; a live one is an
// error, so two daemons never share a socket.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("another popek daemon is listening on %s", path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
			return nil, fmt.Errorf("socket %s exists and is not a stale daemon socket: %v", path, err)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	old := syscall.Umask(0o177) // the socket is created 0600: no window where others can connect
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	return l, nil
}
