package main

import (
	"crypto/sha256"
	"encoding/binary"
)

// fill returns n deterministic bytes named by label and ids: SHA-256 in
// counter mode, block i = SHA-256(label || ids as LE64 || i as LE64). The
// host side of the tests has its own copy of this definition.
func fill(n int, label string, ids ...uint64) []byte {
	hdr := []byte(label)
	for _, id := range ids {
		hdr = binary.LittleEndian.AppendUint64(hdr, id)
	}
	out := make([]byte, 0, n+sha256.Size)
	msg := make([]byte, len(hdr)+8)
	copy(msg, hdr)
	for i := uint64(0); len(out) < n; i++ {
		binary.LittleEndian.PutUint64(msg[len(hdr):], i)
		sum := sha256.Sum256(msg)
		out = append(out, sum[:]...)
	}
	return out[:n]
}

// sum256 hashes the concatenation of parts.
func sum256(parts ...[]byte) [sha256.Size]byte {
	d := sha256.New()
	for _, p := range parts {
		d.Write(p)
	}
	var s [sha256.Size]byte
	d.Sum(s[:0])
	return s
}
