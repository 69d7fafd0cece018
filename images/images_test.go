package images

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"io"
	"path"
	"testing"
)

// Size budgets for the committed outputs (the repository carries them).
const (
	maxKernelGz    = 6 << 20
	maxInitramfsGz = 8 << 20
)

func gunzip(t *testing.T, name string, gz []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("%s: not gzip: %v", name, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: corrupt gzip: %v", name, err)
	}
	return b
}

func TestKernelIsRISCVLinuxImage(t *testing.T) {
	gz := Kernel()
	if len(gz) > maxKernelGz {
		t.Errorf("linux-Image.gz is %d bytes, budget %d", len(gz), maxKernelGz)
	}
	img := gunzip(t, "kernel", gz)
	// Documentation/riscv/boot-image-header.rst: magic "RISCV\0\0\0" at
	// 0x30 (deprecated) and magic2 "RSC\x05" at 0x38.
	if len(img) < 64 {
		t.Fatalf("Image is %d bytes, shorter than its header", len(img))
	}
	if got := string(img[0x38:0x3c]); got != "RSC\x05" {
		t.Errorf("magic2 at 0x38 = %q, want %q", got, "RSC\x05")
	}
	if got := string(img[0x30:0x38]); got != "RISCV\x00\x00\x00" {
		t.Errorf("magic at 0x30 = %q, want RISCV", got)
	}
	if !bytes.Contains(img, []byte("Linux version 6.1.")) {
		t.Error("Image has no Linux 6.1 version banner")
	}
}

func TestInitramfsIsUrootUserland(t *testing.T) {
	gz := Initramfs()
	if len(gz) > maxInitramfsGz {
		t.Errorf("initramfs.cpio.gz is %d bytes, budget %d", len(gz), maxInitramfsGz)
	}
	files, err := parseNewc(gunzip(t, "initramfs", gz))
	if err != nil {
		t.Fatalf("initramfs is not a newc cpio: %v", err)
	}
	checkConsole(t, files)
	bb := files["bbin/bb"]
	if bb.mode&modeTypeMask != modeRegular {
		t.Fatal("no busybox binary bbin/bb")
	}
	checkRISCVStatic(t, "bbin/bb", bb.data)
	if !bytes.Contains(bb.data, []byte(Prompt)) {
		t.Errorf("busybox does not contain the prompt %q", Prompt)
	}

	links := []struct{ name, target string }{
		{"init", "bbin/popekinit"},
		{"bin/sh", "../bbin/sh"},
	}
	for _, l := range links {
		e, ok := files[l.name]
		if !ok || e.mode&modeTypeMask != modeSymlink || string(e.data) != l.target {
			t.Errorf("%s: want symlink to %s, got mode %o target %q", l.name, l.target, e.mode, e.data)
		}
	}
	// The commands the brief promises, each a link to the busybox.
	for _, c := range []string{
		"popekinit", "sh", "gosh", "ls", "cat", "echo", "mkdir", "mount", "umount", "dmesg",
		"uname", "ps", "kill", "cp", "mv", "rm", "dd", "sync", "poweroff", "shutdown",
		"ip", "wget", "ping", "dhclient", "sleep", "date", "hexdump", "md5sum", "shasum",
		"grep", "free", "find",
	} {
		e, ok := files["bbin/"+c]
		if !ok || e.mode&modeTypeMask != modeSymlink || path.Base(string(e.data)) != "bb" {
			t.Errorf("bbin/%s: want a link to bb, got mode %o target %q (present %v)", c, e.mode, e.data, ok)
		}
	}
}

// BusyBox (images/busybox.config) is /bin/busybox with its applet links in
// /busybox-bin, which popekinit puts after u-root's /bbin on PATH.
func TestInitramfsHasBusybox(t *testing.T) {
	files, err := parseNewc(gunzip(t, "initramfs", Initramfs()))
	if err != nil {
		t.Fatalf("initramfs is not a newc cpio: %v", err)
	}
	bb := files["bin/busybox"]
	if bb.mode&modeTypeMask != modeRegular || bb.mode&0o111 == 0 {
		t.Fatalf("bin/busybox: want an executable file, got mode %o", bb.mode)
	}
	checkRISCVStatic(t, "bin/busybox", bb.data)
	if !bytes.Contains(bb.data, []byte("BusyBox v1.")) || !bytes.Contains(bb.data, []byte("(Debian ")) {
		t.Error("bin/busybox has no Debian BusyBox banner")
	}
	// The commands the images brief promises, and the extras README.md lists.
	for _, c := range []string{
		"mke2fs", "mkfs.ext2", "mkfs.vfat", "fdisk", "blkdiscard", "fsync", "stat", "od",
		"cmp", "sha256sum", "nproc", "head", "tail", "watch", "top", "vi", "less", "awk",
		"sed", "diff", "nc", "httpd", "udhcpc", "ifconfig", "route", "free", "mountpoint",
		"blockdev", "fstrim", "losetup", "xxd", "cut", "env", "expr", "taskset", "mpstat",
	} {
		e, ok := files["busybox-bin/"+c]
		if !ok || e.mode&modeTypeMask != modeSymlink || string(e.data) != "../bin/busybox" {
			t.Errorf("busybox-bin/%s: want a link to ../bin/busybox, got mode %o target %q (present %v)", c, e.mode, e.data, ok)
		}
		// The binary holds each applet's name in its applet table.
		if !bytes.Contains(bb.data, append([]byte(c), 0)) {
			t.Errorf("bin/busybox has no applet %q", c)
		}
	}
	// BusyBox fills gaps only: no sh of its own beside popek's /bin/sh.
	if _, ok := files["busybox-bin/sh"]; ok {
		t.Error("busybox-bin/sh exists; /bin/sh must stay popek's shell")
	}
	script := files["usr/share/udhcpc/default.script"]
	if script.mode&modeTypeMask != modeRegular || script.mode&0o111 == 0 ||
		!bytes.HasPrefix(script.data, []byte("#!/bin/sh\n")) || !bytes.Contains(script.data, []byte("route add default")) {
		t.Errorf("usr/share/udhcpc/default.script: want an executable sh script that sets the route, got mode %o", script.mode)
	}
}

func TestTinyInitPrintsAndPowersOff(t *testing.T) {
	files, err := parseNewc(gunzip(t, "tinyinit", TinyInit()))
	if err != nil {
		t.Fatalf("tinyinit is not a newc cpio: %v", err)
	}
	checkConsole(t, files)
	init := files["init"]
	if init.mode&modeTypeMask != modeRegular || init.mode&0o111 == 0 {
		t.Fatalf("init: want an executable file, got mode %o", init.mode)
	}
	checkRISCVStatic(t, "init", init.data)
	if !bytes.Contains(init.data, []byte(TinyInitMessage)) {
		t.Errorf("init does not contain %q", TinyInitMessage)
	}
}

// checkConsole: the kernel opens /dev/console for /init before anything is
// mounted, so the archive must carry the node itself.
func checkConsole(t *testing.T, files map[string]cpioEntry) {
	t.Helper()
	c, ok := files["dev/console"]
	if !ok || c.mode&modeTypeMask != modeCharDev || c.rmajor != 5 || c.rmin != 1 {
		t.Errorf("dev/console: want char device 5:1, got mode %o %d:%d (present %v)", c.mode, c.rmajor, c.rmin, ok)
	}
}

func checkRISCVStatic(t *testing.T, name string, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: not ELF: %v", name, err)
		return
	}
	if f.Machine != elf.EM_RISCV || f.Class != elf.ELFCLASS64 {
		t.Errorf("%s: machine %v class %v, want RISC-V 64-bit", name, f.Machine, f.Class)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked; the initramfs has no libc", name)
		}
	}
}

func TestAccessorsReturnPrivateCopies(t *testing.T) {
	for name, get := range map[string]func() []byte{"Kernel": Kernel, "Initramfs": Initramfs, "TinyInit": TinyInit} {
		a := get()
		a[0] ^= 0xff
		if b := get(); b[0] == a[0] {
			t.Errorf("%s: changing one result changed the next", name)
		}
	}
}

func TestNewcParserRejectsCorruptArchives(t *testing.T) {
	good := gunzip(t, "tinyinit", TinyInit())
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated header", good[:50]},
		{"truncated data", good[:len(good)/2]},
		{"bad magic", append([]byte("070707"), good[6:]...)},
		{"bad hex", append(append([]byte("070701"), "zzzzzzzz"...), good[14:]...)},
	}
	for _, tt := range tests {
		if _, err := parseNewc(tt.b); err == nil {
			t.Errorf("%s: parsed without error", tt.name)
		}
	}
}
