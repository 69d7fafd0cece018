#!/usr/bin/env bash
# Runs popek's test suite. Installs the Debian packages the tests use
# (cross toolchain and QEMU as the correctness oracle) when run as root.
#   ./test.sh          default suite (unit, fuzz seeds, ISA, differential, Linux boot)
#   ./test.sh --slow   also the long suites (SMP stress, long differential runs)
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"

pkgs=(gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu qemu-system-misc qemu-user qemu-utils opensbi u-boot-qemu device-tree-compiler e2fsprogs)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "test.sh: installing ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		echo "test.sh: missing packages (tests that need them will skip): ${missing[*]}" >&2
	fi
fi

args=(-timeout 40m)
if [ "${1:-}" = "--slow" ]; then
	export POPEK_SLOW=1
	args=(-timeout 80m)
fi
go vet ./...
go test "${args[@]}" ./...
# The guest userland is its own module (u-root stays out of popek's go.mod).
(cd images/userland && go test ./...)
