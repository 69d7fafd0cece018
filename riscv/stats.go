package riscv

// Stats are a hart's event counters.
type Stats struct {
	Instret    uint64     // instructions retired since New
	Exceptions [32]uint64 // exceptions taken, by cause
	Interrupts [16]uint64 // interrupts taken, by cause
	TLBHits    uint64     // fetch (per block) and data lookups served by the TLB
	TLBMisses  uint64
	Ecalls     uint64 // ECALLs executed, including those the SBI handled
}

// Stats returns the counters. Call it while Run is not executing.
func (h *Hart) Stats() Stats {
	s := h.stats
	s.TLBHits = h.fetchHits
	if h.memOps > 0 {
		// Data accesses that did not miss were hits. Misses include fetch
		// misses, so clamp rather than underflow.
		dataMisses := s.TLBMisses - h.fetchMisses
		if h.memOps > dataMisses {
			s.TLBHits += h.memOps - dataMisses
		}
	}
	return s
}
