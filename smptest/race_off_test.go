//go:build !race

package smptest

const raceDetector = false
