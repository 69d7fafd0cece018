package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
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
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := newWatchedBuffer()
	var errOut lockedBuffer
	done := make(chan int, 1)
	go func() { done <- runMain([]string{"run", "--memory", "64M", "--snapshot-dir", snaps}, r, out, &errOut) }()
	out.waitCount(images.Prompt, 1)
	w.WriteString("echo before-snapshot > /tmp/mark\n")
	out.waitCount(images.Prompt, 2)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	out.waitCount("popek: snapshot ", 1)
	w.WriteString("echo still-$((6*7))\n")
	out.waitCount("still-42", 1)
	snap := poweroffForSnapshot(t, w, done, &errOut, out)

	code, info, errText := popek(t, nil, "snapshot", "inspect", snap)
	if code != 0 || !strings.Contains(info, "all checksums verified") || !strings.Contains(info, "1 hart(s), 64 MiB, direct boot") {
		t.Errorf("inspect: exit %d, stderr %q:\n%s", code, errText, info)
	}
	if code, js, _ := popek(t, nil, "snapshot", "inspect", "--json", snap); code != 0 || !strings.Contains(js, `"format_version": 1`) {
		t.Errorf("inspect --json: exit %d:\n%s", code, js)
	}

	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	out2 := newWatchedBuffer()
	var errOut2 lockedBuffer
	go func() {
		done <- runMain([]string{"run", "--restore", snap, "--restore-disk-dir", filepath.Join(dir, "disks")}, r2, out2, &errOut2)
	}()
	w2.WriteString("cat /tmp/mark\n")
	out2.waitCount("before-snapshot", 1)
	w2.WriteString("poweroff\n")
	if code := <-done; code != 0 || errOut2.String() != "" {
		t.Errorf("popek run --restore: exit %d, stderr %q\n%s", code, errOut2.String(), out2.String())
	}
	if bytes.Contains([]byte(out2.String()), []byte("popek guest: Linux")) {
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
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := newWatchedBuffer()
	var errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain([]string{"run", "--memory", "64M", "--share", share + ":hs", "--snapshot-dir", snaps}, r, out, &errOut)
	}()
	out.waitCount(images.Prompt, 1)
	w.WriteString("mkdir -p /mnt/s && mount -t 9p -o trans=virtio,version=9p2000.L hs /mnt/s\n")
	out.waitCount(images.Prompt, 2)
	w.WriteString(reader)
	out.waitCount("READER-2", 1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	out.waitCount("popek: snapshot ", 1)
	snap := poweroffForSnapshot(t, w, done, &errOut, out)
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

	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	out2 := newWatchedBuffer()
	var errOut2 lockedBuffer
	go func() {
		done <- runMain([]string{"run", "--restore", snap, "--restore-disk-dir", filepath.Join(dir, "disks"), "--share", moved + ":hs"}, r2, out2, &errOut2)
	}()
	w2.WriteString("touch /tmp/go\n")
	out2.waitCount("DONE-4", 1)
	if !strings.Contains(out2.String(), content) {
		t.Errorf("the file held open across the snapshot did not read back:\n%s", out2.String())
	}
	w2.WriteString("echo restored-$((3+4)) > /mnt/s/new.txt; ls /mnt/s\n")
	out2.waitCount("new.txt", 2) // the listing, after the command's echo
	w2.WriteString("poweroff\n")
	if code := <-done; code != 0 || errOut2.String() != "" {
		t.Errorf("popek run --restore --share: exit %d, stderr %q\n%s", code, errOut2.String(), out2.String())
	}
	if b, err := os.ReadFile(filepath.Join(moved, "new.txt")); err != nil || string(b) != "restored-7\n" {
		t.Errorf("file written by the restored guest: %q, %v", b, err)
	}
}

// poweroffForSnapshot powers the guest of a `popek run --snapshot-dir` off,
// checks the run ended cleanly and returns the snapshot it reported.
func poweroffForSnapshot(t *testing.T, w *os.File, done <-chan int, errOut *lockedBuffer, out *watchedBuffer) string {
	t.Helper()
	w.WriteString("poweroff\n")
	if code := <-done; code != 0 || errOut.String() != "" {
		t.Fatalf("popek run: exit %d, stderr %q\n%s", code, errOut.String(), out.String())
	}
	m := regexp.MustCompile(`popek: snapshot (\S+) \(guest paused`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no snapshot message in:\n%s", out.String())
	}
	return m[1]
}
