package snapshot

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/popek-vm/popek/mem"
)

// Restoring memory flattens the parent chain into one RAM: the root
// snapshot's memory.raw is mapped copy-on-write (lazily, pages shared with
// every other VM mapping it through the page cache), and each page that a
// later layer changed is mapped from that layer's memory.raw on top, one
// mapping per run of consecutive pages. A layer too fragmented for that
// (more than RestoreOptions.MaxLayerMappings runs in total) has its pages copied into
// the RAM instead: private memory, but no mapping-count explosion. Chains
// containing a compressed layer are decompressed into anonymous RAM.

// defaultLayerMappings caps the extra mappings one restored RAM may use
// for incremental layers (the process-wide limit, vm.max_map_count, is
// 65530 by default and is shared by every VM).
const defaultLayerMappings = 1024

// chain returns the snapshots from the root to s.
func (s *Snapshot) chain() []*Snapshot {
	var c []*Snapshot
	for p := s; p != nil; p = p.Parent {
		c = append([]*Snapshot{p}, c...)
	}
	return c
}

// owners returns, for every page, the chain position of the layer that
// holds it: the newest layer whose index differs from its parent's.
func owners(chain []*Snapshot) []uint8 {
	pages := len(chain[0].index)
	own := make([]uint8, pages)
	for l := len(chain) - 1; l >= 1; l-- {
		cur, prev := chain[l].index, chain[l-1].index
		for i := range pages {
			if own[i] == 0 && cur[i] != prev[i] {
				own[i] = uint8(l)
			}
		}
	}
	return own
}

// pageRun is a run of pages owned by one layer.
type pageRun struct {
	layer    int
	first, n int
}

func runsOf(own []uint8) []pageRun {
	var runs []pageRun
	for i := 0; i < len(own); {
		j := i + 1
		for j < len(own) && own[j] == own[i] {
			j++
		}
		if own[i] != 0 {
			runs = append(runs, pageRun{layer: int(own[i]), first: i, n: j - i})
		}
		i = j
	}
	return runs
}

func (s *Snapshot) memoryPath() string {
	if s.Manifest.Memory.Format == MemoryZstd {
		return filepath.Join(s.Dir, MemoryZstFile)
	}
	return filepath.Join(s.Dir, MemoryRawFile)
}

// ramSource builds the restored RAM for the chain ending at s, mapping at
// most maxMappings runs of incremental pages (0: the default, negative:
// none, copy them all).
func (s *Snapshot) ramSource(maxMappings int) func(base, size uint64) (*mem.RAM, error) {
	if maxMappings == 0 {
		maxMappings = defaultLayerMappings
	}
	return func(base, size uint64) (*mem.RAM, error) {
		if size != s.Manifest.VM.MemSize {
			return nil, fmt.Errorf("machine wants %d bytes of RAM, the snapshot has %d", size, s.Manifest.VM.MemSize)
		}
		chain := s.chain()
		own := owners(chain)
		runs := runsOf(own)
		for _, l := range chain {
			if l.Manifest.Memory.Format == MemoryZstd {
				return materialise(base, size, chain, own)
			}
		}
		root, err := os.Open(chain[0].memoryPath())
		if err != nil {
			return nil, err
		}
		defer root.Close()
		r, err := mem.NewFromFile(base, root, size)
		if err != nil {
			return nil, err
		}
		if err := overlayLayers(r, chain, runs, len(runs) <= maxMappings); err != nil {
			r.Close()
			return nil, err
		}
		return r, nil
	}
}

// overlayLayers lays the incremental layers' pages over the root mapping,
// by mapping them (mapped) or copying them.
func overlayLayers(r *mem.RAM, chain []*Snapshot, runs []pageRun, mapped bool) error {
	files := make([]*os.File, len(chain))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for _, run := range runs {
		f := files[run.layer]
		if f == nil {
			var err error
			if f, err = os.Open(chain[run.layer].memoryPath()); err != nil {
				return err
			}
			files[run.layer] = f
		}
		off, n := int64(run.first)*pageSize, uint64(run.n)*pageSize
		if mapped {
			if err := r.MapFile(r.Base()+uint64(off), f, off, n); err != nil {
				return err
			}
			continue
		}
		dst, _ := r.Slice(r.Base()+uint64(off), n)
		if _, err := f.ReadAt(dst, off); err != nil {
			return fmt.Errorf("read %s: %w", f.Name(), err)
		}
	}
	return nil
}

// materialise decompresses or copies every layer's own pages into fresh
// anonymous RAM.
func materialise(base, size uint64, chain []*Snapshot, own []uint8) (*mem.RAM, error) {
	r, err := mem.New(base, size)
	if err != nil {
		return nil, err
	}
	if err := fill(r.Bytes(), size, chain, own); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func fill(ram []byte, size uint64, chain []*Snapshot, own []uint8) error {
	for l, snap := range chain {
		put := func(first uint64, data []byte) error {
			for i := 0; i < len(data); i += pageSize {
				if p := first + uint64(i/pageSize); int(own[p]) == l {
					copy(ram[p*pageSize:], data[i:i+pageSize])
				}
			}
			return nil
		}
		if snap.Manifest.Memory.Format == MemoryZstd {
			if err := readCompressedMemory(snap.memoryPath(), uint64(len(own)), put); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(snap.memoryPath())
		if err != nil {
			return err
		}
		err = forDataPages(f, int64(size), func(first int64, data []byte) { put(uint64(first), data) }, make([]byte, 1<<20))
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
