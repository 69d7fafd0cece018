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

// BusyBox's links must come after u-root's /bbin, or they would take over
// u-root's command names (ls, mount, ...).
func TestPathPutsBusyboxAfterUroot(t *testing.T) {
	dirs := strings.Split(environment["PATH"], ":")
	pos := map[string]int{}
	for i, d := range dirs {
		pos[d] = i
	}
	ub, okU := pos["/bbin"]
	bb, okB := pos["/busybox-bin"]
	if !okU || !okB || ub > bb {
		t.Errorf("PATH %q: want /bbin before /busybox-bin", environment["PATH"])
	}
	if _, ok := pos["/bin"]; !ok {
		t.Errorf("PATH %q lacks /bin (where busybox itself is)", environment["PATH"])
	}
}
