package smptest

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/popek-vm/popek/images"
)

// stressSource is the guest program, a main package of its own, built
// for the guest at test time.
//
//go:embed testdata/stress/*.go
var stressSource embed.FS

// StressPath is where StressInitramfs puts the program in the guest.
const StressPath = "/stress"

// BuildStress cross-compiles the stress program for goarch ("riscv64" for
// the guest; the host's own for checking the program itself) in dir and
// returns the binary's path.
func BuildStress(dir, goarch string) (string, error) {
	src := filepath.Join(dir, "stress-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	files, err := fs.Glob(stressSource, "testdata/stress/*.go")
	if err != nil {
		return "", err
	}
	for _, name := range files {
		b, err := stressSource.ReadFile(name)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(src, filepath.Base(name)), b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module stress\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "stress-"+goarch)
	cmd := exec.Command(goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	// A standalone module: the caller's GOFLAGS (-mod=..., -race) and
	// workspace do not apply to it.
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the stress program for %s: %v\n%s", goarch, err, msg)
	}
	return out, nil
}

// goTool is the go command of the toolchain running us, falling back to
// the one on PATH.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// StressInitramfs returns the embedded u-root initramfs with a second
// archive appended that holds binary at StressPath.
func StressInitramfs(binary string) ([]byte, error) {
	b, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	extra, err := Archive([]File{{Name: StressPath[1:], Mode: ModeRegular | 0o755, Data: b}})
	if err != nil {
		return nil, err
	}
	return append(images.Initramfs(), extra...), nil
}
