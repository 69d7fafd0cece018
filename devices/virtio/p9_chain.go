package virtio

import "fmt"

// rebuildChain recreates a chain the device held when a snapshot was taken
// from its head and writable segments, checking them again against the
// queue and guest RAM since the snapshot is input like any other.
// (Like unpop, this belongs with the transport's chain code.)
func rebuildChain(q *Queue, head uint16, segs []Segment) (Chain, error) {
	if head >= q.Size() {
		return Chain{}, fmt.Errorf("head %d outside queue of %d", head, q.Size())
	}
	c := Chain{Head: head, ram: q.ram}
	for _, s := range segs {
		if !s.Write {
			return Chain{}, fmt.Errorf("chain %d: readable segment where only writable ones are kept", head)
		}
		if !q.ram.Contains(s.Addr, uint64(s.Len)) {
			return Chain{}, fmt.Errorf("chain %d: buffer %#x+%d outside RAM", head, s.Addr, s.Len)
		}
		c.writable += uint64(s.Len)
		if c.writable > MaxChainBytes {
			return Chain{}, fmt.Errorf("chain %d longer than %d bytes", head, MaxChainBytes)
		}
		c.Segments = append(c.Segments, s)
	}
	return c, nil
}
