/* Litmus tests of the A extension and FENCE, M-mode, params.harts harts
   at once. params.test picks one:

     0 amoadd.w    each hart adds 1, iters times
     1 amoadd.d    each hart adds 0x100000001 (carries across bit 32)
     2 lr/sc.w     retry loop adding 1
     3 lr/sc.d     retry loop adding 0x100000001
     4 spinlock    amoswap.w.aq lock, plain ld/add/sd, amoswap.w.rl unlock
     5 mp          message passing, one round per value: hart 0 writes
                   data then (fence) flag; the others read flag then
                   (fence) data, which is never older, and acknowledge
     6 sb          store buffering (harts 0 and 1 only; the others park):
                   each stores its own flag,
                   fence rw,rw, load the other's; both loads reading 0 is
                   forbidden

   Hart 0 checks the outcome and exits through the SiFive test device
   (0x5555 pass, code<<16|0x3333 fail); results holds the raw numbers for
   the host to check on its own. */
#include "common.h"

struct params {
	uint64_t harts, iters, test;
} params = {4, 1000, 0};

volatile struct results {
	uint64_t counter;              /* tests 0-4: the shared counter */
	uint64_t violations;           /* 4: lock not exclusive; 5: stale data; 6: both loads 0 */
	uint64_t observed[MAX_HARTS];  /* 5: rounds a reader completed; 6: rounds where hart i read 1 */
	uint64_t sc_failures;          /* 2, 3: failed store-conditionals (information) */
} results;

enum { FAIL_COUNT = 1, FAIL_VIOLATION, FAIL_PARAMS, FAIL_TRAP };

static struct barrier bar;
static volatile uint32_t lock;
static volatile uint64_t owner;
static volatile uint64_t mp_data, mp_flag, mp_acks;
static volatile uint64_t sb_x, sb_y, sb_r0, sb_r1;

void trap(uint64_t cause, uint64_t epc) {
	(void)cause;
	(void)epc;
	exit_test_device(FAIL_TRAP);
}

static void amoadd_w_loop(uint64_t n) {
	volatile uint32_t *p = (volatile uint32_t *)&results.counter;
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("amoadd.w zero, %1, %0" : "+A"(*p) : "r"(1) : "memory");
}

static void amoadd_d_loop(uint64_t n) {
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("amoadd.d zero, %1, %0" : "+A"(results.counter) : "r"(0x100000001UL) : "memory");
}

static void lrsc_w_loop(uint64_t n) {
	volatile uint32_t *p = (volatile uint32_t *)&results.counter;
	uint64_t fails = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v, failed;
		for (;;) {
			__asm__ volatile("lr.w %0, %2\n\taddiw %0, %0, 1\n\tsc.w %1, %0, %2"
					 : "=&r"(v), "=&r"(failed), "+A"(*p) : : "memory");
			if (!failed)
				break;
			fails++;
		}
	}
	amoadd_d(&results.sc_failures, fails);
}

static void lrsc_d_loop(uint64_t n) {
	uint64_t fails = 0, inc = 0x100000001UL;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v, failed;
		for (;;) {
			__asm__ volatile("lr.d %0, %2\n\tadd %0, %0, %3\n\tsc.d %1, %0, %2"
					 : "=&r"(v), "=&r"(failed), "+A"(results.counter) : "r"(inc) : "memory");
			if (!failed)
				break;
			fails++;
		}
	}
	amoadd_d(&results.sc_failures, fails);
}

static void spinlock_loop(uint64_t h, uint64_t n) {
	for (uint64_t i = 0; i < n; i++) {
		uint32_t old;
		do
			__asm__ volatile("amoswap.w.aq %0, %2, %1" : "=r"(old), "+A"(lock) : "r"(1) : "memory");
		while (old != 0);
		owner = h;
		uint64_t c;
		__asm__ volatile("ld %0, %1" : "=r"(c) : "m"(results.counter));
		for (volatile int d = 0; d < 3; d++)
			; /* widen the window a broken lock would let others in */
		__asm__ volatile("sd %1, %0" : "=m"(results.counter) : "r"(c + 1));
		if (owner != h)
			amoadd_d(&results.violations, 1);
		__asm__ volatile("amoswap.w.rl zero, zero, %0" : "+A"(lock) : : "memory");
	}
}

static void message_passing(uint64_t h, uint64_t n) {
	uint64_t readers = params.harts - 1;
	if (h == 0) {
		for (uint64_t r = 1; r <= n; r++) {
			while (mp_acks < readers * (r - 1))
				;
			mp_data = r;
			fence();
			mp_flag = r;
		}
		return;
	}
	uint64_t seen = 0;
	for (uint64_t r = 1; r <= n; r++) {
		uint64_t f, d;
		do {
			f = mp_flag;
			fence();
			d = mp_data;
			if (d < f)
				amoadd_d(&results.violations, 1);
		} while (f != r);
		if (d != r)
			amoadd_d(&results.violations, 1);
		seen++;
		amoadd_d(&mp_acks, 1);
	}
	results.observed[h] = seen;
}

static void store_buffering(uint64_t h, uint64_t n, uint64_t *sense) {
	for (uint64_t r = 0; r < n; r++) {
		barrier_wait(&bar, 2, sense);
		if (h == 0) {
			sb_x = 1;
			fence();
			sb_r0 = sb_y;
		} else if (h == 1) {
			sb_y = 1;
			fence();
			sb_r1 = sb_x;
		}
		barrier_wait(&bar, 2, sense);
		if (h == 0) {
			if (sb_r0 == 0 && sb_r1 == 0)
				results.violations++;
			results.observed[0] += sb_r0;
			results.observed[1] += sb_r1;
			sb_x = sb_y = 0;
		}
	}
}

int main(uint64_t h) {
	/* Store buffering needs two harts; more would only spin in barriers,
	   which is slow when harts outnumber host cores. */
	uint64_t harts = params.test == 6 ? 2 : params.harts;
	if (h >= harts)
		return 0;
	if (params.harts > MAX_HARTS || (params.harts < 2 && params.test >= 5))
		exit_test_device(FAIL_PARAMS);
	uint64_t sense = 0, n = params.iters;
	barrier_wait(&bar, harts, &sense);
	switch (params.test) {
	case 0: amoadd_w_loop(n); break;
	case 1: amoadd_d_loop(n); break;
	case 2: lrsc_w_loop(n); break;
	case 3: lrsc_d_loop(n); break;
	case 4: spinlock_loop(h, n); break;
	case 5: message_passing(h, n); break;
	case 6: store_buffering(h, n, &sense); break;
	default: exit_test_device(FAIL_PARAMS);
	}
	barrier_wait(&bar, harts, &sense);
	if (h != 0)
		return 0;

	uint64_t total = harts * n, want = 0;
	switch (params.test) {
	case 0: want = (uint32_t)total; break;
	case 1: case 3: want = total * 0x100000001UL; break;
	case 2: want = (uint32_t)total; break;
	case 4: want = total; break;
	}
	if (params.test <= 4 && results.counter != want)
		exit_test_device(FAIL_COUNT);
	if (results.violations != 0)
		exit_test_device(FAIL_VIOLATION);
	exit_test_device(0);
}
