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
	_, err := s.forEachHart(a[0], a[1], raiseIPI)
	return ret(err, 0)
}

// rfence is the RFENCE extension. Address ranges and ASIDs only narrow what
// must be flushed, so flushing the whole TLB of each target is always
// correct. The call returns once every target has the fence in effect.
func (s *SBI) rfence(caller, fid uint64, a *[8]uint64) Result {
	switch fid {
	case rfenceFenceI:
		return ret(s.fence(caller, a[0], a[1], fenceI), 0)
	case rfenceSfenceVMA, rfenceSfenceVMAASID:
		return ret(s.fence(caller, a[0], a[1], flushTLB), 0)
	}
	return ret(ErrNotSupported, 0)
}
