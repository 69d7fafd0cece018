package riscv

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is this process's user+system CPU time: on a shared machine it
// measures the emulator better than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLoop runs a CPU-bound guest loop and reports guest MIPS.
// tail is placed after the loop (for subroutines).
func benchLoop(b *testing.B, body []uint32, tail ...uint32) {
	e := newEnv(b)
	// t0 counts down from a large value; the loop never ends on its own.
	prog := cat(li(t0, 1<<30), la(s0, ramBase+0x100000), body, w(addi(t0, t0, -1)))
	prog = append(prog, bne(t0, zero, -int64(4*(len(body)+1))))
	prog = append(prog, haltSeq()...)
	prog = append(prog, tail...)
	e.program(prog...)
	b.ResetTimer()
	c0 := cpuTime()
	var n uint64
	const chunk = 1 << 20
	for n < uint64(b.N) {
		n += e.h.Run(chunk)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "MIPS")
	b.ReportMetric(float64(n)/(cpuTime()-c0).Seconds()/1e6, "MIPS/cpu")
	b.ReportMetric(0, "ns/op")
	if s := e.h.Stats(); s.Exceptions != [32]uint64{} {
		b.Fatalf("the loop trapped: %v", s.Exceptions)
	}
}

// BenchmarkIntegerLoop: ALU-only loop body.
func BenchmarkIntegerLoop(b *testing.B) {
	benchLoop(b, w(
		addi(a0, a0, 3), xor(a1, a1, a0), slli(a2, a1, 3), add(a3, a3, a2),
		sub(a4, a3, a0), and(a5, a4, a1), or(a1, a5, a2), srli(a2, a1, 7),
	))
}

// BenchmarkMemoryLoop: loads and stores through the TLB fast path.
func BenchmarkMemoryLoop(b *testing.B) {
	benchLoop(b, w(
		ld(a0, s0, 0), addi(a0, a0, 1), sd(a0, s0, 0), lw(a1, s0, 8),
		add(a1, a1, a0), sw(a1, s0, 8), ld(a2, s0, 16), add(a2, a2, a1),
	))
}

// BenchmarkCallLoop: a call and a return per iteration, so every
// iteration takes the indirect-jump lookup path.
func BenchmarkCallLoop(b *testing.B) {
	// Loop: jal leaf; addi; addi t0; bne; then the 3-word halt sequence;
	// the leaf follows it, 7 words after the jal.
	benchLoop(b, w(jal(ra, 7*4), addi(a1, a1, 1)), addi(a0, a0, 1), jalr(zero, ra, 0))
}

// BenchmarkAddressSpaceSwitch: S-mode code that alternates satp between
// two address spaces (ASIDs 1 and 2) and reads 8 pages in each, as a
// context-switch-heavy guest does.
func BenchmarkAddressSpaceSwitch(b *testing.B) {
	const va, pages = 0x40000000, 8
	e := newEnv(b)
	// a1/a2: the two satp values; each pass: switch, touch the pages.
	pass := w(
		addi(a3, zero, pages), addi(a4, s0, 0),
		ld(a0, a4, 0), add(a4, a4, a5), addi(a3, a3, -1), bne(a3, zero, -12),
	)
	body := cat(w(csrw(csrSatp, a1)), pass, w(csrw(csrSatp, a2)), pass)
	prog := cat(li(t0, 1<<30), li(s0, va), li(a5, pageSize), body, w(addi(t0, t0, -1)))
	prog = append(prog, bne(t0, zero, -int64(4*(len(body)+1))))
	prog = append(prog, haltSeq()...)
	e.program(prog...)
	var satps [2]uint64
	next := uint64(ptArea)
	for i := range satps {
		pt := &pageTable{e: e, levels: 3, next: next}
		pt.root = pt.alloc()
		pt.mapAt(ramBase, ramBase, 1, rwx)
		for p := uint64(0); p < pages; p++ {
			pt.mapAt(va+p*pageSize, ramBase+0x300000+uint64(i)*0x10000+p*pageSize, 0, rwx)
		}
		next = pt.next
		satps[i] = satpSv39<<satpModeShift | uint64(i+1)<<satpASIDShift | pt.root>>pageShift
	}
	e.h.X[a1], e.h.X[a2] = satps[0], satps[1]
	e.h.SetPriv(PrivS)
	b.ResetTimer()
	c0 := cpuTime()
	var n uint64
	for n < uint64(b.N) {
		n += e.h.Run(1 << 20)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "MIPS")
	b.ReportMetric(float64(n)/(cpuTime()-c0).Seconds()/1e6, "MIPS/cpu")
	b.ReportMetric(0, "ns/op")
	if s := e.h.Stats(); s.Exceptions != [32]uint64{} {
		b.Fatalf("the loop trapped: %v", s.Exceptions)
	}
}
