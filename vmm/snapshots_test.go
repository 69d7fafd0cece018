package vmm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/snapshot"
)

// diskVM defines a bare-metal echo VM with a writable raw drive holding
// "AAAA" at offset 0 and returns the drive's path.
func diskVM(t *testing.T, m *Manager, name string) string {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(img, append([]byte("AAAA"), make([]byte, 1<<20-4)...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := bareConfig(name, writeGuest(t, dir, "echo", echo))
	cfg.Drives = []DriveConfig{{File: img}}
	if _, err := m.Create(cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

func diskHead(t *testing.T, img string) string {
	t.Helper()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:4])
}

// scribble changes the drive behind the VM's back, as guest writes would.
func scribble(t *testing.T, img, s string) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(s), 0); err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, what string, err error, k Kind, contains string) {
	t.Helper()
	if err == nil || KindOf(err) != k || !strings.Contains(err.Error(), contains) {
		t.Fatalf("%s: err %v, want kind %d containing %q", what, err, k, contains)
	}
}

func TestSnapshotErrors(t *testing.T) {
	m := newTestManager(t, Options{})
	diskVM(t, m, "v")
	_, err := m.CreateSnapshot("ghost", SnapshotRequest{Name: "s"})
	wantKind(t, "unknown VM", err, KindNotFound, `no VM named "ghost"`)
	_, err = m.CreateSnapshot("v", SnapshotRequest{Name: "s"})
	wantKind(t, "stopped VM", err, KindConflict, `cannot snapshot VM "v": it is stopped`)
	for _, bad := range []string{"", "../x", "a/b", "x.tmp-1", ".hidden"} {
		_, err = m.CreateSnapshot("v", SnapshotRequest{Name: bad})
		wantKind(t, "name "+bad, err, KindInvalid, "")
	}
	_, err = m.RevertSnapshot("v", "nope")
	wantKind(t, "revert unknown", err, KindNotFound, `VM "v" has no snapshot "nope"`)
	wantKind(t, "rm unknown", m.DeleteSnapshot("v", "nope"), KindNotFound, "no snapshot")
	if _, err := m.ListSnapshots("ghost"); KindOf(err) != KindNotFound {
		t.Fatalf("list of unknown VM: %v", err)
	}
	if l, err := m.ListSnapshots("v"); err != nil || len(l) != 0 {
		t.Fatalf("list: %v %v", l, err)
	}
	if _, err := m.Start("v"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateSnapshot("v", SnapshotRequest{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	_, err = m.CreateSnapshot("v", SnapshotRequest{Name: "s"})
	wantKind(t, "duplicate", err, KindConflict, `VM "v" already has a snapshot named "s"`)
}

// TestSnapshotHistoryAndRevert takes a chain of snapshots of a running
// VM, reverts and deletes: disks follow memory, children survive the
// deletion of their parent, a corrupt snapshot changes nothing.
func TestSnapshotHistoryAndRevert(t *testing.T) {
	m := newTestManager(t, Options{})
	img := diskVM(t, m, "v")
	if _, err := m.Start("v"); err != nil {
		t.Fatal(err)
	}
	s1, err := m.CreateSnapshot("v", SnapshotRequest{Name: "s1", Incremental: true})
	if err != nil {
		t.Fatal(err)
	}
	if s1.Incremental || s1.Parent != "" || s1.PausedSeconds <= 0 || s1.SizeBytes <= 0 || s1.GuestMemoryBytes != 16<<20 {
		t.Fatalf("first snapshot %+v: want a full one with figures", s1)
	}
	scribble(t, img, "BBBB")
	s2, err := m.CreateSnapshot("v", SnapshotRequest{Name: "s2", Incremental: true})
	if err != nil {
		t.Fatal(err)
	}
	s3, err := m.CreateSnapshot("v", SnapshotRequest{Name: "s3", Incremental: true, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Incremental || s2.Parent != "s1" || s3.Parent != "s2" || !s3.Compressed {
		t.Fatalf("chain: s2 %+v, s3 %+v", s2, s3)
	}
	list, err := m.ListSnapshots("v")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Name+"<"+s.Parent)
	}
	if strings.Join(names, ",") != "s1<,s2<s1,s3<s2" || !list[2].Current {
		t.Fatalf("list %v (%+v)", names, list)
	}

	before, _ := m.Get("v")
	cs, _ := m.Console("v")
	_, end := cs.Offsets()
	info, err := m.RevertSnapshot("v", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if info.State != StateRunning || diskHead(t, img) != "AAAA" {
		t.Fatalf("after revert: %s, disk %q", info.State, diskHead(t, img))
	}
	// The console stream goes on with the restored guest.
	if _, err := m.ConsoleInput(t.Context(), "v", []byte("after-revert")); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, m, "v", end, "after-revert")
	if before.Config.Drives[0].File != info.Config.Drives[0].File {
		t.Fatalf("revert changed the config")
	}
	// The next incremental snapshot builds on the one reverted to.
	s4, err := m.CreateSnapshot("v", SnapshotRequest{Name: "s4", Incremental: true})
	if err != nil || s4.Parent != "s1" {
		t.Fatalf("s4 %+v %v", s4, err)
	}
	// A cold restart sees the reverted disk.
	if _, err := m.Stop("v"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("v"); err != nil {
		t.Fatal(err)
	}
	if got := diskHead(t, img); got != "AAAA" {
		t.Fatalf("after restart: disk %q", got)
	}

	// Deleting s1 flattens its descendants s2, s3 (through s2) and s4.
	if err := m.DeleteSnapshot("v", "s1"); err != nil {
		t.Fatal(err)
	}
	list, _ = m.ListSnapshots("v")
	names = nil
	for _, s := range list {
		if s.Incremental || s.Parent != "" {
			t.Errorf("%s still depends on %q", s.Name, s.Parent)
		}
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "s2,s3,s4" {
		t.Fatalf("after rm: %v", names)
	}
	for _, n := range names {
		if _, err := snapshot.Open(filepath.Join(m.vmSnapshots("v"), n)); err != nil {
			t.Fatalf("%s after rm: %v", n, err)
		}
	}
	if _, err := m.RevertSnapshot("v", "s3"); err != nil {
		t.Fatal(err)
	}
	if got := diskHead(t, img); got != "BBBB" {
		t.Fatalf("after revert to s3: disk %q", got)
	}

	// A corrupt snapshot is refused and the VM stays as it was.
	raw := filepath.Join(m.vmSnapshots("v"), "s2", snapshot.MemoryRawFile)
	os.Chmod(raw, 0o644)
	f, _ := os.OpenFile(raw, os.O_WRONLY, 0)
	f.WriteAt([]byte{0xff, 0xff}, 0)
	f.Close()
	scribble(t, img, "CCCC")
	before, _ = m.Get("v")
	_, err = m.RevertSnapshot("v", "s2")
	wantKind(t, "corrupt revert", err, KindConflict, "corrupt")
	after, _ := m.Get("v")
	if after.State != StateRunning || !after.StartedAt.Equal(*before.StartedAt) || diskHead(t, img) != "CCCC" {
		t.Fatalf("a failed revert changed the VM: %+v, disk %q", after, diskHead(t, img))
	}
	if junk, _ := filepath.Glob(filepath.Join(filepath.Dir(img), ".*")); len(junk) > 0 {
		t.Fatalf("revert left %v", junk)
	}

	// Deleting the VM deletes its snapshots.
	if err := m.Delete("v", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.vmSnapshots("v")); !os.IsNotExist(err) {
		t.Fatalf("snapshots of a deleted VM: %v", err)
	}
}

// TestRevertPausedAndStopped: a paused VM comes back paused, a stopped one
// running.
func TestRevertPausedAndStopped(t *testing.T) {
	m := newTestManager(t, Options{})
	img := diskVM(t, m, "v")
	m.Start("v")
	if _, err := m.Pause("v"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateSnapshot("v", SnapshotRequest{Name: "p"}); err != nil {
		t.Fatal(err)
	}
	if in, _ := m.Get("v"); in.State != StatePaused {
		t.Fatalf("snapshot resumed a paused VM: %s", in.State)
	}
	scribble(t, img, "ZZZZ")
	in, err := m.RevertSnapshot("v", "p")
	if err != nil || in.State != StatePaused {
		t.Fatalf("revert of a paused VM: %v %v", in.State, err)
	}
	if _, err := m.Resume("v"); err != nil {
		t.Fatal(err)
	}
	m.Stop("v")
	scribble(t, img, "YYYY")
	in, err = m.RevertSnapshot("v", "p")
	if err != nil || in.State != StateRunning || diskHead(t, img) != "AAAA" {
		t.Fatalf("revert of a stopped VM: %v %v %q", in.State, err, diskHead(t, img))
	}
	var types []string
	evs, _ := m.events.After(0)
	for _, e := range evs {
		types = append(types, e.Type)
	}
	got := strings.Join(types, ",")
	if want := "created,started,paused,snapshotted,reverted,resumed,stopped,reverted"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

// TestSnapshotLeftoversCleaned: an interrupted write leaves a temporary
// directory that is neither listed nor kept after a restart.
func TestSnapshotLeftoversCleaned(t *testing.T) {
	state := t.TempDir()
	m := newTestManager(t, Options{StateDir: state})
	diskVM(t, m, "v")
	m.Start("v")
	if _, err := m.CreateSnapshot("v", SnapshotRequest{Name: "good"}); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(m.vmSnapshots("v"), "half.tmp-123")
	os.MkdirAll(junk, 0o755)
	os.WriteFile(filepath.Join(junk, "state.bin"), []byte("x"), 0o444)
	nomanifest := filepath.Join(m.vmSnapshots("v"), "broken")
	os.MkdirAll(nomanifest, 0o755)
	if l, _ := m.ListSnapshots("v"); len(l) != 1 || l[0].Name != "good" {
		t.Fatalf("list with leftovers: %+v", l)
	}
	orphan := m.vmSnapshots("deleted-vm")
	os.MkdirAll(orphan, 0o755)
	m.Close()
	m2 := newTestManager(t, Options{StateDir: state})
	if _, err := os.Stat(junk); !os.IsNotExist(err) {
		t.Errorf("temporary snapshot kept: %v", err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan snapshots kept: %v", err)
	}
	if l, _ := m2.ListSnapshots("v"); len(l) != 1 {
		t.Fatalf("after restart: %+v", l)
	}
	wantKind(t, "revert a broken one", func() error { _, err := m2.RevertSnapshot("v", "broken"); return err }(), KindConflict, "not a snapshot")
}
