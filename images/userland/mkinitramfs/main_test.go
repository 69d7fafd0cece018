package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/u-root/mkuimage/cpio"
	"golang.org/x/mod/modfile"
)

// Every u-root command must be a tool dependency in go.mod, or the busybox
// build cannot resolve its packages; and no tool may be left unused.
func TestCommandsAreToolDependencies(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tools, cmds []string
	for _, tl := range mf.Tool {
		tools = append(tools, tl.Path)
	}
	for _, c := range urootCommands {
		cmds = append(cmds, uroot+c)
	}
	sort.Strings(tools)
	sort.Strings(cmds)
	if strings.Join(tools, "\n") != strings.Join(cmds, "\n") {
		t.Errorf("go.mod tools and urootCommands differ:\ntools: %v\ncommands: %v", tools, cmds)
	}
}

func TestSingleBinaryArchive(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tiny")
	if err := os.WriteFile(bin, []byte("\x7fELF pretend"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.cpio")
	if err := writeSingleBinary(out, bin); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]cpio.Record{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	tests := []struct {
		name string
		mode uint64
	}{
		{"init", cpio.S_IFREG | 0o755},
		{"dev/console", cpio.S_IFCHR | 0o600},
		{"dev", cpio.S_IFDIR | 0o755},
		{"proc", cpio.S_IFDIR | 0o555},
	}
	for _, tt := range tests {
		r, ok := byName[tt.name]
		if !ok {
			t.Errorf("%s missing", tt.name)
			continue
		}
		if r.Mode != tt.mode {
			t.Errorf("%s: mode %o, want %o", tt.name, r.Mode, tt.mode)
		}
		if r.MTime != 0 || r.UID != 0 {
			t.Errorf("%s: mtime %d uid %d, want 0 for a reproducible archive", tt.name, r.MTime, r.UID)
		}
	}
	if c := byName["dev/console"]; c.Rmajor != 5 || c.Rminor != 1 {
		t.Errorf("dev/console is %d:%d, want 5:1", c.Rmajor, c.Rminor)
	}
	if got := readAll(t, byName["init"]); got != "\x7fELF pretend" {
		t.Errorf("init content %q", got)
	}
	if err := writeSingleBinary(filepath.Join(dir, "x.cpio"), filepath.Join(dir, "missing")); err == nil {
		t.Error("missing binary: no error")
	}
}

func readAll(t *testing.T, r cpio.Record) string {
	t.Helper()
	if r.ReaderAt == nil {
		return ""
	}
	b := make([]byte, r.FileSize)
	n, err := r.ReadAt(b, 0)
	if n != len(b) {
		t.Fatalf("%s: read %d of %d bytes: %v", r.Name, n, len(b), err)
	}
	return string(b)
}
