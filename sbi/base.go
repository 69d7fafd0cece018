package sbi

// BASE extension function IDs.
const (
	baseGetSpecVersion = 0
	baseGetImplID      = 1
	baseGetImplVersion = 2
	baseProbeExtension = 3
	baseGetMVendorID   = 4
	baseGetMArchID     = 5
	baseGetMImpID      = 6
)

func (s *SBI) base(fid uint64, a *[8]uint64) Result {
	switch fid {
	case baseGetSpecVersion:
		return ret(Success, SpecVersion)
	case baseGetImplID:
		return ret(Success, ImplID)
	case baseGetImplVersion:
		return ret(Success, ImplVersion)
	case baseProbeExtension:
		if supported(a[0]) {
			return ret(Success, 1)
		}
		return ret(Success, 0)
	case baseGetMVendorID:
		return ret(Success, s.cfg.MVendorID)
	case baseGetMArchID:
		return ret(Success, s.cfg.MArchID)
	case baseGetMImpID:
		return ret(Success, s.cfg.MImpID)
	}
	return ret(ErrNotSupported, 0)
}

// time is the TIME extension: one function, set_timer.
func (s *SBI) time(caller, fid uint64, a *[8]uint64) Result {
	if fid != 0 {
		return ret(ErrNotSupported, 0)
	}
	s.cfg.Platform.Hart(caller).SetSupervisorTimer(a[0])
	return ret(Success, 0)
}
