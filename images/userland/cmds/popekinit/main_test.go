package main

import (
	"path"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMountsComeAfterTheirParents(t *testing.T) {
	seen := map[string]bool{"/": true}
	for _, m := range mounts {
		for dir := path.Dir(m.target); dir != "/"; dir = path.Dir(dir) {
			if isMountTarget(dir) && !seen[dir] {
				t.Errorf("%s is mounted before its parent mount %s", m.target, dir)
			}
		}
		seen[m.target] = true
	}
}

func isMountTarget(dir string) bool {
	for _, m := range mounts {
		if m.target == dir {
			return true
		}
	}
	return false
}

func TestMountsCoverTheBasics(t *testing.T) {
	want := map[string]string{"/dev": "devtmpfs", "/proc": "proc", "/sys": "sysfs", "/tmp": "tmpfs"}
	for _, m := range mounts {
		if fs, ok := want[m.target]; ok && fs == m.fstype {
			delete(want, m.target)
		}
	}
	for target, fs := range want {
		t.Errorf("%s (%s) is not mounted", target, fs)
	}
}

func TestBanner(t *testing.T) {
	var u unix.Utsname
	copy(u.Sysname[:], "Linux")
	copy(u.Release[:], "6.1.192")
	copy(u.Machine[:], "riscv64")
	got := banner(u)
	for _, want := range []string{"popek guest: Linux 6.1.192 riscv64", "poweroff"} {
		if !strings.Contains(got, want) {
			t.Errorf("banner %q lacks %q", got, want)
		}
	}
}
