package virtio

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzBaseSize is the fuzzed overlays' base: a partial last cluster at
// every cluster size from 4 KiB to 64 KiB.
const fuzzBaseSize = 3<<16 + 3*512

// fuzzOvlMax bounds the overlay files the fuzzer builds.
const fuzzOvlMax = 1 << 20

// overlayFuzzSeeds are overlays popek wrote itself for base: fresh, with
// clusters written, discarded and copied on write.
func overlayFuzzSeeds(f *testing.F, base string) [][]byte {
	dir := f.TempDir()
	fresh, used := filepath.Join(dir, "fresh.ovl"), filepath.Join(dir, "used.ovl")
	var out [][]byte
	for _, name := range []string{fresh, used} {
		o, err := openOverlay(base, name, false)
		if err != nil {
			f.Fatal(err)
		}
		if name == used {
			for _, w := range []struct {
				off int64
				n   int
			}{{0, 512}, {1 << 16, 1 << 16}, {fuzzBaseSize - 1024, 1024}} {
				if err := o.WriteAt(bytes.Repeat([]byte{0xc3}, w.n), w.off); err != nil {
					f.Fatal(err)
				}
			}
			if err := o.Discard(2<<16, 4096); err != nil {
				f.Fatal(err)
			}
		}
		if err := o.Close(); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzOverlay opens corrupt overlay files on a base image: a clear error,
// or a disk of the base's size whose every cluster reads from the base or
// from the overlay's data area as its bitmap says, that keeps writes, and
// that never grows the overlay past its data area nor touches the base.
func FuzzOverlay(f *testing.F) {
	dir := f.TempDir()
	base := filepath.Join(dir, "base.img")
	content := pattern(fuzzBaseSize, 7)
	if err := os.WriteFile(base, content, 0o444); err != nil {
		f.Fatal(err)
	}
	for _, s := range overlayFuzzSeeds(f, base) {
		for _, ro := range []bool{false, true} {
			f.Add(s, uint32(len(s)), true, ro)
			f.Add(s[:overlayHeaderSize], uint32(len(s)), true, ro)
			f.Add(s, uint32(len(s)-1), true, ro)
			f.Add(s, uint32(overlayHeaderSize+100), true, ro)
		}
		for _, off := range []int{8, 12, 16, 20, 24, 32, 40, 72, 80, 88, 96, overlayHeaderSize} {
			c := bytes.Clone(s)
			c[off] ^= 0x10
			f.Add(c, uint32(len(c)), true, false)
			f.Add(c, uint32(len(c)), false, false)
		}
		// Cluster bits 12 (a layout that is consistent for them too).
		c := bytes.Clone(s[:overlayHeaderSize])
		h, err := decodeOverlayHeader(c)
		if err != nil {
			f.Fatal(err)
		}
		h.clusterBits = 12
		h.bitmapLen, h.dataOff = overlayLayout(h.size, 12)
		f.Add(append(h.encode(), bytes.Repeat([]byte{0x55}, overlayBitmapPage)...), uint32(h.dataOff+h.size), true, false)
	}
	ovl := filepath.Join(dir, "fuzz.ovl")
	f.Fuzz(func(t *testing.T, meta []byte, fileSize uint32, fixCRC, readOnly bool) {
		file := overlayFuzzFile(meta, fileSize, fixCRC)
		if err := os.WriteFile(ovl, file, 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := openOverlay(base, ovl, readOnly)
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, "overlay") || strings.Contains(msg, "%!") {
				t.Fatalf("error %q does not say the overlay is at fault", msg)
			}
			return
		}
		defer func() {
			if o != nil {
				o.Close()
			}
		}()
		if o.Size() != fuzzBaseSize {
			t.Fatalf("disk of %d bytes over a base of %d", o.Size(), fuzzBaseSize)
		}
		want := expectedDisk(file, content)
		got := make([]byte, fuzzBaseSize)
		// Odd-sized reads cross cluster boundaries at every cluster size.
		for off := int64(0); off < fuzzBaseSize; off += 3000 {
			n := min(3000, fuzzBaseSize-off)
			if err := o.ReadAt(got[off:off+n], off); err != nil {
				t.Fatalf("read %d+%d of an opened overlay: %v", off, n, err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatal("disk contents differ from what the bitmap and data area say")
		}
		if !readOnly {
			w := bytes.Repeat([]byte{0x3c}, 5000)
			off := int64(fuzzBaseSize - 7000)
			if err := o.WriteAt(w, off); err != nil {
				t.Fatalf("write to an opened overlay: %v", err)
			}
			copy(want[off:], w)
		} else if err := o.WriteAt([]byte{1}, 0); err == nil {
			t.Fatal("a read-only overlay took a write")
		}
		err = o.Close()
		o = nil
		if err != nil {
			t.Fatalf("close: %v", err)
		}
		if st, err := os.Stat(ovl); err != nil || uint64(st.Size()) > max(uint64(len(file)), overlayDataEnd(file)) {
			t.Fatalf("overlay grew to %d bytes, past its data area (%v)", st.Size(), err)
		}
		if b, err := os.ReadFile(base); err != nil || !bytes.Equal(b, content) {
			t.Fatalf("the base image changed (%v)", err)
		}
		r, err := openOverlay(base, ovl, true)
		if err != nil {
			t.Fatalf("reopening the overlay: %v", err)
		}
		defer r.Close()
		if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("after reopening, the disk differs (%v)", err)
		}
	})
}

// overlayFuzzFile is meta over a file of fileSize bytes (at most
// fuzzOvlMax) whose remaining bytes are a pattern, with the header's CRC
// recomputed when fixCRC, so that the fuzzer reaches the layout checks.
func overlayFuzzFile(meta []byte, fileSize uint32, fixCRC bool) []byte {
	n := min(int(fileSize), fuzzOvlMax)
	file := pattern(max(n, min(len(meta), fuzzOvlMax)), 99)
	copy(file, meta)
	if fixCRC && len(file) >= overlayHeaderSize {
		binary.LittleEndian.PutUint32(file[96:], crc32Castagnoli(file[:overlayHeaderFields]))
	}
	return file
}

// overlayDataEnd is where an accepted overlay's data area ends.
func overlayDataEnd(file []byte) uint64 {
	le := binary.LittleEndian
	return le.Uint64(file[88:]) + le.Uint64(file[24:])
}

// expectedDisk is what an accepted overlay file must read as, from its
// header and bitmap alone: set bits read the data area (zero past the
// file's end), clear bits the base.
func expectedDisk(file, base []byte) []byte {
	le := binary.LittleEndian
	cbits := le.Uint32(file[16:])
	bitmapOff, dataOff := le.Uint64(file[72:]), le.Uint64(file[88:])
	cs := int64(1) << cbits
	out := make([]byte, len(base))
	for k := int64(0); k*cs < int64(len(base)); k++ {
		from, to := k*cs, min((k+1)*cs, int64(len(base)))
		if file[bitmapOff+uint64(k>>3)]&(1<<(k&7)) == 0 {
			copy(out[from:to], base[from:to])
			continue
		}
		if start := int64(dataOff) + from; start < int64(len(file)) {
			copy(out[from:to], file[start:min(int64(len(file)), int64(dataOff)+to)])
		}
	}
	return out
}
