package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/popek-vm/popek/images"
)

func TestSnapshotKeys(t *testing.T) {
	tests := []struct {
		name     string
		chunks   []string
		want     string
		triggers int
	}{
		{"plain", []string{"ls\n"}, "ls\n", 0},
		{"ctrl-a s", []string{"ab\x01scd"}, "abcd", 1},
		{"ctrl-a S and ctrl-s", []string{"\x01S\x01\x13"}, "", 1}, // the second is dropped while one is pending
		{"split across reads", []string{"x\x01", "sy"}, "xy", 1},
		{"other commands pass", []string{"\x01x\x01h"}, "\x01x\x01h", 0},
		{"literal ctrl-a", []string{"\x01\x01s"}, "\x01\x01s", 0},
		{"held ctrl-a then other", []string{"\x01", "h"}, "\x01h", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trigger := make(chan struct{}, 1)
			var in io.Reader = &chunkReader{chunks: tc.chunks}
			k := &snapshotKeys{in: in, trigger: trigger}
			got, err := io.ReadAll(k)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("passed %q, want %q", got, tc.want)
			}
			if n := len(trigger); n != tc.triggers {
				t.Errorf("%d snapshot requests, want %d", n, tc.triggers)
			}
		})
	}
}

// chunkReader returns its chunks one Read at a time, then EOF.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// TestRunSnapshotAndRestore drives the foreground commands: popek run
// --snapshot-dir writes a snapshot on SIGUSR1 while the guest keeps
// running, popek snapshot inspect verifies it, and popek run --restore
// continues the guest from it with its files and console intact.
func TestRunSnapshotAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := t.TempDir()
	snaps := filepath.Join(dir, "snaps")
	g := startRun(t, "--memory", "64M", "--snapshot-dir", snaps)
	g.out.waitCount(images.Prompt, 1)
	g.in.WriteString("echo before-snapshot > /tmp/mark\n")
	g.out.waitCount(images.Prompt, 2)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	g.out.waitCount("popek: snapshot ", 1)
	g.in.WriteString("echo still-$((6*7))\n")
	g.out.waitCount("still-42", 1)
	snap := g.poweroffForSnapshot(t)

	code, info, errText := popek(t, nil, "snapshot", "inspect", snap)
	if code != 0 || !strings.Contains(info, "all checksums verified") || !strings.Contains(info, "1 hart(s), 64 MiB, direct boot") {
		t.Errorf("inspect: exit %d, stderr %q:\n%s", code, errText, info)
	}
	if code, js, _ := popek(t, nil, "snapshot", "inspect", "--json", snap); code != 0 || !strings.Contains(js, `"format_version": 1`) {
		t.Errorf("inspect --json: exit %d:\n%s", code, js)
	}

	g2 := startRun(t, "--restore", snap, "--restore-disk-dir", filepath.Join(dir, "disks"))
	g2.in.WriteString("cat /tmp/mark\n")
	g2.out.waitCount("before-snapshot", 1)
	g2.in.WriteString("poweroff\n")
	g2.end(t)
	if strings.Contains(g2.out.String(), "popek guest: Linux") {
		t.Error("the restored guest booted again instead of continuing")
	}

	bad := filepath.Join(dir, "bad")
	os.Mkdir(bad, 0o755)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "inspect", bad}, "no manifest.json"},
		{[]string{"snapshot", "inspect", filepath.Join(dir, "nothing")}, "no such file"},
		{[]string{"run", "--restore", snap, "--smp", "2"}, "--smp cannot be used with --restore"},
		{[]string{"run", "--restore", bad}, "no manifest.json"},
		{[]string{"snapshot", "template", bad}, "no manifest.json"},
	} {
		code, _, errText := popek(t, nil, tc.args...)
		if code == 0 || !strings.Contains(errText, tc.want) || strings.Count(errText, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line with %q", tc.args, code, errText, tc.want)
		}
	}
	if code, _, errText := popek(t, nil, "snapshot", "template", snap); code != 0 {
		t.Errorf("template: exit %d, %q", code, errText)
	}
	if _, info, _ := popek(t, nil, "snapshot", "inspect", "--quick", snap); !strings.Contains(info, "template   true") {
		t.Errorf("template mark not shown:\n%s", info)
	}
}

// TestRunRestoreShare: popek run --restore --share gives a restored guest
// its shared directory back, here from another host directory (a copy, as
// after moving the snapshot): the mount and a file a process held open
// across the snapshot keep working. A missing, extra or differently
// read-only --share is refused with one line.
func TestRunRestoreShare(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	const content = "cli-share-content-7"
	// A background reader holding the file open on its stdin (the guest's
	// shell has no "exec 3<"); it reads only once /tmp/go exists.
	const reader = "(echo READER-$((1+1)); while [ ! -e /tmp/go ]; do sleep 1; done; cat; echo DONE-$((2+2))) < /mnt/s/file.txt &\n"
	dir := t.TempDir()
	share, snaps := filepath.Join(dir, "share"), filepath.Join(dir, "snaps")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(share, "file.txt"), []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startRun(t, "--memory", "64M", "--share", share+":hs", "--snapshot-dir", snaps)
	g.out.waitCount(images.Prompt, 1)
	g.in.WriteString("mkdir -p /mnt/s && mount -t 9p -o trans=virtio,version=9p2000.L hs /mnt/s\n")
	g.out.waitCount(images.Prompt, 2)
	g.in.WriteString(reader)
	g.out.waitCount("READER-2", 1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	g.out.waitCount("popek: snapshot ", 1)
	snap := g.poweroffForSnapshot(t)
	moved := filepath.Join(dir, "moved")
	if err := os.CopyFS(moved, os.DirFS(share)); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give --share HOSTDIR:hs"},
		{[]string{"--share", moved + ":hs", "--share", moved + ":other"}, `no shared directory with tag "other"`},
		{[]string{"--share", moved + ":hs,ro"}, "give the same mode"},
		{[]string{"--share", moved + ":hs", "--share", share + ":hs"}, `tag "hs" given twice`},
		{[]string{"--share", filepath.Join(dir, "nothing") + ":hs"}, "no such file"},
	} {
		args := append([]string{"run", "--restore", snap, "--restore-disk-dir", t.TempDir()}, tc.args...)
		code, _, errText := popek(t, nil, args...)
		if code == 0 || !strings.Contains(errText, tc.want) || strings.Count(errText, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line with %q", tc.args, code, errText, tc.want)
		}
	}

	g2 := startRun(t, "--restore", snap, "--restore-disk-dir", filepath.Join(dir, "disks"), "--share", moved+":hs")
	g2.in.WriteString("touch /tmp/go\n")
	g2.out.waitCount("DONE-4", 1)
	if !strings.Contains(g2.out.String(), content) {
		t.Errorf("the file held open across the snapshot did not read back:\n%s", g2.out.String())
	}
	g2.in.WriteString("echo restored-$((3+4)) > /mnt/s/new.txt; ls /mnt/s\n")
	g2.out.waitCount("new.txt", 2) // the listing, after the command's echo
	g2.in.WriteString("poweroff\n")
	g2.end(t)
	if b, err := os.ReadFile(filepath.Join(moved, "new.txt")); err != nil || string(b) != "restored-7\n" {
		t.Errorf("file written by the restored guest: %q, %v", b, err)
	}
}
