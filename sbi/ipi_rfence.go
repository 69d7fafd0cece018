package sbi

// RFENCE extension function IDs. 3..6 are the hypervisor fences, which need
// the H extension popek does not implement: they answer NOT_SUPPORTED.
const (
	rfenceFenceI        = 0
	rfenceSfenceVMA     = 1
	rfenceSfenceVMAASID = 2
)

// ipi is the IPI extension: send_ipi(hart_mask, hart_mask_base).
func (s *SBI) ipi(fid uint64, a *[8]uint64) Result {
	if fid != 0 {
		return ret(ErrNotSupported, 0)
	}
	return ret(s.forEachHart(a[0], a[1], raiseIPI), 0)
}

// rfence is the RFENCE extension. Address ranges and ASIDs only narrow what
// must be flushed, so flushing the whole TLB of each target is always correct.
func (s *SBI) rfence(fid uint64, a *[8]uint64) Result {
	switch fid {
	case rfenceFenceI:
		return ret(s.forEachHart(a[0], a[1], fenceI), 0)
	case rfenceSfenceVMA, rfenceSfenceVMAASID:
		return ret(s.forEachHart(a[0], a[1], flushTLB), 0)
	}
	return ret(ErrNotSupported, 0)
}
