package isatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// QuirksAddr is the guest-physical word the test programs read to learn
// about known QEMU deviations from the spec (test.h); it stays zero on
// popek, so the hart is always held to the spec.
const QuirksAddr = 0x800ff000

// QEMUQuirks are the deviations of the QEMU in Debian bookworm (7.2) that
// the test programs tolerate when run there (bits of test.h's QUIRK_*).
const QEMUQuirks = 0x1f

// QEMUResult is the outcome of one QEMU run.
type QEMUResult struct {
	// Code is the SiFive finisher code: 0 for pass, the failing case
	// number (mod 256, as an exit status) otherwise.
	Code   int
	Output string // UART output
}

// FindQEMU returns the path of qemu-system-riscv64.
func FindQEMU() (string, error) {
	return exec.LookPath("qemu-system-riscv64")
}

// RunQEMU boots elfPath on QEMU's virt board without firmware and waits
// for the finisher, at most timeout.
func RunQEMU(qemu, elfPath string, timeout time.Duration) (QEMUResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu,
		"-M", "virt", "-bios", "none", "-kernel", elfPath,
		"-nographic", "-monitor", "none", "-serial", "stdio",
		"-device", fmt.Sprintf("loader,addr=%#x,data=%#x,data-len=8", QuirksAddr, QEMUQuirks))
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := QEMUResult{Output: out.String()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("qemu: no result after %v (output %q)", timeout, res.Output)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
		return res, nil
	}
	return res, fmt.Errorf("qemu: %v: %s", err, stderr.String())
}
