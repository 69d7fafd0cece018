// Package bench measures popek against QEMU and across hart counts. The
// shell scripts in this directory (boot.sh, smp.sh, disk.sh, idle.sh,
// mips.sh; see README.md) drive real popek and qemu-system-riscv64
// processes through cmd/expecttime, which runs a Script: wait for console
// text, type commands, time each step, measure CPU use. The Go benchmarks
// (BenchmarkBootToUserspace, BenchmarkParallel) run popek in-process.
//
// Everything here prints numbers and ratios; nothing asserts a speed.
package bench
