package virtiotest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/popek-vm/popek/images"
)

// newcFile is one regular file of a newc cpio archive.
type newcFile struct {
	name string // without a leading slash
	mode uint32 // permission bits
	data []byte
}

// newcArchive writes a gzip'd newc ("070701") cpio archive of files and
// the trailer. Linux unpacks an initramfs made of several such archives
// one after another, so this one can follow the embedded initramfs.
func newcArchive(files []newcFile) []byte {
	var raw bytes.Buffer
	pad := func() {
		for raw.Len()%4 != 0 {
			raw.WriteByte(0)
		}
	}
	entry := func(ino int, name string, mode uint32, data []byte) {
		fmt.Fprintf(&raw, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		raw.WriteString(name)
		raw.WriteByte(0)
		pad()
		raw.Write(data)
		pad()
	}
	for i, f := range files {
		entry(i+1, f.name, 0o100000|f.mode, f.data)
	}
	entry(0, "TRAILER!!!", 0, nil)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(raw.Bytes())
	w.Close()
	return gz.Bytes()
}

// TestNewcArchive checks the writer against the host's cpio.
func TestNewcArchive(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio not installed on the host")
	}
	files := []newcFile{{"vt", 0o755, []byte("#!/bin/sh\n")}, {"odd-name.txt", 0o644, []byte("abc")}}
	dir := t.TempDir()
	zr, err := gzip.NewReader(bytes.NewReader(newcArchive(files)))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cpio, "-i", "--quiet")
	cmd.Dir, cmd.Stdin = dir, zr
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v\n%s", err, out)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.name))
		fi, _ := os.Stat(filepath.Join(dir, f.name))
		if err != nil || !bytes.Equal(got, f.data) || fi.Mode().Perm() != os.FileMode(f.mode) {
			t.Errorf("%s: %q, %v, mode %v", f.name, got, err, fi.Mode())
		}
	}
}

// guestTool cross-builds testdata/guesttool for the guest once per test
// process.
var guestTool = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "popek-virtiotest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "vt")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/guesttool")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=riscv64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the guest tool: %v\n%s", err, msg)
	}
	return os.ReadFile(out)
})

// toolInitramfs is the embedded initramfs with /vt appended.
func toolInitramfs(t *testing.T) []byte {
	t.Helper()
	vt, err := guestTool()
	if err != nil {
		t.Fatal(err)
	}
	return append(images.Initramfs(), newcArchive([]newcFile{{"vt", 0o755, vt}})...)
}

// pattern is guesttool's Pattern: byte i is (7i+3) mod 251.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((7*i + 3) % 251)
	}
	return b
}
