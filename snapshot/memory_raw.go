package snapshot

import (
	"fmt"
	"os"
)

// memory.raw is guest memory as a sparse file the size of RAM: byte i is
// guest-physical DRAM base + i, so restore maps it directly. Pages not
// stored are holes: zero pages in a full snapshot; in an incremental one,
// pages unchanged since the parent and pages that became zero (memory.idx
// tells them apart).

// memoryResult is what writing a memory layer produced.
type memoryResult struct {
	index   []uint64 // the flattened page hashes (memory.idx)
	digest  string   // of memory.raw
	stored  uint64   // non-zero pages written
	changed uint64   // pages differing from the parent (incremental)
}

// maxWriteRun bounds one write, so a large RAM is not one huge syscall.
const maxWriteRun = 8 << 20

// writeMemoryRaw writes ram to the new file name. With a parent index only
// the pages whose hash differs from it are stored. untouched, if not nil,
// marks pages known to be zero without reading them (mem.UntouchedPages).
func writeMemoryRaw(name string, ram []byte, parent, untouched []uint64) (res *memoryResult, err error) {
	if len(ram)%pageSize != 0 {
		return nil, fmt.Errorf("memory of %d bytes is not whole pages", len(ram))
	}
	pages := len(ram) / pageSize
	if parent != nil && len(parent) != pages {
		return nil, fmt.Errorf("parent has %d pages of memory, this machine %d", len(parent), pages)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("write %s: %w", name, err)
		}
	}()
	if err := f.Truncate(int64(len(ram))); err != nil {
		return nil, err
	}
	res = &memoryResult{index: make([]uint64, pages)}
	d := newDigester(int64(len(ram)))
	run := -1 // first page of the pending write, -1 for none
	flush := func(end int) error {
		if run < 0 {
			return nil
		}
		_, err := f.WriteAt(ram[run*pageSize:end*pageSize], int64(run)*pageSize)
		run = -1
		return err
	}
	for i := 0; i < pages; i++ {
		p := ram[i*pageSize : (i+1)*pageSize]
		h := zeroHash
		zero := untouched != nil && untouched[i>>6]&(1<<(i&63)) != 0 || isZero(p)
		if !zero {
			h = pageHash(p)
		}
		res.index[i] = h
		changed := parent == nil || parent[i] != h
		if parent != nil && changed {
			res.changed++
		}
		if zero || !changed {
			if err := flush(i); err != nil {
				return nil, err
			}
			continue
		}
		res.stored++
		d.page(uint64(i), h)
		if run < 0 {
			run = i
		} else if (i-run)*pageSize >= maxWriteRun {
			if err := flush(i); err != nil {
				return nil, err
			}
			run = i
		}
	}
	if err := flush(pages); err != nil {
		return nil, err
	}
	res.digest = d.sum()
	return res, nil
}

// storedPage reports whether a layer with index idx over parent stores
// page i in its memory file.
func storedPage(idx, parent []uint64, i int) bool {
	return idx[i] != zeroHash && (parent == nil || parent[i] != idx[i])
}
