package snapshot

import (
	"encoding/binary"
	"fmt"
)

// memory.idx holds the xxh3-64 hash of every guest page as of the snapshot
// (the flattened memory, whatever layer each page is stored in). An
// incremental child stores exactly the pages whose hash differs from its
// parent's index, and restore finds each page's layer the same way.
//
//	0  [8]byte "POPEKIDX"
//	8  uint32  version (1)
//	12 uint32  page size (4096)
//	16 uint64  number of pages
//	24 uint64  hash of page 0, page 1, ... (little-endian)
const (
	indexMagic   = "POPEKIDX"
	indexVersion = 1
	indexHeader  = 24
)

func encodeIndex(hashes []uint64) []byte {
	b := make([]byte, indexHeader+8*len(hashes))
	copy(b, indexMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], indexVersion)
	le.PutUint32(b[12:], pageSize)
	le.PutUint64(b[16:], uint64(len(hashes)))
	for i, h := range hashes {
		le.PutUint64(b[indexHeader+8*i:], h)
	}
	return b
}

func decodeIndex(b []byte, pages uint64) ([]uint64, error) {
	le := binary.LittleEndian
	switch {
	case len(b) < indexHeader || string(b[:8]) != indexMagic:
		return nil, fmt.Errorf("not a page index")
	case le.Uint32(b[8:]) != indexVersion:
		return nil, fmt.Errorf("page index version %d, want %d", le.Uint32(b[8:]), indexVersion)
	case le.Uint32(b[12:]) != pageSize:
		return nil, fmt.Errorf("page index has page size %d", le.Uint32(b[12:]))
	case le.Uint64(b[16:]) != pages || uint64(len(b)-indexHeader) != 8*pages:
		return nil, fmt.Errorf("page index covers %d pages in %d bytes, memory has %d pages", le.Uint64(b[16:]), len(b), pages)
	}
	hashes := make([]uint64, pages)
	for i := range hashes {
		hashes[i] = le.Uint64(b[indexHeader+8*i:])
	}
	return hashes, nil
}
