package sbi

// SRST reset reasons; 2..0xFFFFFFFF are reserved or platform specific.
const (
	resetReasonNone          = 0
	resetReasonSystemFailure = 1
)

// srst is the system reset extension: one function, system_reset.
func (s *SBI) srst(fid uint64, a *[8]uint64) Result {
	if fid != 0 {
		return ret(ErrNotSupported, 0)
	}
	kind, reason := a[0], a[1]
	if kind > uint64(ResetWarmReboot) || reason > resetReasonSystemFailure {
		return ret(ErrInvalidParam, 0)
	}
	s.cfg.Platform.SystemReset(ResetType(kind), uint32(reason))
	return ret(Success, 0)
}
