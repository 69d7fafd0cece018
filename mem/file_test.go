package mem

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// patternFile writes pages pages, page i filled with byte fill+i.
func patternFile(t *testing.T, pages int, fill byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mem.raw")
	b := make([]byte, pages*PageSize)
	for i := range pages {
		for j := range PageSize {
			b[i*PageSize+j] = fill + byte(i)
		}
	}
	if err := os.WriteFile(path, b, 0o444); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestNewFromFileIsCopyOnWrite(t *testing.T) {
	f := patternFile(t, 4, 0x10)
	a, err := NewFromFile(0x80000000, f, 4*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewFromFile(0x80000000, f, 4*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !a.FileBacked() {
		t.Error("FileBacked = false")
	}
	if got := a.Bytes()[2*PageSize]; got != 0x12 {
		t.Fatalf("page 2 reads %#x, want 0x12", got)
	}
	a.Bytes()[2*PageSize] = 0xee
	if got := b.Bytes()[2*PageSize]; got != 0x12 {
		t.Errorf("a write through one mapping shows in another: %#x", got)
	}
	disk := make([]byte, 1)
	if _, err := f.ReadAt(disk, 2*PageSize); err != nil || disk[0] != 0x12 {
		t.Errorf("file changed under a private mapping: %#x %v", disk[0], err)
	}
}

func TestNewFromFileRefusesBadInput(t *testing.T) {
	f := patternFile(t, 2, 0)
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	cases := []struct {
		name string
		base uint64
		f    *os.File
		size uint64
	}{
		{"file shorter than RAM", 0x80000000, f, 3 * PageSize},
		{"size not page multiple", 0x80000000, f, PageSize + 1},
		{"zero size", 0x80000000, f, 0},
		{"base not aligned", 0x80000010, f, PageSize},
		{"directory", 0x80000000, dir, PageSize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r, err := NewFromFile(c.base, c.f, c.size); err == nil {
				r.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func TestMapFileOverlaysPages(t *testing.T) {
	parent := patternFile(t, 8, 0x10)
	child := patternFile(t, 8, 0x80)
	r, err := NewFromFile(0x80000000, parent, 8*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.MapFile(0x80000000+3*PageSize, child, 3*PageSize, 2*PageSize); err != nil {
		t.Fatal(err)
	}
	want := []byte{0x10, 0x11, 0x12, 0x83, 0x84, 0x15, 0x16, 0x17}
	for i, w := range want {
		if got := r.Bytes()[i*PageSize+100]; got != w {
			t.Errorf("page %d reads %#x, want %#x", i, got, w)
		}
	}
	bad := []struct {
		name      string
		paddr     uint64
		off       int64
		n         uint64
		wantError bool
	}{
		{"unaligned address", 0x80000001, 0, PageSize, true},
		{"unaligned offset", 0x80000000, 1, PageSize, true},
		{"past RAM end", 0x80000000 + 7*PageSize, 0, 2 * PageSize, true},
		{"past file end", 0x80000000, 7 * PageSize, 2 * PageSize, true},
		{"negative offset", 0x80000000, -PageSize, PageSize, true},
		{"empty", 0x80000000, 0, 0, true},
		{"last page", 0x80000000 + 7*PageSize, 0, PageSize, false},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			err := r.MapFile(c.paddr, child, c.off, c.n)
			if (err != nil) != c.wantError {
				t.Fatalf("err = %v, want error %v", err, c.wantError)
			}
		})
	}
}

// Discard must zero file-backed pages, not bring the file's bytes back
// (which MADV_DONTNEED does on a private file mapping).
func TestDiscardFileBackedZeroes(t *testing.T) {
	f := patternFile(t, 4, 0x40)
	r, err := NewFromFile(0x80000000, f, 4*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := r.Bytes()
	b[PageSize] = 0x99 // a private copy, then discarded
	if err := r.Discard(0x80000000+PageSize, 2*PageSize); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[PageSize:3*PageSize], make([]byte, 2*PageSize)) {
		t.Error("discarded file-backed pages do not read as zero")
	}
	if b[0] != 0x40 || b[3*PageSize] != 0x43 {
		t.Error("Discard touched pages outside its range")
	}
	b[PageSize] = 1 // still writable
	if b[PageSize] != 1 {
		t.Error("discarded page not writable")
	}
}

func TestUntouchedPages(t *testing.T) {
	r, err := New(0x80000000, 64*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := r.Bytes()
	written := map[int]bool{1: true, 5: true, 63: true}
	for p := range written {
		b[p*PageSize+7] = 1
	}
	bits, ok := r.UntouchedPages()
	if !ok {
		t.Skip("no /proc/self/pagemap")
	}
	untouched := 0
	for p := 0; p < 64; p++ {
		set := bits[p>>6]&(1<<(p&63)) != 0
		if set && written[p] {
			t.Errorf("written page %d reported untouched", p)
		}
		if set {
			untouched++
		}
	}
	if untouched < 64-len(written)-8 { // allow for fault-around and THP
		t.Errorf("only %d of %d unwritten pages reported untouched", untouched, 64-len(written))
	}
	f := patternFile(t, 1, 0)
	fr, err := NewFromFile(0x80000000, f, PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	if _, ok := fr.UntouchedPages(); ok {
		t.Error("file-backed RAM claims to know its untouched pages")
	}
}
