#!/usr/bin/env bash
# Parallel speedup: the stress program's pure-compute mode (WORKERS
# goroutines, each hashing MIB MiB) in the default guest with --smp 1 and
# --smp 2, timed from typing the command to its result line; medians of
# RUNS (default 3) boots each. On a 2-core host that is otherwise idle the
# ideal speedup is 2. QEMU (MTTCG) runs the same for reference.
#   bench/smp.sh             WORKERS=2 MIB=8 RUNS=5 bench/smp.sh
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-2}
MIB=${MIB:-8}
build_tools
(cd "$REPO" && go run ./bench/cmd/stressinitrd -o "$WORK/stress.cpio.gz" -workers "$WORKERS" -mib "$MIB") > "$WORK/digest"
want=$(cat "$WORK/digest")
out="$WORK/smp.out"
steps=(-do "wait:prompt=popek# " -do "send:/stress hash -workers $WORKERS -mib $MIB"
	-do "wait:hash=HASH workers" -do "wait:done=popek# "
	-do "grep:digest=digest=([0-9a-f]+)" -do "grep:guest=elapsed=([0-9.]+)s")
conditions
for smp in 1 2; do
	"$WORK/expecttime" -label "popek$smp" -runs "$RUNS" -log "$WORK/popek.log" "${steps[@]}" -- \
		"$WORK/popek" run --kernel "$WORK/Image" --initrd "$WORK/stress.cpio.gz" --append "$CMDLINE" --smp "$smp" | tee -a "$out"
	if have_qemu; then
		"$WORK/expecttime" -label "qemu$smp" -runs "$RUNS" -log "$WORK/qemu.log" "${steps[@]}" -- \
			qemu-system-riscv64 -M virt -nographic -bios default -m 256M -smp "$smp" \
			-kernel "$WORK/Image" -initrd "$WORK/stress.cpio.gz" -append "$CMDLINE" | tee -a "$out"
	fi
done
if awk -v w="$want" '$1 == "VALUE" && $4 == "digest" && $5 != w { bad = 1 } END { exit !bad }' "$out"; then
	echo "smp.sh: a guest computed a wrong digest (want $want)" >&2
	exit 1
fi
echo
echo "stress hash: $WORKERS workers x $MIB MiB, median of $RUNS; wall: host time from typing the command to"
echo "the result line (includes starting the process); guest: the program's own clock"
printf '%-8s %12s %12s %9s %12s %13s %9s\n' vmm "1 hart wall" "2 harts wall" speedup "1 hart guest" "2 harts guest" speedup
for vmm in popek qemu; do
	w1=$(median "$out" "${vmm}1" hash 5) w2=$(median "$out" "${vmm}2" hash 5)
	g1=$(median "$out" "${vmm}1" guest) g2=$(median "$out" "${vmm}2" guest)
	[ -z "$w1" ] && continue
	printf '%-8s %11ss %11ss %8sx %11ss %12ss %8sx\n' "$vmm" "$w1" "$w2" "$(ratio "$w1" "$w2")" "$g1" "$g2" "$(ratio "$g1" "$g2")"
done
