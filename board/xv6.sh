#!/usr/bin/env bash
# xv6.sh: build an xv6-riscv checkout, boot it on popek with its fs.img and
# drive its shell; PASS or FAIL on the last line. With --qemu the same
# session also runs on qemu-system-riscv64 and both are reported.
#
#   board/xv6.sh [--qemu] [--no-usertests] [XV6_DIR]    (or XV6_DIR=... board/xv6.sh)
#
# Commands: ls, echo, cat README, then forktest and stressfs when fs.img
# has them, and `usertests -q` when it has usertests (unless
# --no-usertests). The guest's disk is a copy; the checkout gets only the
# build products of `make kernel/kernel fs.img`.
set -euo pipefail

usage() { echo "usage: $0 [--qemu] [--no-usertests] [XV6_DIR]" >&2; exit 2; }

qemu=0 usertests=1 dir="${XV6_DIR:-}"
for a in "$@"; do
	case "$a" in
	--qemu) qemu=1 ;;
	--no-usertests) usertests=0 ;;
	-h | --help) usage ;;
	-*) echo "xv6.sh: unknown flag $a" >&2; usage ;;
	*) dir="$a" ;;
	esac
done
[ -n "$dir" ] || { echo "xv6.sh: no xv6-riscv checkout (argument or \$XV6_DIR)" >&2; usage; }
[ -f "$dir/Makefile" ] && [ -d "$dir/kernel" ] || { echo "xv6.sh: $dir is not an xv6-riscv checkout (no Makefile or kernel/)" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}
command -v "$go" >/dev/null || go=/usr/local/go/bin/go
toolprefix=${TOOLPREFIX:-riscv64-linux-gnu-}
cmd_timeout=${XV6_CMD_TIMEOUT:-120}       # seconds for one ordinary command
usertests_timeout=${XV6_USERTESTS_TIMEOUT:-3600}

work=$(mktemp -d)
guest_pid=
cleanup() {
	[ -n "$guest_pid" ] && kill "$guest_pid" 2>/dev/null && wait "$guest_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "xv6.sh: building $dir"
make -C "$dir" TOOLPREFIX="$toolprefix" kernel/kernel fs.img >"$work/make.log" 2>&1 ||
	{ tail -20 "$work/make.log"; echo "FAIL: xv6 build"; exit 1; }
(cd "$repo" && "$go" build -o "$work/popek" ./cmd/popek) || { echo "FAIL: popek build"; exit 1; }

has() { [ -f "$dir/user/_$1" ]; } # built, hence in fs.img
readme_line=$(head -1 "$dir/README")

# session NAME CMD...: boots the guest with CMD, sends each command after
# the shell prompt and checks its output; returns non-zero on a failure.
session() {
	local name=$1; shift
	local log="$work/$name.log" fifo="$work/$name.in"
	rm -f "$fifo"; mkfifo "$fifo"
	cp "$dir/fs.img" "$work/$name.img"
	"$@" <"$fifo" >"$log" 2>&1 &
	guest_pid=$!
	exec 3>"$fifo"
	local ok=0 start
	start=$(date +%s)
	step "$name" "$log" "" '\$ $' "$cmd_timeout" || ok=1
	[ $ok = 0 ] && { step "$name" "$log" "ls" "README" "$cmd_timeout" || ok=1; }
	[ $ok = 0 ] && { step "$name" "$log" "echo hi popek" "^hi popek" "$cmd_timeout" || ok=1; }
	[ $ok = 0 ] && { step "$name" "$log" "cat README" "$readme_line" "$cmd_timeout" || ok=1; }
	[ $ok = 0 ] && has forktest && { step "$name" "$log" "forktest" "fork test OK" "$cmd_timeout" || ok=1; }
	[ $ok = 0 ] && has stressfs && { step "$name" "$log" "stressfs" "read" "$cmd_timeout" || ok=1; }
	if [ $ok = 0 ] && [ $usertests = 1 ] && has usertests; then
		local t0; t0=$(date +%s)
		step "$name" "$log" "usertests -q" "ALL TESTS PASSED" "$usertests_timeout" || ok=1
		[ $ok = 0 ] && echo "xv6.sh: $name: usertests -q passed in $(( $(date +%s) - t0 )) s"
	fi
	exec 3>&-
	kill "$guest_pid" 2>/dev/null; wait "$guest_pid" 2>/dev/null || true
	guest_pid=
	echo "xv6.sh: $name: session $( [ $ok = 0 ] && echo passed || echo FAILED ) in $(( $(date +%s) - start )) s (log $log)"
	[ $ok = 0 ] || { tail -30 "$log" | tr -d '\r'; cp "$log" "/tmp/xv6-$name.log"; echo "xv6.sh: log kept in /tmp/xv6-$name.log"; }
	return $ok
}

# step NAME LOG CMD WANT TIMEOUT: types CMD (none for the first prompt),
# waits until WANT (an extended regexp) shows in the output after it and
# the next prompt follows.
step() {
	local name=$1 log=$2 cmd=$3 want=$4 timeout=$5 from deadline
	from=$(wc -c <"$log")
	[ -n "$cmd" ] && printf '%s\n' "$cmd" >&3
	deadline=$(( $(date +%s) + timeout ))
	while :; do
		local out; out=$(tail -c +"$((from + 1))" "$log" | tr -d '\r')
		if grep -qE "$want" <<<"$out" && grep -qE '\$ $' <<<"$out"; then
			echo "xv6.sh: $name: ${cmd:-boot} ok ($(( $(date +%s) + timeout - deadline )) s)"
			return 0
		fi
		if grep -qE 'panic:|SOME TESTS FAILED' <<<"$out"; then
			echo "xv6.sh: $name: ${cmd:-boot}: guest reported a failure"
			return 1
		fi
		kill -0 "$guest_pid" 2>/dev/null || { echo "xv6.sh: $name: ${cmd:-boot}: VM exited"; return 1; }
		[ "$(date +%s)" -lt "$deadline" ] || { echo "xv6.sh: $name: ${cmd:-boot}: no '$want' within $timeout s"; return 1; }
		sleep 0.2
	done
}

status=0
session popek "$work/popek" run --bios none --kernel "$dir/kernel/kernel" --memory 128M --smp 3 \
	--rng=false --drive "file=$work/popek.img" || status=1
if [ $qemu = 1 ]; then
	session qemu qemu-system-riscv64 -machine virt -bios none -kernel "$dir/kernel/kernel" -m 128M -smp 3 \
		-nographic -global virtio-mmio.force-legacy=false \
		-drive "file=$work/qemu.img,if=none,format=raw,id=x0" \
		-device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0 || status=1
fi
[ $status = 0 ] && echo PASS || echo FAIL
exit $status
