// Package smptest verifies popek with many harts per VM: Linux under a
// multi-process, multi-threaded stress load on more harts than the host has
// cores, bare-metal M-mode programs exercising CLINT timers and IPIs, and
// litmus tests of the A extension and FENCE.
//
// The non-test files are the harness the tests and the bench package share:
// Guest runs a board.Machine with a recorded Console, BuildStress
// cross-compiles the guest stress program (testdata/stress) and
// StressInitramfs appends it to the embedded initramfs, and StressParams
// computes on the host what the guest must print.
//
// POPEK_SLOW=1 makes the Linux stress run for minutes instead of seconds.
package smptest
