package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mountPoint is one file system popekinit mounts at boot.
type mountPoint struct {
	source, target, fstype, data string
	mode                         os.FileMode
}

// mounts is ordered: /dev comes before /dev/pts and /dev/shm.
var mounts = []mountPoint{
	{"devtmpfs", "/dev", "devtmpfs", "", 0o755},
	{"proc", "/proc", "proc", "", 0o555},
	{"sysfs", "/sys", "sysfs", "", 0o555},
	{"tmpfs", "/tmp", "tmpfs", "mode=1777", 0o1777},
	{"tmpfs", "/run", "tmpfs", "mode=0755", 0o755},
	{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620", 0o755},
	{"tmpfs", "/dev/shm", "tmpfs", "mode=1777", 0o1777},
}

func (m mountPoint) mount() error {
	if err := os.MkdirAll(m.target, m.mode); err != nil {
		return fmt.Errorf("mkdir %s: %w", m.target, err)
	}
	if err := unix.Mount(m.source, m.target, m.fstype, unix.MS_NOSUID, m.data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
	}
	return nil
}

// environment is inherited by the shell and everything it starts. BusyBox's
// applet links (/busybox-bin) come last, so u-root's commands in /bbin keep
// their names and BusyBox only fills the gaps.
var environment = map[string]string{
	"PATH": "/bbin:/bin:/sbin:/usr/bin:/usr/sbin:/busybox-bin",
	"HOME": "/",
	"USER": "root",
	"TERM": "linux",
}

// loopbackUp sets IFF_UP on lo, which the kernel leaves down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: set flags: %w", err)
	}
	return nil
}
