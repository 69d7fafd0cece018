#!/usr/bin/env bash
# Boot time, popek vs QEMU: the same kernel (images/linux-Image.gz) and tiny
# init (images/tinyinit.cpio.gz, prints a line and powers off), one hart,
# 256 MiB. Wall time from starting the VMM to the first user-space line and
# to its exit; medians of RUNS (default 5) runs and the ratio popek/QEMU.
#   bench/boot.sh            RUNS=9 bench/boot.sh
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
build_tools
MSG="popek-tinyinit: hello from user space"
INITRD="$REPO/images/tinyinit.cpio.gz"
out="$WORK/boot.out"
conditions
"$WORK/expecttime" -label popek -runs "$RUNS" -log "$WORK/popek.log" -do "wait:user=$MSG" -do exit -- \
	"$WORK/popek" run --kernel "$WORK/Image" --initrd "$INITRD" --append "$CMDLINE" -m 256M --smp 1 --rng=false | tee -a "$out"
if have_qemu; then
	"$WORK/expecttime" -label qemu -runs "$RUNS" -log "$WORK/qemu.log" -do "wait:user=$MSG" -do exit -- \
		qemu-system-riscv64 -M virt -nographic -bios default -m 256M -smp 1 \
		-kernel "$WORK/Image" -initrd "$INITRD" -append "$CMDLINE" | tee -a "$out"
fi
echo
printf '%-28s %10s %10s %12s\n' "boot, median of $RUNS" popek qemu popek/qemu
for lap in user exit; do
	p=$(median "$out" popek "$lap") q=$(median "$out" qemu "$lap")
	name="to first user-space line"
	[ "$lap" = exit ] && name="to exit (power-off)"
	printf '%-28s %9ss %9ss %12s\n' "$name" "${p:--}" "${q:--}" "$(ratio "$p" "$q")"
done
