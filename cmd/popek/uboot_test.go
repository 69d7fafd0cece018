package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/images"
)

// Debian's firmware for QEMU's virt board (packages opensbi, u-boot-qemu).
const (
	openSBIJump = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
	uBootSMode  = "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"
	// uBootSModeRaw is the same U-Boot as a raw binary, which -kernel
	// loads at 0x80200000 as QEMU's does.
	uBootSModeRaw = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin"
)

// TestRunUBootBootsLinuxFromDisk is the classic firmware chain, unmodified:
// OpenSBI (fw_jump) starts U-Boot in S-mode, which finds the virtio disk,
// loads the kernel and initramfs from its ext4 file system and boots them
// with booti; Linux reaches its shell and powers off.
func TestRunUBootBootsLinuxFromDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("boots U-Boot and Linux; skipped in -short mode")
	}
	mke2fs, err := exec.LookPath("mke2fs")
	if err != nil {
		t.Skip("no mke2fs (Debian package e2fsprogs)")
	}
	for _, f := range []string{openSBIJump, uBootSMode, uBootSModeRaw} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s missing (Debian packages opensbi, u-boot-qemu)", f)
		}
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	zr, err := gzip.NewReader(bytes.NewReader(images.Kernel()))
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "Image"), kernel, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "initrd"), images.Initramfs(), 0o644); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, "disk.img")
	if out, err := exec.Command(mke2fs, "-q", "-t", "ext4", "-d", root, disk, "64M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}

	for _, uboot := range []string{uBootSMode, uBootSModeRaw} {
		t.Run(filepath.Base(uboot), func(t *testing.T) { bootUBoot(t, uboot, disk) })
	}
}

func bootUBoot(t *testing.T, uboot, disk string) {
	g := startRun(t, "--bios", openSBIJump, "--kernel", uboot, "--drive", "file="+disk+",readonly=on", "--rng=false")
	g.wait(t, "Hit any key to stop autoboot", 1)
	g.in.WriteString("\r")
	g.wait(t, "=> ", 1)
	g.in.WriteString("virtio scan; ext4load virtio 0 ${kernel_addr_r} Image; ext4load virtio 0 ${ramdisk_addr_r} initrd; " +
		"setenv bootargs console=ttyS0; booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}\r")
	g.wait(t, "Starting kernel", 1)
	g.shell(t, 1, "uname -m")
	out := g.out.String()
	if !strings.Contains(out, "U-Boot 20") || !strings.Contains(out[strings.LastIndex(out, "uname -m"):], "riscv64") {
		t.Errorf("console:\n%s", out)
	}
	g.poweroff(t, 2)
}
