package virtiotest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/snapshot"
)

// readerCmd starts a background reader holding the shared file open on
// its stdin (the default guest's shell has no "exec 3<"): it says
// READER-2 once the file is open, and reads it only when /tmp/go exists.
const readerCmd = "(echo READER-$((1+1)); while [ ! -e /tmp/go ]; do sleep 1; done; cat; echo DONE-$((2+2))) < /mnt/s/file.txt &"

// TestP9SurvivesRestore snapshots a guest with a mounted 9p share and a
// process holding a shared file open, then restores it (onto a copy of
// the share, as on another host) and clones it (onto the original
// share): the guest keeps using the mount and the open file without
// remounting.
func TestP9SurvivesRestore(t *testing.T) {
	skipShort(t)
	const content = "kept-across-restore-42"
	share := t.TempDir()
	if err := os.MkdirAll(filepath.Join(share, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(share, "file.txt"), []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dev, err := virtio.New9P(share, "hostshare", false)
	if err != nil {
		t.Fatal(err)
	}
	g := bootGuest(t, "p9-original", nil, dev)
	g.mustRun("mkdir -p /mnt/s && mount -t 9p -o trans=virtio,version=9p2000.L hostshare /mnt/s")
	if out := g.run(readerCmd); !strings.Contains(out, "READER-2") {
		g.expect("READER-2")
	}
	g.mustRun("cd /mnt/s/sub")
	snap, err := snapshot.Write(filepath.Join(t.TempDir(), "snap"), g.m, snapshot.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var spec *snapshot.P9Spec
	for _, d := range snap.Manifest.VM.Devices {
		if d.P9 != nil {
			spec = d.P9
		}
	}
	if spec == nil || spec.Tag != "hostshare" || spec.ReadOnly {
		t.Fatalf("manifest share %+v", spec)
	}

	moved := t.TempDir()
	if err := os.CopyFS(moved, os.DirFS(share)); err != nil {
		t.Fatal(err)
	}
	shareAt := func(dir string) func(snapshot.DeviceSpec) (virtio.Device, error) {
		return func(s snapshot.DeviceSpec) (virtio.Device, error) {
			if s.P9 == nil {
				return nil, nil
			}
			return virtio.New9P(dir, s.P9.Tag, s.P9.ReadOnly)
		}
	}
	check := func(name, dir string, m *board.Machine, log *consoleLog) {
		t.Helper()
		r := startGuest(t, name, m, log)
		// The reader's descriptor was opened before the snapshot.
		r.typeLine("touch /tmp/go")
		if out := r.expect("DONE-4"); !strings.Contains(out, content) {
			t.Errorf("%s: reading the file opened before the snapshot:\n%s", name, out)
		}
		if out := r.mustRun("ls /mnt/s"); !strings.Contains(out, "file.txt") {
			t.Errorf("%s: ls of the mount:\n%s", name, out)
		}
		r.mustRun("echo from-" + name + " > ../made-by-" + name + ".txt") // relative to the cwd in the share
		if b, err := os.ReadFile(filepath.Join(dir, "made-by-"+name+".txt")); err != nil || string(b) != "from-"+name+"\n" {
			t.Errorf("%s: file written through the mount: %q, %v", name, b, err)
		}
	}

	log := newConsoleLog()
	m, err := snap.Restore(snapshot.RestoreOptions{Console: log, DiskDir: t.TempDir(), Device: shareAt(moved)})
	if err != nil {
		t.Fatal(err)
	}
	check("restored", moved, m, log)

	clog := newConsoleLog()
	c, err := snap.Clone(snapshot.CloneOptions{RestoreOptions: snapshot.RestoreOptions{Console: clog, DiskDir: t.TempDir(), Device: shareAt(share)}})
	if err != nil {
		t.Fatal(err)
	}
	check("clone", share, c, clog)
}
