/* CLINT timers and IPIs on every hart, M-mode. Each hart takes
   params.ticks timer interrupts from its own mtimecmp, re-arming it in the
   handler, while an IPI token goes round the ring of harts params.laps
   times: a hart that takes a machine software interrupt clears its msip
   and sets the next hart's. Harts sleep in WFI between interrupts. Hart 0
   waits for everyone, checks the counts and exits through HTIF tohost
   (code 0 = pass); the host also reads the counts from results. */
#include "common.h"

struct params {
	uint64_t harts, laps, ticks, period;
} params = {3, 100, 20, 1000};

volatile struct results {
	uint64_t timer[MAX_HARTS];   /* timer interrupts taken */
	uint64_t ipi[MAX_HARTS];     /* software interrupts taken */
	uint64_t done[MAX_HARTS];    /* hart finished its share */
	uint64_t early_timer;        /* MTIP taken while mtime < mtimecmp */
	uint64_t msip_stuck;         /* mip.MSIP still set after clearing msip */
	uint64_t bad_trap;           /* exceptions or unexpected causes */
	uint64_t laps;               /* token arrivals at hart 0 */
} results;

enum { FAIL_TIMER = 1, FAIL_IPI, FAIL_EARLY, FAIL_STUCK, FAIL_TRAP, FAIL_PARAMS };

static uint64_t next_hart(uint64_t h) { return (h + 1) % params.harts; }

void trap(uint64_t cause, uint64_t epc) {
	uint64_t h = csr_read(mhartid);
	(void)epc;
	if (cause == (MCAUSE_INTERRUPT | 7)) {
		if (*MTIME < *MTIMECMP(h))
			amoadd_d(&results.early_timer, 1);
		results.timer[h]++;
		*MTIMECMP(h) = results.timer[h] < params.ticks ? *MTIME + params.period : ~0UL;
		return;
	}
	if (cause == (MCAUSE_INTERRUPT | 3)) {
		*MSIP(h) = 0;
		if (csr_read(mip) & MIP_MSIP)
			amoadd_d(&results.msip_stuck, 1);
		results.ipi[h]++;
		if (h == 0 && ++results.laps >= params.laps)
			return; /* the token stops here */
		*MSIP(next_hart(h)) = 1;
		return;
	}
	amoadd_d(&results.bad_trap, 1);
	exit_tohost(FAIL_TRAP);
}

static int finished(uint64_t h) {
	return results.timer[h] >= params.ticks && results.ipi[h] >= params.laps;
}

int main(uint64_t h) {
	if (h >= params.harts)
		return 0; /* not part of the ring: park */
	if (params.harts > MAX_HARTS || params.laps == 0)
		exit_tohost(FAIL_PARAMS);
	*MTIMECMP(h) = *MTIME + params.period;
	csr_write(mie, MIP_MSIP | MIP_MTIP);
	csr_set(mstatus, MSTATUS_MIE);
	if (h == 0)
		*MSIP(next_hart(0)) = 1;
	while (!finished(h))
		__asm__ volatile("wfi");
	fence();
	results.done[h] = 1;
	if (h != 0)
		return 0;

	/* Spin, not WFI: hart 0's own interrupts have all been taken. */
	for (uint64_t i = 0; i < params.harts; i++)
		while (!results.done[i])
			;
	csr_clear(mstatus, MSTATUS_MIE);
	fence();
	for (uint64_t i = 0; i < params.harts; i++) {
		if (results.timer[i] != params.ticks)
			exit_tohost(FAIL_TIMER);
		if (results.ipi[i] != params.laps)
			exit_tohost(FAIL_IPI);
	}
	if (results.early_timer)
		exit_tohost(FAIL_EARLY);
	if (results.msip_stuck)
		exit_tohost(FAIL_STUCK);
	exit_tohost(0);
}
