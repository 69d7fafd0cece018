#!/usr/bin/env bash
# riscv-tests.sh: build the official riscv-tests ISA suites
# (github.com/riscv-software-src/riscv-tests, with its env submodule) with
# Debian's riscv64-linux-gnu-gcc and run every test on popek, optionally also
# on QEMU as the oracle. Prints PASS/FAIL per test and a summary per suite.
#
#   riscv/isatest/riscv-tests.sh [options] [RISCV_TESTS_DIR]   (or $RISCV_TESTS)
#
#   --qemu            also run each test on qemu-system-riscv64 -M spike
#   --popek BIN       use this popek binary (default: go build ./cmd/popek)
#   --suites "LIST"   default: rv64ui rv64um rv64ua rv64uf rv64ud rv64uc rv64si rv64mi
#   --env "LIST"      p (physical, M-mode) and/or v (virtual memory); default "p v"
#   --only REGEX      run only tests whose name (e.g. rv64mi-p-csr) matches
#   --timeout SEC     per-test limit (default 10)
#   --keep DIR        build into DIR and keep it (default: a temporary directory)
#
# Exit status 0 when every popek run passed, 1 otherwise, 2 on usage errors.
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "riscv-tests.sh: $*" >&2; exit 2; }

qemu=0 popek="" suites="rv64ui rv64um rv64ua rv64uf rv64ud rv64uc rv64si rv64mi"
envs="p v" only="" tmo=10 keep="" rt="${RISCV_TESTS:-}"
while [ $# -gt 0 ]; do
	case "$1" in
	--qemu) qemu=1 ;;
	--popek) popek="${2:?}"; shift ;;
	--suites) suites="${2:?}"; shift ;;
	--env) envs="${2:?}"; shift ;;
	--only) only="${2:?}"; shift ;;
	--timeout) tmo="${2:?}"; shift ;;
	--keep) keep="${2:?}"; shift ;;
	-h|--help) usage ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) rt="$1" ;;
	esac
	shift
done
[ -n "$rt" ] || die "give the riscv-tests checkout as an argument or in \$RISCV_TESTS"
[ -f "$rt/isa/macros/scalar/test_macros.h" ] || die "$rt: not a riscv-tests checkout (no isa/macros/scalar/test_macros.h)"
[ -f "$rt/env/p/riscv_test.h" ] || die "$rt/env is empty: run 'git submodule update --init' there"
cc="${POPEK_RISCV_GCC:-riscv64-linux-gnu-gcc}"
command -v "$cc" >/dev/null || die "$cc not found (apt-get install gcc-riscv64-linux-gnu)"
if [ "$qemu" = 1 ]; then command -v qemu-system-riscv64 >/dev/null || die "qemu-system-riscv64 not found (apt-get install qemu-system-misc)"; fi

here="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -n "$keep" ]; then work="$keep"; mkdir -p "$work"; else work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi
if [ -z "$popek" ]; then
	go="$(command -v go || echo /usr/local/go/bin/go)"
	(cd "$here" && "$go" build -o "$work/popek" ./cmd/popek) || die "building popek failed"
	popek="$work/popek"
fi

# Debian's cross gcc differs from riscv64-unknown-elf-gcc in three ways the
# tests notice: it defaults to PIE (la becomes GOT-relative, which entry.S's
# 'la sp, sym+off' cannot use), it adds a build-id note that the link script
# puts at 0x80000000 ahead of the ELF headers (the first LOAD segment then
# starts a page below RAM), and glibc's headers want gnu/stubs-lp64.h, which
# only the lp64d multilib ships (env/v's C files include <stdint.h>).
mkdir -p "$work/shim/gnu" && : >"$work/shim/gnu/stubs-lp64.h"
base=(-mabi=lp64 -static -mcmodel=medany -fvisibility=hidden -nostdlib -nostartfiles
	-fno-pie -no-pie -Wl,--build-id=none)
# QEMU's spike machine starts at 0x80000000, not at the ELF entry: its copy
# is linked without the room the env's script leaves for the ELF headers.
for e in p v; do
	[ -f "$rt/env/$e/link.ld" ] && grep -v SIZEOF_HEADERS "$rt/env/$e/link.ld" >"$work/link-$e-qemu.ld"
done

# tests SUITE: the test names listed in SUITE's Makefrag (SUITE_sc_tests).
tests() {
	sed -n "/^$1_sc_tests[[:space:]]*=/,/^[[:space:]]*\$/p" "$rt/isa/$1/Makefrag" |
		sed 's/^[^=]*=//; s/\\//g' | tr -s ' \t' '\n\n' | sed '/^$/d'
}

# build SUITE ENV TEST LDSCRIPT OUT
build() {
	# As in riscv-tests' isa/Makefile: rv64g everywhere; rvc.S turns C on
	# locally with .option rvc.
	local march=rv64g
	if [ "$2" = p ]; then
		"$cc" -march=$march "${base[@]}" -I"$rt/env/p" -I"$rt/isa/macros/scalar" \
			-T"$4" "$rt/isa/$1/$3.S" -o "$5"
	else
		local entropy
		entropy=0x$(echo "$1-v-$3" | md5sum | cut -c 1-7)
		"$cc" -march=$march "${base[@]}" -DENTROPY=$entropy -std=gnu99 -O2 -I"$work/shim" \
			-I"$rt/env/v" -I"$rt/isa/macros/scalar" -T"$4" "$rt/env/v/entry.S" \
			"$rt"/env/v/*.c "$rt/isa/$1/$3.S" -o "$5"
	fi
}

# verdict CMD...: run a test, print PASS, FAIL(code) or TIMEOUT.
verdict() {
	local rc=0
	timeout "$tmo" "$@" </dev/null >/dev/null 2>&1 || rc=$?
	case $rc in
	0) echo PASS ;;
	124) echo TIMEOUT ;;
	*) echo "FAIL($rc)" ;;
	esac
}

total_pass=0 total=0 failed=0 summary=""
for s in $suites; do
	[ -f "$rt/isa/$s/Makefrag" ] || die "$rt/isa/$s/Makefrag: no such suite"
	spass=0 stotal=0 sfail=""
	for e in $envs; do
		# Only suites whose Makefrag defines SUITE_v_tests have a -v variant.
		if [ "$e" = v ] && ! grep -q "^${s}_v_tests" "$rt/isa/$s/Makefrag"; then continue; fi
		for t in $(tests "$s"); do
			name="$s-$e-$t"
			if [ -n "$only" ] && ! [[ $name =~ $only ]]; then continue; fi
			elf="$work/$name"
			stotal=$((stotal + 1))
			if ! build "$s" "$e" "$t" "$rt/env/$e/link.ld" "$elf" 2>"$elf.build.log"; then
				printf '%-32s BUILD-ERROR (%s)\n' "$name" "$(grep -m1 -i error "$elf.build.log" || true)"
				sfail="$sfail $name"
				continue
			fi
			res="$(verdict "$popek" run --bios none --kernel "$elf")"
			line="$(printf '%-32s popek %-10s' "$name" "$res")"
			if [ "$qemu" = 1 ]; then
				build "$s" "$e" "$t" "$work/link-$e-qemu.ld" "$elf.qemu" 2>/dev/null &&
					line="$line qemu $(verdict qemu-system-riscv64 -M spike -bios none -kernel "$elf.qemu" -nographic -monitor none)"
			fi
			echo "$line"
			if [ "$res" = PASS ]; then spass=$((spass + 1)); else sfail="$sfail $name"; fi
		done
	done
	summary="$summary$(printf '%-8s %3d/%-3d pass%s' "$s" "$spass" "$stotal" "${sfail:+  failing:$sfail}")"$'\n'
	total_pass=$((total_pass + spass)) total=$((total + stotal))
	[ -z "$sfail" ] || failed=1
done
echo
printf '%s' "$summary"
echo "total    $total_pass/$total pass"
exit $failed
