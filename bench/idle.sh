#!/usr/bin/env bash
# Idle cost: the default guest with --smp 4 sitting at its shell prompt;
# CPU time of the VMM process over IDLE_SECONDS (default 10) as a percentage of
# one host core, median of RUNS (default 3). QEMU for reference.
#   bench/idle.sh            SMP=8 IDLE_SECONDS=30 bench/idle.sh
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
SMP=${SMP:-4}
IDLE=${IDLE_SECONDS:-10}
build_tools
steps=(-do "wait:prompt=popek# " -do "idle:cpu=${IDLE}s" -do "send:poweroff" -do exit)
out="$WORK/idle.out"
conditions
"$WORK/expecttime" -label popek -runs "$RUNS" "${steps[@]}" -- \
	"$WORK/popek" run --kernel "$WORK/Image" --initrd "$REPO/images/initramfs.cpio.gz" --append "$CMDLINE" --smp "$SMP" | tee -a "$out"
if have_qemu; then
	"$WORK/expecttime" -label qemu -runs "$RUNS" "${steps[@]}" -- \
		qemu-system-riscv64 -M virt -nographic -bios default -m 256M -smp "$SMP" \
		-kernel "$WORK/Image" -initrd "$REPO/images/initramfs.cpio.gz" -append "$CMDLINE" | tee -a "$out"
fi
echo
echo "idle at the prompt, $SMP harts, ${IDLE}s, median of $RUNS: popek $(median "$out" popek cpu)%, qemu $(median "$out" qemu cpu)% of one host core"
