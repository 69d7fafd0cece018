package snapshot

import (
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"
	"bytes"

	"github.com/popek-vm/popek/mem"
)

func TestTmpMemWriteCost(t *testing.T) {
	r, _ := mem.New(0x80000000, 128<<20)
	defer r.Close()
	b := r.Bytes()
	for i := 0; i < 22<<20; i += 1 << 20 {
		rand.Read(b[i*5 : i*5+1<<20])
	}
	t0 := time.Now()
	n := 0
	for i := 0; i < len(b); i += 4096 {
		if !bytes.Equal(b[i:i+4096], zeroPage[:]) { n++ }
	}
	t.Log("zero scan", time.Since(t0), n)
	t0 = time.Now()
	n = 0
	for i := 0; i < len(b); i += 4096 {
		if !bytes.Equal(b[i:i+4096], zeroPage[:]) { n++ }
	}
	t.Log("zero scan 2", time.Since(t0), n)
	t0 = time.Now()
	for i := 0; i < len(b); i += 4096 {
		pageHash(b[i:i+4096])
	}
	t.Log("hash all", time.Since(t0))
	t0 = time.Now()
	res, err := writeMemoryRaw(filepath.Join(t.TempDir(), "m"), b, nil, nil)
	t.Log("write", time.Since(t0), err, res.stored)
	t0 = time.Now()
	res, err = writeMemoryRaw(filepath.Join(t.TempDir(), "m"), b, res.index, nil)
	t.Log("write incr", time.Since(t0), err, res.stored)
}
