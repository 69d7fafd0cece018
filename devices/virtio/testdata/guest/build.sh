#!/bin/sh
# Rebuilds initrd.cpio.gz, the guest of linux_test.go: a static nolibc
# /init that drives every virtio device through Linux 6.1's drivers.
# Needs gcc-riscv64-linux-gnu, cpio and Debian's linux-source-6.1 (for nolibc).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$work" --wildcards 'linux-source-6.1/tools/include/nolibc/*'
nolibc=$work/linux-source-6.1/tools/include/nolibc
riscv64-linux-gnu-gcc -Os -static -nostdlib -fno-builtin -fno-stack-protector \
	-include "$nolibc/nolibc.h" -I "$nolibc" -o "$work/init" "$here/init.c" -lgcc
mkdir -p "$work/root/dev" "$work/root/sys"
cp "$work/init" "$work/root/init"
mknod "$work/root/dev/console" c 5 1
(cd "$work/root" && find . | cpio -o -H newc --quiet) | gzip -9n > "$here/initrd.cpio.gz"
