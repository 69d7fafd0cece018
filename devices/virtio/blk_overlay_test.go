package virtio

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ovlBaseSize = 1<<20 + 3*512 // a partial last cluster

// overlayFixture writes a base image with a pattern and names an overlay.
func overlayFixture(t *testing.T) (base, ovl string, content []byte) {
	t.Helper()
	dir := t.TempDir()
	base, ovl = filepath.Join(dir, "base.img"), filepath.Join(dir, "disk.ovl")
	content = pattern(ovlBaseSize, 42)
	if err := os.WriteFile(base, content, 0o444); err != nil {
		t.Fatal(err)
	}
	return base, ovl, content
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func openTestOverlay(t *testing.T, base, ovl string) *overlayImage {
	t.Helper()
	o, err := openOverlay(base, ovl, false)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func readImage(t *testing.T, img image, off, n int64) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := img.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOverlayCopyOnWrite(t *testing.T) {
	base, ovl, content := overlayFixture(t)
	baseHash := fileHash(t, base)
	o := openTestOverlay(t, base, ovl)
	want := bytes.Clone(content)
	apply := func(off int64, p []byte) {
		t.Helper()
		if err := o.WriteAt(p, off); err != nil {
			t.Fatal(err)
		}
		copy(want[off:], p)
	}
	zero := func(off, n int64, discard bool) {
		t.Helper()
		var err error
		if discard {
			err = o.Discard(off, n)
		} else {
			err = o.WriteZeroes(off, n, false)
		}
		if err != nil {
			t.Fatal(err)
		}
		clear(want[off : off+n])
	}
	if !bytes.Equal(readImage(t, o, 0, ovlBaseSize), content) {
		t.Fatal("fresh overlay does not read through to the base")
	}
	apply(100, pattern(50, 1))              // inside one cluster
	apply(64<<10-512, pattern(1024, 2))     // across a cluster boundary
	apply(3<<16, pattern(2<<16, 3))         // two whole clusters
	apply(5<<16+7, pattern(3<<16, 4))       // partial, whole, partial
	apply(ovlBaseSize-700, pattern(700, 5)) // in the partial last cluster
	zero(9<<16+512, 4096, true)             // discard inside a base cluster
	zero(10<<16, 2<<16, false)              // whole clusters
	zero(3<<16+100, 200, true)              // inside an overlay cluster
	if got := readImage(t, o, 0, ovlBaseSize); !bytes.Equal(got, want) {
		t.Fatal("overlay contents differ from the expected disk")
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if fileHash(t, base) != baseHash {
		t.Fatal("base image modified")
	}
	// The overlay survives a reopen.
	o = openTestOverlay(t, base, ovl)
	defer o.Close()
	if got := readImage(t, o, 0, ovlBaseSize); !bytes.Equal(got, want) {
		t.Fatal("overlay contents lost across reopen")
	}
	if a := allocatedBytes(t, ovl); a > 1<<20 {
		t.Errorf("overlay allocates %d bytes for ~400 KiB of data", a)
	}
}

// diskBitmap reads cluster k's allocation bit from the overlay file itself.
func diskBitmap(t *testing.T, ovl string, k int64) bool {
	t.Helper()
	f, err := os.Open(ovl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], overlayHeaderSize+k/8); err != nil {
		t.Fatal(err)
	}
	return b[0]&(1<<(k%8)) != 0
}

func TestOverlayBitmapPersistsAtFlush(t *testing.T) {
	base, ovl, _ := overlayFixture(t)
	o := openTestOverlay(t, base, ovl)
	defer o.Close()
	if err := o.WriteAt(pattern(512, 1), 2<<16); err != nil {
		t.Fatal(err)
	}
	if diskBitmap(t, ovl, 2) {
		t.Fatal("bitmap reached the disk before the data was synced")
	}
	if err := o.Flush(); err != nil {
		t.Fatal(err)
	}
	if !diskBitmap(t, ovl, 2) || diskBitmap(t, ovl, 3) {
		t.Fatal("flush did not persist exactly the allocated cluster")
	}
}

func TestOverlayThroughVirtio(t *testing.T) {
	base, ovl, content := overlayFixture(t)
	baseHash := fileHash(t, base)
	d := newBlkDriver(t, BlockConfig{Path: base, Overlay: ovl}, blkAllFeatures)
	if d.blk.Capacity() != ovlBaseSize/512 {
		t.Fatalf("capacity %d", d.blk.Capacity())
	}
	if got, _ := d.read(0, 4096); !bytes.Equal(got, content[:4096]) {
		t.Fatal("read did not fall through to the base")
	}
	d.write(1, pattern(512, 9))
	d.do(false, out(blkHeader(blkTDiscard, 0)), out(dwzSegments([3]uint64{256, 128, 0})))
	d.do(false, out(blkHeader(blkTFlush, 0)))
	got, _ := d.read(0, 1024)
	if !bytes.Equal(got[:512], content[:512]) || !bytes.Equal(got[512:], pattern(512, 9)) {
		t.Fatal("overlay write not visible")
	}
	if got, _ := d.read(256, 128*512); !isZero(got) {
		t.Fatal("discarded range does not read as zero")
	}
	if fileHash(t, base) != baseHash {
		t.Fatal("base modified")
	}
}

func TestOverlayRejectsBadFiles(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name    string
		corrupt func(t *testing.T, base, ovl string)
		errPart string
	}{
		{"bad magic", func(t *testing.T, _, ovl string) { patchFile(t, ovl, 0, []byte("NOTPOPEK")) }, "magic"},
		{"flipped header bit", func(t *testing.T, _, ovl string) { patchFile(t, ovl, 30, []byte{0xff}) }, "checksum"},
		{"future version", func(t *testing.T, _, ovl string) {
			h := readHeader(t, ovl)
			le.PutUint32(h[8:], 2)
			rewriteHeader(t, ovl, h)
		}, "version"},
		{"bad cluster size", func(t *testing.T, _, ovl string) {
			h := readHeader(t, ovl)
			le.PutUint32(h[16:], 40)
			rewriteHeader(t, ovl, h)
		}, "cluster"},
		{"inconsistent layout", func(t *testing.T, _, ovl string) {
			h := readHeader(t, ovl)
			le.PutUint64(h[88:], 12345)
			rewriteHeader(t, ovl, h)
		}, "layout"},
		{"truncated", func(t *testing.T, _, ovl string) { os.Truncate(ovl, 100) }, "truncated"},
		{"empty file", func(t *testing.T, _, ovl string) { os.Truncate(ovl, 0) }, "truncated"},
		{"base grew", func(t *testing.T, base, _ string) {
			os.Chmod(base, 0o644)
			f, _ := os.OpenFile(base, os.O_APPEND|os.O_WRONLY, 0)
			f.Write(make([]byte, 512))
			f.Close()
		}, "base of"},
		{"different base", func(t *testing.T, base, _ string) {
			os.Chmod(base, 0o644)
			patchFile(t, base, 1000, []byte("different"))
		}, "different base"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, ovl, _ := overlayFixture(t)
			o := openTestOverlay(t, base, ovl)
			o.WriteAt(pattern(512, 1), 0)
			o.Close()
			c.corrupt(t, base, ovl)
			_, err := NewBlock(BlockConfig{Path: base, Overlay: ovl})
			if err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Fatalf("error %v, want mention of %q", err, c.errPart)
			}
		})
	}
}

func patchFile(t *testing.T, path string, off int64, p []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
}

func readHeader(t *testing.T, ovl string) []byte {
	b, err := os.ReadFile(ovl)
	if err != nil {
		t.Fatal(err)
	}
	return b[:overlayHeaderSize]
}

// rewriteHeader stores a modified header with a valid checksum, so the
// field checks rather than the checksum reject it.
func rewriteHeader(t *testing.T, ovl string, h []byte) {
	binary.LittleEndian.PutUint32(h[96:], crc32Castagnoli(h[:overlayHeaderFields]))
	patchFile(t, ovl, 0, h)
}

func TestOverlayReadOnly(t *testing.T) {
	base, ovl, content := overlayFixture(t)
	if _, err := NewBlock(BlockConfig{Path: base, Overlay: ovl, ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing overlay succeeded")
	}
	o := openTestOverlay(t, base, ovl)
	o.WriteAt(pattern(512, 7), 512)
	o.Close()
	ovlHash := fileHash(t, ovl)
	d := newBlkDriver(t, BlockConfig{Path: base, Overlay: ovl, ReadOnly: true}, FeatureVersion1|BlockFRO)
	if s := d.write(0, make([]byte, 512)); s != blkSIOErr {
		t.Fatalf("write status %d", s)
	}
	got, _ := d.read(0, 1024)
	if !bytes.Equal(got[:512], content[:512]) || !bytes.Equal(got[512:], pattern(512, 7)) {
		t.Fatal("read-only overlay contents wrong")
	}
	d.m.Close()
	if fileHash(t, ovl) != ovlHash {
		t.Fatal("read-only overlay modified")
	}
}

func TestOverlayLocked(t *testing.T) {
	base, ovl, _ := overlayFixture(t)
	a := openTestOverlay(t, base, ovl)
	defer a.Close()
	if _, err := openOverlay(base, ovl, false); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second writer of one overlay: %v", err)
	}
}
