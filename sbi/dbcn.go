package sbi

// DBCN extension function IDs.
const (
	dbcnWrite     = 0
	dbcnRead      = 1
	dbcnWriteByte = 2
)

// maxConsoleChunk bounds one console_write/read so a hostile length cannot
// stall the hart; the call is non-blocking and may transfer fewer bytes.
const maxConsoleChunk = 64 << 10

func (s *SBI) dbcn(fid uint64, a *[8]uint64) Result {
	switch fid {
	case dbcnWrite, dbcnRead:
		n, lo, hi := a[0], a[1], a[2]
		if hi != 0 || !s.cfg.RAM.Contains(lo, n) {
			return ret(ErrInvalidParam, 0)
		}
		n = min(n, maxConsoleChunk)
		buf, _ := s.cfg.RAM.Slice(lo, n)
		if fid == dbcnWrite {
			return ret(Success, uint64(s.cfg.Platform.ConsoleWrite(buf)))
		}
		got := s.cfg.Platform.ConsoleRead(buf)
		s.cfg.RAM.MarkDirtyRange(lo, uint64(got))
		return ret(Success, uint64(got))
	case dbcnWriteByte:
		s.cfg.Platform.ConsoleWrite([]byte{byte(a[0])})
		return ret(Success, 0)
	}
	return ret(ErrNotSupported, 0)
}
