//go:build race

package smptest

// raceDetector: the race detector slows the emulator about tenfold, so the
// Linux tests, which need minutes even without it, are skipped.
const raceDetector = true
