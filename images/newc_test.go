package images

import (
	"fmt"
	"strconv"
)

// cpioEntry is one member of a newc ("070701") cpio archive.
type cpioEntry struct {
	mode         uint32
	rmajor, rmin uint32
	data         []byte // file contents, or a symlink's target
}

const (
	modeTypeMask = 0o170000
	modeRegular  = 0o100000
	modeDir      = 0o040000
	modeSymlink  = 0o120000
	modeCharDev  = 0o020000
)

// parseNewc reads a whole newc archive into a map by member name, checking
// every header so that a truncated or corrupt archive fails the test.
func parseNewc(b []byte) (map[string]cpioEntry, error) {
	const headerLen = 110
	entries := map[string]cpioEntry{}
	for off := 0; ; {
		if len(b)-off < headerLen {
			return nil, fmt.Errorf("truncated header at %d", off)
		}
		h := b[off : off+headerLen]
		if m := string(h[:6]); m != "070701" && m != "070702" {
			return nil, fmt.Errorf("bad magic %q at %d", m, off)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("bad header field %d at %d: %v", i, off, err)
			}
			f[i] = uint32(v)
		}
		mode, size, rmajor, rminor, nameSize := f[1], int(f[6]), f[9], f[10], int(f[11])
		if nameSize < 1 || len(b)-off-headerLen < nameSize {
			return nil, fmt.Errorf("bad name size %d at %d", nameSize, off)
		}
		name := string(b[off+headerLen : off+headerLen+nameSize-1]) // drop the NUL
		off = align4(off + headerLen + nameSize)
		if name == "TRAILER!!!" {
			return entries, nil
		}
		if size < 0 || len(b)-off < size {
			return nil, fmt.Errorf("%s: data runs past the end", name)
		}
		entries[name] = cpioEntry{mode: mode, rmajor: rmajor, rmin: rminor, data: b[off : off+size]}
		off = align4(off + size)
	}
}

func align4(n int) int { return (n + 3) &^ 3 }
