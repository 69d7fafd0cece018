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
