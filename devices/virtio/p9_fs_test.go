package virtio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// p9Tree lays out a share and, beside it, a directory it must not reach:
//
//	base/outside/secret.txt
//	base/share/file.txt          "hello"
//	base/share/dir/sub.txt       "sub"
//	base/share/abslink    ->     base/outside/secret.txt
//	base/share/rellink    ->     ../outside/secret.txt
//	base/share/dirlink    ->     base/outside
func p9Tree(t *testing.T) (share, outside string) {
	t.Helper()
	base := t.TempDir()
	share, outside = filepath.Join(base, "share"), filepath.Join(base, "outside")
	for _, d := range []string{share, outside, filepath.Join(share, "dir")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(outside, "secret.txt"): "secret",
		filepath.Join(share, "file.txt"):     "hello",
		filepath.Join(share, "dir/sub.txt"):  "sub",
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abslink": filepath.Join(outside, "secret.txt"),
		"rellink": "../outside/secret.txt",
		"dirlink": outside,
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(share, name)); err != nil {
			t.Fatal(err)
		}
	}
	return share, outside
}

func p9TestRoot(t *testing.T, dir string, ro bool) p9.File {
	t.Helper()
	r, err := openP9Root(dir, ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.close() })
	f, err := r.Attach()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func walk(t *testing.T, f p9.File, names ...string) (p9.File, error) {
	t.Helper()
	_, nf, err := f.Walk(names)
	if err == nil {
		t.Cleanup(func() { nf.Close() })
	}
	return nf, err
}

func readAll(t *testing.T, f p9.File) string {
	t.Helper()
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		t.Fatalf("open: %v", err)
	}
	buf := make([]byte, 100)
	n, err := f.ReadAt(buf, 0)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n])
}

func wantErrno(t *testing.T, what string, err error, want linux.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func TestP9WalkStaysInside(t *testing.T) {
	share, _ := p9Tree(t)
	root := p9TestRoot(t, share, false)
	cases := []struct {
		name  string
		names []string
		want  linux.Errno
	}{
		{"dot-dot", []string{".."}, linux.EINVAL},
		{"dot", []string{"."}, linux.EINVAL},
		{"slash in name", []string{"dir/sub.txt"}, linux.EINVAL},
		{"absolute", []string{"/etc"}, linux.EINVAL},
		{"through a dir symlink", []string{"dirlink", "secret.txt"}, linux.ENOTDIR},
		{"through a file", []string{"file.txt", "x"}, linux.ENOTDIR},
		{"dot-dot below a dir", []string{"dir", ".."}, linux.EINVAL},
		{"missing", []string{"nope"}, linux.ENOENT},
	}
	for _, c := range cases {
		_, err := walk(t, root, c.names...)
		wantErrno(t, c.name, err, c.want)
	}
	sub, err := walk(t, root, "dir", "sub.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, sub); got != "sub" {
		t.Fatalf("dir/sub.txt reads %q", got)
	}
}

func TestP9SymlinksAreNotFollowed(t *testing.T) {
	share, outside := p9Tree(t)
	root := p9TestRoot(t, share, false)
	for _, name := range []string{"abslink", "rellink", "dirlink"} {
		f, err := walk(t, root, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, _, attr, err := f.GetAttr(p9.AttrMaskAll)
		if err != nil || !attr.Mode.IsSymlink() {
			t.Errorf("%s: attr %v, %v; want the link itself", name, attr.Mode, err)
		}
		_, _, err = f.Open(p9.ReadOnly)
		wantErrno(t, name+" open", err, linux.EPERM)
		target, err := f.Readlink()
		if err != nil || target == "" {
			t.Errorf("%s: readlink %q, %v", name, target, err)
		}
		wantErrno(t, name+" truncate", f.SetAttr(p9.SetAttrMask{Size: true}, p9.SetAttr{Size: 0}), linux.EINVAL)
		wantErrno(t, name+" chmod", f.SetAttr(p9.SetAttrMask{Permissions: true}, p9.SetAttr{Permissions: 0o777}), linux.EOPNOTSUPP)
		wantErrno(t, name+" hard link", root.Link(f, name+"-hard"), linux.EPERM)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "secret" {
		t.Fatalf("secret changed: %q", b)
	}
	if fi, err := os.Stat(filepath.Join(outside, "secret.txt")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("secret mode changed: %v %v", fi.Mode(), err)
	}
}

// A host process swaps a directory the guest holds for a symlink leading
// outside: the guest's handle keeps working on the original directory, and
// new walks meet the symlink, which they do not follow.
func TestP9SymlinkSwap(t *testing.T) {
	share, outside := p9Tree(t)
	root := p9TestRoot(t, share, false)
	dir, err := walk(t, root, "dir")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(share, "dir"), filepath.Join(share, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(share, "dir")); err != nil {
		t.Fatal(err)
	}
	nf, _, _, err := dir.Create("created.txt", p9.ReadWrite, 0o644, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	nf.Close()
	if _, err := os.Stat(filepath.Join(share, "moved", "created.txt")); err != nil {
		t.Errorf("file not created in the original directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "created.txt")); err == nil {
		t.Error("file created outside the share")
	}
	_, err = walk(t, root, "dir", "secret.txt")
	wantErrno(t, "walk through swapped symlink", err, linux.ENOTDIR)
	_, err = walk(t, dir, "secret.txt")
	wantErrno(t, "walk from held directory", err, linux.ENOENT)
}

func TestP9DirectoryOps(t *testing.T) {
	share, outside := p9Tree(t)
	root := p9TestRoot(t, share, false)

	nf, _, _, err := root.Create("new.txt", p9.ReadWrite, 0o4755|0o2000, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nf.WriteAt([]byte("written"), 0); err != nil {
		t.Fatal(err)
	}
	nf.Close()
	fi, err := os.Stat(filepath.Join(share, "new.txt"))
	if err != nil || fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
		t.Fatalf("new.txt: %v %v (set-ID bits must be stripped)", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(filepath.Join(share, "new.txt")); string(b) != "written" {
		t.Fatalf("new.txt holds %q", b)
	}
	if _, err := root.Mkdir("sub", 0o755, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Symlink("/anywhere", "ln", 0, 0); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(filepath.Join(share, "ln")); target != "/anywhere" {
		t.Fatalf("symlink target %q", target)
	}
	if err := root.RenameAt("new.txt", root, "renamed.txt"); err != nil {
		t.Fatal(err)
	}
	file, err := walk(t, root, "file.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Link(file, "hard.txt"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(share, "hard.txt")); string(b) != "hello" {
		t.Fatalf("hard link reads %q", b)
	}
	if _, err := root.Mknod("fifo", p9.FileMode(unix.S_IFIFO|0o644), 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	fifo, err := walk(t, root, "fifo")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = fifo.Open(p9.ReadOnly) // would block the server forever
	wantErrno(t, "open fifo", err, linux.EPERM)
	if err := root.UnlinkAt("sub", unix.AT_REMOVEDIR); err != nil {
		t.Fatal(err)
	}
	if err := root.UnlinkAt("renamed.txt", 0); err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		name string
		err  error
		want linux.Errno
	}{
		{"mknod char device", func() error {
			_, err := root.Mknod("null", p9.FileMode(unix.S_IFCHR|0o666), 1, 3, 0, 0)
			return err
		}(), linux.EPERM},
		{"rename out", root.RenameAt("file.txt", root, "../x"), linux.EINVAL},
		{"rename from outside", root.RenameAt("../outside/secret.txt", root, "x"), linux.EINVAL},
		{"unlink dot-dot", root.UnlinkAt("..", unix.AT_REMOVEDIR), linux.EINVAL},
		{"create with slash", func() error {
			_, _, _, err := root.Create("dir/x", p9.ReadWrite, 0o644, 0, 0)
			return err
		}(), linux.EINVAL},
		{"create over a symlink", func() error {
			_, _, _, err := root.Create("abslink", p9.ReadWrite, 0o644, 0, 0)
			return err
		}(), linux.EEXIST},
		{"rmdir non-empty", root.UnlinkAt("dir", unix.AT_REMOVEDIR), linux.ENOTEMPTY},
		{"mkdir in a file", func() error {
			_, err := file.Mkdir("x", 0o755, 0, 0)
			return err
		}(), linux.ENOTDIR},
	}
	for _, r := range refused {
		wantErrno(t, r.name, r.err, r.want)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Fatalf("outside now holds %d entries", len(entries))
	}
}

func TestP9ReaddirResumes(t *testing.T) {
	share := t.TempDir()
	want := map[string]bool{}
	for i := range 50 {
		name := filepath.Join(share, "f"+string(rune('A'+i%26))+string(rune('a'+i/26)))
		os.WriteFile(name, nil, 0o644)
		want[filepath.Base(name)] = true
	}
	root := p9TestRoot(t, share, true)
	if _, _, err := root.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var off uint64
	for range 100 {
		ents, err := root.Readdir(off, 200) // a few entries per call
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			if got[e.Name] {
				t.Fatalf("%s listed twice", e.Name)
			}
			got[e.Name] = true
			off = e.Offset
		}
	}
	delete(got, ".")
	delete(got, "..")
	if len(got) != len(want) {
		t.Fatalf("listed %d names, want %d", len(got), len(want))
	}
}

func TestP9ReadOnly(t *testing.T) {
	share, _ := p9Tree(t)
	root := p9TestRoot(t, share, true)
	file, err := walk(t, root, "file.txt")
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		err  error
	}{
		{"create", func() error { _, _, _, err := root.Create("x", p9.ReadWrite, 0o644, 0, 0); return err }()},
		{"mkdir", func() error { _, err := root.Mkdir("x", 0o755, 0, 0); return err }()},
		{"symlink", func() error { _, err := root.Symlink("t", "x", 0, 0); return err }()},
		{"mknod", func() error { _, err := root.Mknod("x", p9.FileMode(unix.S_IFIFO|0o644), 0, 0, 0, 0); return err }()},
		{"link", root.Link(file, "x")},
		{"unlink", root.UnlinkAt("file.txt", 0)},
		{"rename", root.RenameAt("file.txt", root, "x")},
		{"setattr", file.SetAttr(p9.SetAttrMask{Permissions: true}, p9.SetAttr{Permissions: 0o600})},
		{"setxattr", file.SetXattr("user.x", []byte("v"), 0)},
		{"open for writing", func() error { _, _, err := file.Open(p9.WriteOnly); return err }()},
		{"open with truncate", func() error { _, _, err := file.Open(p9.ReadOnly | p9.OpenFlags(unix.O_TRUNC)); return err }()},
	}
	for _, r := range refused {
		wantErrno(t, r.name, r.err, linux.EROFS)
	}
	if got := readAll(t, file); got != "hello" {
		t.Fatalf("read %q", got)
	}
	if _, err := file.WriteAt([]byte("x"), 0); !errors.Is(err, linux.EROFS) {
		t.Fatalf("write: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(share, "file.txt")); string(b) != "hello" {
		t.Fatalf("file changed to %q", b)
	}
}

func TestP9SetAttr(t *testing.T) {
	share, _ := p9Tree(t)
	root := p9TestRoot(t, share, false)
	file, err := walk(t, root, "file.txt")
	if err != nil {
		t.Fatal(err)
	}
	err = file.SetAttr(p9.SetAttrMask{Permissions: true, Size: true, MTime: true, MTimeNotSystemTime: true},
		p9.SetAttr{Permissions: 0o4600, Size: 2, MTimeSeconds: 1_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(share, "file.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 || fi.Size() != 2 || fi.ModTime().Unix() != 1_000_000_000 {
		t.Fatalf("after setattr: mode %v size %d mtime %v", fi.Mode(), fi.Size(), fi.ModTime())
	}
	_, _, attr, err := file.GetAttr(p9.AttrMaskAll)
	if err != nil || attr.Size != 2 || attr.Mode.Permissions() != 0o600 || attr.MTimeSeconds != 1_000_000_000 {
		t.Fatalf("getattr %+v, %v", attr, err)
	}
	if _, err := file.Lock(0, p9.WriteLock, 0, 0, 0, ""); !errors.Is(err, linux.EBADF) {
		t.Fatalf("lock before open: %v", err)
	}
}

func TestP9Locks(t *testing.T) {
	share, _ := p9Tree(t)
	root := p9TestRoot(t, share, false)
	a, _ := walk(t, root, "file.txt")
	b, _ := walk(t, root, "file.txt")
	for _, f := range []p9.File{a, b} {
		if _, _, err := f.Open(p9.ReadWrite); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		f    p9.File
		typ  p9.LockType
		want p9.LockStatus
	}{
		{a, p9.WriteLock, p9.LockStatusOK},
		{b, p9.ReadLock, p9.LockStatusBlocked},
		{a, p9.Unlock, p9.LockStatusOK},
		{b, p9.ReadLock, p9.LockStatusOK},
		{a, p9.ReadLock, p9.LockStatusOK},
		{a, p9.WriteLock, p9.LockStatusBlocked},
	}
	for i, s := range steps {
		got, err := s.f.Lock(0, s.typ, 0, 0, 0, "")
		if err != nil || got != s.want {
			t.Fatalf("step %d: %v, %v; want %v", i, got, err, s.want)
		}
	}
}
