package isatest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// CCEnv names the environment variable that overrides the cross compiler.
const CCEnv = "POPEK_RISCV_GCC"

// FindCC returns the RISC-V cross compiler: $POPEK_RISCV_GCC, else Debian's
// riscv64-linux-gnu-gcc from PATH.
func FindCC() (string, error) {
	if cc := os.Getenv(CCEnv); cc != "" {
		return cc, nil
	}
	cc, err := exec.LookPath("riscv64-linux-gnu-gcc")
	if err != nil {
		return "", fmt.Errorf("riscv64-linux-gnu-gcc not found (apt-get install gcc-riscv64-linux-gnu, or set %s)", CCEnv)
	}
	return cc, nil
}

// Build assembles and links sources (paths) with the runtime and link
// script in srcDir into the ELF out, linked at 0x80000000.
func Build(cc, srcDir, out string, sources ...string) error {
	args := []string{
		"-fno-pic", "-nostdlib", "-nostartfiles", "-static",
		"-march=rv64gc", "-mabi=lp64d",
		"-T", filepath.Join(srcDir, "link.ld"),
		"-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments",
		"-I", srcDir,
		"-o", out,
		filepath.Join(srcDir, "runtime.S"),
	}
	args = append(args, sources...)
	cmd := exec.Command(cc, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", filepath.Base(out), err, stderr.String())
	}
	return nil
}
