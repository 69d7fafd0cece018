# Sourced by the bench scripts: builds popek and the helpers into a scratch
# directory and provides the shared bits. Never run on its own.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
export PATH="/usr/local/go/bin:$PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/popek-bench.XXXXXX")
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$WORK"' EXIT
CMDLINE="console=ttyS0 earlycon=sbi"

# build_tools: $WORK/popek, $WORK/expecttime, $WORK/Image (raw kernel).
build_tools() {
	(cd "$REPO" && go build -o "$WORK/popek" ./cmd/popek && go build -o "$WORK/expecttime" ./bench/cmd/expecttime)
	gunzip -c "$REPO/images/linux-Image.gz" > "$WORK/Image"
}

# have_qemu: whether the QEMU comparison can run.
have_qemu() {
	if command -v qemu-system-riscv64 > /dev/null; then
		return 0
	fi
	echo "qemu-system-riscv64 not installed: popek only" >&2
	return 1
}

# conditions: the header line every script prints with its numbers.
conditions() {
	echo "# $(date -u '+%F %T UTC'), $(nproc) host cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
}

# median FILE LABEL NAME [FIELD]: a MEDIAN value from expecttime's output
# (field 4 = since start or value, 5 = since the last send).
median() {
	awk -v l="$2" -v n="$3" -v f="${4:-4}" '$1 == "MEDIAN" && $2 == l && $3 == n { print $f }' "$1"
}

# ratio A B: A/B with two decimals, "-" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# mbps MIB SECONDS: throughput in MB/s (10^6 bytes), "-" when missing.
mbps() {
	awk -v m="$1" -v s="$2" 'BEGIN { if (s == "" || s + 0 == 0) print "-"; else printf "%.1f\n", m * 1048576 / s / 1e6 }'
}
