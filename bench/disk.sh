#!/usr/bin/env bash
# Sequential disk throughput, popek vs QEMU, same kernel and initramfs: dd
# with bs=1M writes MIB MiB (default 64) of zeros to /dev/vda and syncs,
# then (after blockdev --flushbufs drops the cached copy) reads them back.
# Each run starts from a fresh sparse raw image. Time is host wall time from
# typing the command to the next prompt (so it includes starting dd).
#   bench/disk.sh            MIB=128 RUNS=5 bench/disk.sh
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
MIB=${MIB:-64}
build_tools
DISK="$WORK/disk.img"
fresh="rm -f '$DISK' && truncate -s $((MIB + 64))M '$DISK'"
steps=(-do "wait:prompt=popek# "
	-do "send:dd if=/dev/zero of=/dev/vda bs=1M count=$MIB && sync" -do "wait:write=popek# "
	-do "send:blockdev --flushbufs /dev/vda" -do "wait:flush=popek# "
	-do "send:dd if=/dev/vda of=/dev/null bs=1M count=$MIB" -do "wait:read=popek# "
	-do "send:poweroff" -do exit)
out="$WORK/disk.out"
conditions
"$WORK/expecttime" -label popek -runs "$RUNS" -before "$fresh" -log "$WORK/popek.log" "${steps[@]}" -- \
	"$WORK/popek" run --kernel "$WORK/Image" --initrd "$REPO/images/initramfs.cpio.gz" --append "$CMDLINE" \
	--drive "file=$DISK" | tee -a "$out"
if have_qemu; then
	"$WORK/expecttime" -label qemu -runs "$RUNS" -before "$fresh" -log "$WORK/qemu.log" "${steps[@]}" -- \
		qemu-system-riscv64 -M virt -nographic -bios default -m 256M -smp 1 \
		-kernel "$WORK/Image" -initrd "$REPO/images/initramfs.cpio.gz" -append "$CMDLINE" \
		-drive "file=$DISK,if=none,id=d0,format=raw" -device virtio-blk-device,drive=d0 | tee -a "$out"
fi
echo
echo "dd bs=1M, $MIB MiB, median of $RUNS"
printf '%-22s %10s %10s %12s\n' "" popek qemu popek/qemu
for lap in write read; do
	p=$(mbps "$MIB" "$(median "$out" popek "$lap" 5)") q=$(mbps "$MIB" "$(median "$out" qemu "$lap" 5)")
	printf '%-22s %7s MB/s %7s MB/s %10s\n' "sequential $lap" "$p" "$q" "$(ratio "$p" "$q")"
done
