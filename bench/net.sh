#!/usr/bin/env bash
# Guest<->host TCP throughput over user-mode networking, popek (--net user)
# vs QEMU (-netdev user), same kernel and initramfs. The guest sets
# 10.0.2.15/24 and, with busybox nc, uploads MIB MiB (default 32) of zeros
# to a host sink reached at 10.0.2.2 (the host's 127.0.0.1), then downloads
# as much from a host source. Upload: the sink's own timing, first to last
# byte. Download: host wall time from typing the command to the prompt.
# Then VM<->VM: two guests on one L2 segment (popek: a virtual switch, as
# the daemon's `switch:` NICs; QEMU: -netdev socket listen/connect), one
# sends MIB MiB to the other with nc (bench/cmd/vmpair), timed on the host.
#   bench/net.sh             MIB=64 RUNS=5 bench/net.sh     VMPAIR=0 skips VM<->VM
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
MIB=${MIB:-32}
build_tools
(cd "$REPO" && go build -o "$WORK/tcpsink" ./bench/cmd/tcpsink && go build -o "$WORK/vmpair" ./bench/cmd/vmpair)
out="$WORK/net.out"
conditions

# listen MODE OUT: start a tcpsink for RUNS connections; sets $port.
listen() {
	"$WORK/tcpsink" -mode "$1" -bytes $((MIB << 20)) -conns "$RUNS" > "$2" &
	for _ in $(seq 100); do
		port=$(awk '$1 == "LISTEN" { print $2 }' "$2")
		[ -n "$port" ] && return
		sleep 0.1
	done
	echo "net.sh: tcpsink did not start" >&2
	exit 1
}

# measure LABEL VMM-COMMAND...: RUNS boots of the guest against fresh sinks.
measure() {
	local label=$1
	shift
	listen sink "$WORK/$label.sink"
	local up=$port
	listen source "$WORK/$label.source"
	local down=$port
	"$WORK/expecttime" -label "$label" -runs "$RUNS" -log "$WORK/$label.log" \
		-do "wait:prompt=popek# " -do "send:ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up" -do "wait:ip=popek# " \
		-do "send:dd if=/dev/zero bs=1M count=$MIB | nc 10.0.2.2 $up" -do "wait:up=popek# " \
		-do "send:nc 10.0.2.2 $down > /dev/null" -do "wait:down=popek# " \
		-do "send:poweroff" -do exit -- "$@" | tee -a "$out"
	wait
	awk -v l="$label" '$1 == "TCP" && $2 == "sink" { sub("MBps=", "", $6); print "VALUE", l, $3, "upMBps", $6 }' "$WORK/$label.sink" | tee -a "$out"
}

measure popek "$WORK/popek" run --kernel "$WORK/Image" --initrd "$REPO/images/initramfs.cpio.gz" --append "$CMDLINE" --net user
if have_qemu; then
	measure qemu qemu-system-riscv64 -M virt -nographic -bios default -m 256M -smp 1 \
		-kernel "$WORK/Image" -initrd "$REPO/images/initramfs.cpio.gz" -append "$CMDLINE" \
		-netdev user,id=n0 -device virtio-net-device,netdev=n0
fi
up_median() { awk -v l="$1" '$1 == "VALUE" && $2 == l && $4 == "upMBps" { print $5 }' "$out" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo
echo "TCP throughput, $MIB MiB per transfer, median of $RUNS (guest<->host over user networking)"
printf '%-24s %10s %10s %12s\n' "" popek qemu popek/qemu
pu=$(up_median popek) qu=$(up_median qemu)
printf '%-24s %5s MB/s %5s MB/s %10s\n' "guest -> host (upload)" "${pu:--}" "${qu:--}" "$(ratio "$pu" "$qu")"
pd=$(mbps "$MIB" "$(median "$out" popek down 5)") qd=$(mbps "$MIB" "$(median "$out" qemu down 5)")
printf '%-24s %5s MB/s %5s MB/s %10s\n' "host -> guest (download)" "$pd" "$qd" "$(ratio "$pd" "$qd")"
if [ "${VMPAIR:-1}" != 0 ]; then
	"$WORK/vmpair" -vmm popek -mib "$MIB" -runs "$RUNS" | tee -a "$out"
	if have_qemu; then
		"$WORK/vmpair" -vmm qemu -mib "$MIB" -runs "$RUNS" -kernel "$WORK/Image" -initrd "$REPO/images/initramfs.cpio.gz" | tee -a "$out"
	fi
	pair_median() { awk -v l="$1" '$1 == "VMPAIR" && $2 == l { sub("MBps=", "", $6); print $6 }' "$out" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
	pv=$(pair_median popek) qv=$(pair_median qemu)
	printf '%-24s %5s MB/s %5s MB/s %10s\n' "VM -> VM (same host)" "${pv:--}" "${qv:--}" "$(ratio "$pv" "$qv")"
fi
