package sbi

// ssip is the supervisor software interrupt bit in mip: IPIs set it.
const ssip = 1

// allHarts as hart_mask_base means "every hart, ignore hart_mask".
const allHarts = ^uint64(0)

// forEachHart validates a (hart_mask, hart_mask_base) pair and, only if every
// selected hart exists, calls fn for each of them in ascending ID order.
func (s *SBI) forEachHart(mask, maskBase uint64, fn func(Target)) Error {
	n := uint64(s.cfg.Platform.NumHarts())
	if maskBase == allHarts {
		for id := uint64(0); id < n; id++ {
			fn(s.cfg.Platform.Hart(id))
		}
		return Success
	}
	for bit := uint64(0); bit < 64; bit++ {
		if mask&(1<<bit) == 0 {
			continue
		}
		// Overflow-safe: maskBase+bit must name an existing hart.
		if maskBase >= n || bit >= n-maskBase {
			return ErrInvalidParam
		}
	}
	for bit := uint64(0); bit < 64; bit++ {
		if mask&(1<<bit) != 0 {
			fn(s.cfg.Platform.Hart(maskBase + bit))
		}
	}
	return Success
}

func raiseIPI(t Target) { t.SetInterrupt(ssip, true) }
func flushTLB(t Target) { t.RequestFlushTLB() }
func fenceI(t Target)   { t.RequestFenceI() }
