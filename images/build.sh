#!/usr/bin/env bash
# Builds popek's embedded default guest from Debian packages and Go modules:
#   linux-Image.gz     Linux 6.1 (Debian's linux-source-6.1) configured by linux.config
#   initramfs.cpio.gz  u-root userland with an interactive shell (see README.md)
#   tinyinit.cpio.gz   a one-line "hello" /init that powers off (boot benchmark)
#
# Usage: images/build.sh [all|deps|kernel|initramfs|tinyinit]...   (default: all)
# Environment: BUILD_DIR (default /tmp/popek-guest-build, never inside the repo),
#              JOBS (default nproc), GO (default: go on PATH or /usr/local/go/bin/go).
# Idempotent: re-running reuses the unpacked tree and only rebuilds what changed;
# the outputs are byte-reproducible (fixed build stamps, gzip -n, fixed cpio mtimes).
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$IMAGES_DIR")
BUILD_DIR=$(realpath -m "${BUILD_DIR:-/tmp/popek-guest-build}")
JOBS=${JOBS:-$(nproc)}
LINUX_TARBALL=/usr/src/linux-source-6.1.tar.xz
LINUX_DIR=$BUILD_DIR/linux-source-6.1
CROSS=riscv64-linux-gnu-
APT_PACKAGES=(linux-source-6.1 gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu
	make bc flex bison libssl-dev libelf-dev cpio xz-utils gzip perl python3)

# Fixed identity/time so rebuilding unchanged sources gives identical bytes.
export KBUILD_BUILD_USER=popek KBUILD_BUILD_HOST=popek KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970'
export SOURCE_DATE_EPOCH=0

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

find_go() {
	GO=${GO:-}
	if [[ -z $GO ]]; then
		if command -v go >/dev/null; then GO=$(command -v go)
		elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
		else die "Go toolchain not found (set GO=/path/to/go)"; fi
	fi
}

install_deps() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then log "apt packages present"; return; fi
	[[ $(id -u) == 0 ]] || die "missing packages (run as root to install): ${missing[*]}"
	log "apt-get install ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# The stamp records which tarball was unpacked, so a Debian update of
# linux-source-6.1 gets a fresh tree instead of a stale one.
unpack_linux() {
	[[ -f $LINUX_TARBALL ]] || die "$LINUX_TARBALL missing (apt-get install linux-source-6.1)"
	local stamp=$LINUX_DIR/.popek-unpacked want
	want=$(stat -c '%s %Y' "$LINUX_TARBALL")
	if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return; fi
	log "unpacking $LINUX_TARBALL into $BUILD_DIR"
	rm -rf "$LINUX_DIR"
	mkdir -p "$BUILD_DIR"
	tar -C "$BUILD_DIR" -xf "$LINUX_TARBALL"
	echo "$want" >"$stamp"
}

kmake() { nice -n 10 make -C "$LINUX_DIR" ARCH=riscv CROSS_COMPILE=$CROSS "$@"; }

# Every option in the fragment must be in the final .config exactly as written
# (olddefconfig silently drops options whose dependencies are missing).
verify_config() {
	local cfg=$LINUX_DIR/.config bad=0 line name
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=.*$ ]]; then
			grep -qxF -- "$line" "$cfg" || { echo "config: want '$line', got '$(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$cfg" || echo unset)'" >&2; bad=1; }
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			name=${BASH_REMATCH[1]}
			if grep -qE "^${name}=" "$cfg"; then echo "config: want $name unset, got '$(grep -E "^${name}=" "$cfg")'" >&2; bad=1; fi
		fi
	done <"$IMAGES_DIR/linux.config"
	((bad == 0)) || die "kernel config does not match images/linux.config"
	log "kernel config verified against linux.config"
}

build_kernel() {
	unpack_linux
	log "configuring kernel: allnoconfig + linux.config"
	kmake -s allnoconfig
	(cd "$LINUX_DIR" && ARCH=riscv CROSS_COMPILE=$CROSS scripts/kconfig/merge_config.sh -m .config "$IMAGES_DIR/linux.config" >/dev/null)
	kmake -s olddefconfig
	verify_config
	log "building Image with $JOBS jobs"
	local start=$SECONDS
	kmake -j"$JOBS" Image
	log "kernel build took $((SECONDS - start))s"
	compress_to "$LINUX_DIR/arch/riscv/boot/Image" "$IMAGES_DIR/linux-Image.gz"
}

# gzip -9 -n: no name or timestamp in the header, so rebuilds are identical.
compress_to() {
	gzip -9 -n -c "$1" >"$2.tmp"
	mv "$2.tmp" "$2"
	log "$(basename "$2"): $(stat -c %s "$2") bytes"
}

# The u-root userland is built by images/userland (its own Go module, so the
# popek module does not depend on u-root): u-root, gobusybox and mkuimage are
# pinned there and come from the Go module proxy; the commands are compiled
# into one GOARCH=riscv64 busybox.
build_initramfs() {
	find_go
	log "building u-root initramfs"
	mkdir -p "$BUILD_DIR"
	(cd "$IMAGES_DIR/userland" && CGO_ENABLED=0 nice -n 10 "$GO" run ./mkinitramfs \
		-work "$BUILD_DIR/initramfs" -o "$BUILD_DIR/initramfs.cpio")
	compress_to "$BUILD_DIR/initramfs.cpio" "$IMAGES_DIR/initramfs.cpio.gz"
}

build_tinyinit() {
	find_go
	log "building tinyinit"
	mkdir -p "$BUILD_DIR"
	(cd "$REPO_DIR" && GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 nice -n 10 "$GO" build \
		-trimpath -ldflags='-s -w -buildid=' -o "$BUILD_DIR/tinyinit.bin" ./images/tinyinit)
	(cd "$IMAGES_DIR/userland" && "$GO" run ./mkinitramfs \
		-init "$BUILD_DIR/tinyinit.bin" -o "$BUILD_DIR/tinyinit.cpio")
	compress_to "$BUILD_DIR/tinyinit.cpio" "$IMAGES_DIR/tinyinit.cpio.gz"
}

main() {
	case $BUILD_DIR/ in "$REPO_DIR"/*) die "BUILD_DIR must be outside the repository" ;; esac
	(($# > 0)) || set -- all
	local step
	for step in "$@"; do
		case $step in
		all) install_deps; build_kernel; build_initramfs; build_tinyinit ;;
		deps) install_deps ;;
		kernel) install_deps; build_kernel ;;
		initramfs) build_initramfs ;;
		tinyinit) build_tinyinit ;;
		*) die "unknown step '$step' (want all, deps, kernel, initramfs or tinyinit)" ;;
		esac
	done
}

main "$@"
