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
