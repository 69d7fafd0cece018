// Package images embeds popek's default guest, built from Debian's Linux 6.1
// sources and u-root by build.sh (see README.md): `popek run` with no kernel
// boots Kernel with Initramfs and DefaultCmdline.
package images

import _ "embed"

var (
	//go:embed linux-Image.gz
	kernelGz string
	//go:embed initramfs.cpio.gz
	initramfsGz string
	//go:embed tinyinit.cpio.gz
	tinyInitGz string
)

// DefaultCmdline puts the console on the board's NS16550A at 0x10000000
// (ttyS0) and early boot messages on the SBI legacy console until that UART's
// driver is up.
const DefaultCmdline = "console=ttyS0 earlycon=sbi"

// Prompt is what the default guest's shell prints when it is ready for a
// command; tests wait for it on the console.
const Prompt = "popek# "

// TinyInitMessage is the line TinyInit's /init prints before powering off.
const TinyInitMessage = "popek-tinyinit: hello from user space"

// The accessors return fresh copies: the embedded data is shared by the
// whole process and must not be changed by one caller under another.

// Kernel returns the gzip'd RISC-V Linux Image, as embedded.
func Kernel() []byte { return []byte(kernelGz) }

// Initramfs returns the gzip'd newc cpio with the u-root userland.
func Initramfs() []byte { return []byte(initramfsGz) }

// TinyInit returns the gzip'd newc cpio whose /init prints TinyInitMessage
// and powers off.
func TinyInit() []byte { return []byte(tinyInitGz) }
