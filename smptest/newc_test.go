package smptest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"testing"
)

// member is one parsed newc record.
type member struct {
	ino, mode, nlink uint32
	data             string
}

// parseNewc decodes an uncompressed newc archive strictly: every header
// field, name terminator, 4-byte alignment and the trailer.
func parseNewc(b []byte) (map[string]member, []string, error) {
	const headerLen = 110
	got := map[string]member{}
	var order []string
	for off := 0; ; {
		if len(b)-off < headerLen || string(b[off:off+6]) != "070701" {
			return nil, nil, fmt.Errorf("no header at %d", off)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				return nil, nil, fmt.Errorf("field %d at %d: %v", i, off, err)
			}
			f[i] = uint32(v)
		}
		nameLen, size := int(f[11]), int(f[6])
		start := off + headerLen
		if nameLen < 1 || start+nameLen > len(b) || b[start+nameLen-1] != 0 {
			return nil, nil, fmt.Errorf("bad name at %d", off)
		}
		name := string(b[start : start+nameLen-1])
		dataAt := (start + nameLen + 3) &^ 3
		if bytes.Count(b[start+nameLen:dataAt], []byte{0}) != dataAt-start-nameLen {
			return nil, nil, fmt.Errorf("%s: name padding not zero", name)
		}
		if name == "TRAILER!!!" {
			if dataAt != len(b) {
				return nil, nil, fmt.Errorf("%d bytes after the trailer", len(b)-dataAt)
			}
			return got, order, nil
		}
		if dataAt+size > len(b) {
			return nil, nil, fmt.Errorf("%s: data past the end", name)
		}
		got[name] = member{ino: f[0], mode: f[1], nlink: f[4], data: string(b[dataAt : dataAt+size])}
		order = append(order, name)
		off = (dataAt + size + 3) &^ 3
	}
}

func TestArchive(t *testing.T) {
	files := []File{
		{Name: "bin", Mode: ModeDir | 0o755},
		{Name: "bin/x", Mode: ModeRegular | 0o755, Data: []byte("12345")},
		{Name: "empty", Mode: ModeRegular | 0o644},
		{Name: "abc", Mode: ModeRegular | 0o600, Data: []byte("abcd")},
		{Name: "odd-name-len", Mode: ModeRegular | 0o644, Data: bytes.Repeat([]byte{7}, 1023)},
	}
	gz, err := Archive(files)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got, order, err := parseNewc(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(files) {
		t.Fatalf("members %q, want %d", order, len(files))
	}
	inodes := map[uint32]bool{}
	for i, f := range files {
		m := got[f.Name]
		if order[i] != f.Name || m.mode != f.Mode || m.data != string(f.Data) {
			t.Errorf("member %d = %q %+v, want %q mode %o with %d bytes", i, order[i], m, f.Name, f.Mode, len(f.Data))
		}
		wantLinks := uint32(1)
		if f.Mode&0o170000 == ModeDir {
			wantLinks = 2
		}
		if m.nlink != wantLinks {
			t.Errorf("%s: nlink %d, want %d", f.Name, m.nlink, wantLinks)
		}
		if m.ino == 0 || inodes[m.ino] {
			t.Errorf("%s: inode %d is zero or reused (the kernel would hard-link it)", f.Name, m.ino)
		}
		inodes[m.ino] = true
	}
}

func TestArchiveRejectsBadMembers(t *testing.T) {
	for _, f := range []File{
		{Name: "", Mode: ModeRegular},
		{Name: "/abs", Mode: ModeRegular},
		{Name: "nul\x00", Mode: ModeRegular},
		{Name: "dir", Mode: ModeDir | 0o755, Data: []byte("x")},
	} {
		if _, err := Archive([]File{f}); err == nil {
			t.Errorf("Archive accepted %+v", f)
		}
	}
}
