#!/usr/bin/env bash
# Interpreter speed: the riscv package's guest loop benchmarks, in guest
# MIPS (million instructions per wall second, and per CPU second).
#   bench/mips.sh            COUNT=3 bench/mips.sh
source "$(dirname "$0")/lib.sh"
conditions
(cd "$REPO" && go test -run '^$' -bench . -count "${COUNT:-1}" ./riscv/) | tee "$WORK/mips.out"
echo
printf '%-36s %10s %10s\n' benchmark MIPS MIPS/cpu
awk '/^Benchmark/ { name = $1; mips = cpu = "";
	for (i = 2; i < NF; i++) { if ($(i+1) == "MIPS") mips = $i; if ($(i+1) == "MIPS/cpu") cpu = $i }
	if (mips != "") printf "%-36s %10s %10s\n", name, mips, cpu }' "$WORK/mips.out"
