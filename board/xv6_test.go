package board

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestXv6 builds the xv6-riscv checkout in $XV6_DIR and runs xv6.sh on it:
// boot on popek with fs.img, ls, echo, cat README, forktest, stressfs and
// `usertests -q` when the checkout has it. XV6_QEMU=1 also runs the same
// session on QEMU. The xv6 source is not part of this repository.
func TestXv6(t *testing.T) {
	dir := os.Getenv("XV6_DIR")
	if dir == "" {
		t.Skip("XV6_DIR is not set: point it at an xv6-riscv checkout to boot xv6 on popek (board/xv6.sh)")
	}
	args := []string{"xv6.sh"}
	if os.Getenv("XV6_QEMU") == "1" {
		args = append(args, "--qemu")
	}
	args = append(args, dir)
	// usertests take a while on an interpreter; the script has its own
	// per-command limits, this only bounds a wedged build.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", args...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("xv6.sh: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if last := lines[len(lines)-1]; last != "PASS" {
		t.Fatalf("xv6.sh ended with %q, want PASS", last)
	}
}
