package sbi

// HSM extension function IDs.
const (
	hsmHartStart   = 0
	hsmHartStop    = 1
	hsmHartStatus  = 2
	hsmHartSuspend = 3
)

// Suspend types: only the two defaults are implemented; reserved and
// platform-specific types are INVALID_PARAM as the spec requires.
const (
	suspendRetentiveDefault    = 0x00000000
	suspendNonRetentiveDefault = 0x80000000
)

func (s *SBI) hsm(caller, fid uint64, a *[8]uint64) Result {
	p := s.cfg.Platform
	switch fid {
	case hsmHartStart:
		id, addr, opaque := a[0], a[1], a[2]
		if id >= uint64(p.NumHarts()) {
			return ret(ErrInvalidParam, 0)
		}
		if !s.executable(addr) {
			return ret(ErrInvalidAddr, 0)
		}
		return ret(p.HartStart(id, addr, opaque), 0)
	case hsmHartStop:
		return ret(p.HartStop(caller), 0)
	case hsmHartStatus:
		if a[0] >= uint64(p.NumHarts()) {
			return ret(ErrInvalidParam, 0)
		}
		return ret(Success, uint64(p.HartStatus(a[0])))
	case hsmHartSuspend:
		switch uint32(a[0]) {
		case suspendRetentiveDefault:
			return ret(p.HartSuspend(caller, false, 0, 0), 0)
		case suspendNonRetentiveDefault:
			if !s.executable(a[1]) {
				return ret(ErrInvalidAddr, 0)
			}
			return ret(p.HartSuspend(caller, true, a[1], a[2]), 0)
		}
		return ret(ErrInvalidParam, 0)
	}
	return ret(ErrNotSupported, 0)
}

// executable reports whether a start or resume address lies in RAM, the only
// memory a hart can start from with translation off.
func (s *SBI) executable(addr uint64) bool {
	return addr%2 == 0 && s.cfg.RAM.Contains(addr, 4)
}
