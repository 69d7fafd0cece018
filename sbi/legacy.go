package sbi

// legacy serves the SBI v0.1 extensions 0x00..0x08. They return only a0
// (a1 is preserved) and take hart masks by supervisor virtual address.
func (s *SBI) legacy(caller, eid uint64, a *[8]uint64) Result {
	p := s.cfg.Platform
	switch eid {
	case extLegacySetTimer:
		p.Hart(caller).SetSupervisorTimer(a[0])
		return legacyRet(0)
	case extLegacyPutchar:
		p.ConsoleWrite([]byte{byte(a[0])})
		return legacyRet(0)
	case extLegacyGetchar:
		var b [1]byte
		if p.ConsoleRead(b[:]) == 1 {
			return legacyRet(int64(b[0]))
		}
		return legacyRet(-1)
	case extLegacyClearIPI:
		p.Hart(caller).SetInterrupt(ssip, false)
		return legacyRet(0)
	case extLegacySendIPI, extLegacyFenceI, extLegacySfenceVMA, extLegacySfenceVMAASI:
		return legacyRet(int64(s.legacyMasked(caller, eid, a[0])))
	case extLegacyShutdown:
		p.SystemReset(ResetShutdown, resetReasonNone)
		return legacyRet(0)
	}
	return legacyRet(int64(ErrNotSupported))
}

// legacyMasked runs a v0.1 IPI or fence. A zero mask pointer means all harts,
// as OpenSBI and BBL treat it.
func (s *SBI) legacyMasked(caller, eid, maskAddr uint64) Error {
	mask, base := uint64(0), allHarts
	if maskAddr != 0 {
		m, ok := s.cfg.Platform.LoadUlong(caller, maskAddr)
		if !ok {
			return ErrInvalidAddr
		}
		mask, base = m, 0
	}
	switch eid {
	case extLegacyFenceI:
		return s.fence(caller, mask, base, fenceI)
	case extLegacySfenceVMA, extLegacySfenceVMAASI:
		return s.fence(caller, mask, base, flushTLB)
	}
	_, err := s.forEachHart(mask, base, raiseIPI)
	return err
}
