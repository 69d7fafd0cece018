package sbi

// ssip is the supervisor software interrupt bit in mip: IPIs set it.
const ssip = 1

// allHarts as hart_mask_base means "every hart, ignore hart_mask".
const allHarts = ^uint64(0)

// selectHarts validates a (hart_mask, hart_mask_base) pair and returns the
// selected harts as a bitmask of hart IDs (the board has at most 64).
func (s *SBI) selectHarts(mask, maskBase uint64) (uint64, Error) {
	n := uint64(s.cfg.Platform.NumHarts())
	if maskBase == allHarts {
		if n >= 64 {
			return ^uint64(0), Success
		}
		return 1<<n - 1, Success
	}
	for bit := uint64(0); bit < 64; bit++ {
		if mask&(1<<bit) == 0 {
			continue
		}
		// Overflow-safe: maskBase+bit must name an existing hart.
		if maskBase >= n || bit >= n-maskBase {
			return 0, ErrInvalidParam
		}
	}
	return mask << maskBase, Success
}

// forEachHart calls fn for each hart selected by (mask, maskBase) in
// ascending ID order, only if every selected hart exists, and returns the
// selection as a bitmask.
func (s *SBI) forEachHart(mask, maskBase uint64, fn func(Target)) (uint64, Error) {
	sel, err := s.selectHarts(mask, maskBase)
	if err != Success {
		return 0, err
	}
	for id := uint64(0); id < 64; id++ {
		if sel&(1<<id) != 0 {
			fn(s.cfg.Platform.Hart(id))
		}
	}
	return sel, Success
}

// fence requests fn on the selected harts and waits until it is in effect.
func (s *SBI) fence(caller, mask, maskBase uint64, fn func(Target)) Error {
	sel, err := s.forEachHart(mask, maskBase, fn)
	if err == Success {
		s.cfg.Platform.AwaitFences(caller, sel)
	}
	return err
}

func raiseIPI(t Target) { t.SetInterrupt(ssip, true) }
func flushTLB(t Target) { t.RequestFlushTLB() }
func fenceI(t Target)   { t.RequestFenceI() }
