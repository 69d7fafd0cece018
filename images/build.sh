#!/usr/bin/env bash
# Builds popek's embedded default guest from Debian packages and Go modules:
#   linux-Image.gz     Linux 6.1 (Debian's linux-source-6.1) configured by linux.config
#   initramfs.cpio.gz  u-root userland with an interactive shell, plus a static
#                      BusyBox (Debian's source package, busybox.config) (see README.md)
#   tinyinit.cpio.gz   a one-line "hello" /init that powers off (boot benchmark)
#
# Usage: images/build.sh [all|deps|kernel|busybox|initramfs|tinyinit]...   (default: all)
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
BUSYBOX_DIR=$BUILD_DIR/busybox
# The deb-src entry build.sh adds when apt knows no busybox source package.
DEB_SRC_LIST=/etc/apt/sources.list.d/popek-src.sources
APT_PACKAGES=(linux-source-6.1 gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu
	libc6-dev-riscv64-cross make bc flex bison libssl-dev libelf-dev cpio
	xz-utils bzip2 gzip perl python3 dpkg-dev)

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

# apt-get source needs a deb-src entry; add bookworm main's if apt has none.
ensure_deb_src() {
	if [[ -n $(apt-cache showsrc busybox 2>/dev/null) ]]; then return; fi
	[[ $(id -u) == 0 ]] || die "apt has no busybox source package (run as root to add $DEB_SRC_LIST)"
	log "adding deb-src entry $DEB_SRC_LIST"
	cat >"$DEB_SRC_LIST" <<-'EOF'
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	apt-get update
	[[ -n $(apt-cache showsrc busybox 2>/dev/null) ]] || die "still no busybox source package after adding $DEB_SRC_LIST"
}

# Fetches Debian's busybox source package (apt-get skips files it already has)
# and unpacks it with Debian's patches; the stamp names the .dsc unpacked, so a
# Debian update gets a fresh tree.
unpack_busybox() {
	ensure_deb_src
	mkdir -p "$BUSYBOX_DIR/dl"
	local dsc stamp=$BUSYBOX_DIR/src/.popek-unpacked
	(cd "$BUSYBOX_DIR/dl" && apt-get source --download-only busybox >&2) || die "apt-get source busybox failed"
	dsc=$(cd "$BUSYBOX_DIR/dl" && apt-get source --print-uris busybox 2>/dev/null) || die "apt-get source --print-uris busybox failed"
	[[ $dsc =~ busybox_[^\ \']+\.dsc ]] && dsc=${BASH_REMATCH[0]} || dsc=
	[[ -n $dsc && -f $BUSYBOX_DIR/dl/$dsc ]] || die "cannot tell which busybox .dsc apt-get fetched"
	if [[ -f $stamp && $(cat "$stamp") == "$dsc" ]]; then return; fi
	log "unpacking $dsc"
	rm -rf "$BUSYBOX_DIR/src"
	dpkg-source -x "$BUSYBOX_DIR/dl/$dsc" "$BUSYBOX_DIR/src" >&2 || die "dpkg-source -x $dsc failed"
	echo "$dsc" >"$stamp"
}

bbmake() {
	nice -n 10 make -C "$BUSYBOX_DIR/src" ARCH=riscv CROSS_COMPILE=$CROSS CONFIG_STATIC=y \
		BB_EXTRA_VERSION="$BUSYBOX_VERSION" "$@"
}

# allnoconfig, then every line of busybox.config replaces that symbol's line;
# oldconfig must keep each one exactly (it drops options whose dependencies
# are missing). Skipped when neither the fragment nor the source changed, so
# make rebuilds nothing.
configure_busybox() {
	local src=$BUSYBOX_DIR/src frag=$IMAGES_DIR/busybox.config stamp want names line bad=0
	stamp=$src/.popek-configured
	want=$(cat "$src/.popek-unpacked" "$frag" | sha256sum | cut -d' ' -f1)
	if [[ -f $stamp && -f $src/.config && $(cat "$stamp") == "$want" ]]; then return; fi
	log "configuring busybox: allnoconfig + busybox.config"
	rm -f "$stamp"
	bbmake -s allnoconfig >/dev/null
	names=$(grep -oE '^(# )?CONFIG_[A-Za-z0-9_]+' "$frag" | sed 's/^# //' | sort -u | paste -sd'|')
	{ grep -vE "^(# )?($names)[= ]" "$src/.config" || true; grep -E '^(CONFIG_|# CONFIG_.* is not set$)' "$frag"; } >"$src/.config.popek"
	mv "$src/.config.popek" "$src/.config"
	{ yes '' || true; } | bbmake -s oldconfig >/dev/null
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=.*$ ]]; then
			grep -qxF -- "$line" "$src/.config" || { echo "busybox config: want '$line', got '$(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$src/.config" || echo unset)'" >&2; bad=1; }
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			if grep -qE "^${BASH_REMATCH[1]}=" "$src/.config"; then echo "busybox config: want ${BASH_REMATCH[1]} unset" >&2; bad=1; fi
		fi
	done <"$frag"
	((bad == 0)) || die "busybox config does not match images/busybox.config"
	echo "$want" >"$stamp"
}

# Outputs, for build_initramfs: $BUSYBOX_DIR/busybox (static, stripped) and
# $BUSYBOX_DIR/applets (one applet name a line).
build_busybox() {
	unpack_busybox
	# The banner names the Debian package version, not the build date.
	BUSYBOX_VERSION="Debian $(dpkg-parsechangelog -l "$BUSYBOX_DIR/src/debian/changelog" -S Version) popek"
	export KCONFIG_NOTIMESTAMP=1
	configure_busybox
	log "building busybox ($BUSYBOX_VERSION) with $JOBS jobs"
	bbmake -j"$JOBS" busybox busybox.links >&2 || die "busybox build failed"
	local bin=$BUSYBOX_DIR/src/busybox hdr
	hdr=$(${CROSS}readelf -h -l "$bin") || die "$bin is not an ELF binary"
	[[ $hdr == *"Machine:"*"RISC-V"* ]] || die "$bin is not a RISC-V ELF"
	[[ $hdr != *INTERP* ]] || die "$bin is dynamically linked"
	cp "$bin" "$BUSYBOX_DIR/busybox.tmp" && mv "$BUSYBOX_DIR/busybox.tmp" "$BUSYBOX_DIR/busybox"
	sed 's#.*/##' "$BUSYBOX_DIR/src/busybox.links" | sort -u >"$BUSYBOX_DIR/applets.tmp"
	[[ -s $BUSYBOX_DIR/applets.tmp ]] || die "busybox has no applets"
	mv "$BUSYBOX_DIR/applets.tmp" "$BUSYBOX_DIR/applets"
	log "busybox: $(stat -c %s "$BUSYBOX_DIR/busybox") bytes, $(wc -l <"$BUSYBOX_DIR/applets") applets"
}

# The u-root userland is built by images/userland (its own Go module, so the
# popek module does not depend on u-root): u-root, gobusybox and mkuimage are
# pinned there and come from the Go module proxy; the commands are compiled
# into one GOARCH=riscv64 busybox. BusyBox's binary and applet links are added
# beside it (the busybox step must have run: all runs it first).
build_initramfs() {
	find_go
	[[ -f $BUSYBOX_DIR/busybox && -f $BUSYBOX_DIR/applets ]] ||
		die "no BusyBox in $BUSYBOX_DIR: run 'images/build.sh busybox' first"
	log "building u-root initramfs"
	mkdir -p "$BUILD_DIR"
	(cd "$IMAGES_DIR/userland" && CGO_ENABLED=0 nice -n 10 "$GO" run ./mkinitramfs \
		-work "$BUILD_DIR/initramfs" -o "$BUILD_DIR/initramfs.cpio" \
		-busybox "$BUSYBOX_DIR/busybox" -applets "$BUSYBOX_DIR/applets")
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
		all) install_deps; build_kernel; build_busybox; build_initramfs; build_tinyinit ;;
		deps) install_deps ;;
		kernel) install_deps; build_kernel ;;
		busybox) install_deps; build_busybox ;;
		initramfs) build_initramfs ;;
		tinyinit) build_tinyinit ;;
		*) die "unknown step '$step' (want all, deps, kernel, busybox, initramfs or tinyinit)" ;;
		esac
	done
}

main "$@"
